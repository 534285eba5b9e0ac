"""What a provider issued, as the three files Contrail reads, with the checks it must pass.

Pure: PEM text in, PEM text and findings out (no ops, no files). The provider sends the unit's
certificate, the CA that signed it and a chain whose order varies by provider (leaf first from
some, CA first from self-signed-certificates), so the path is worked out from the signatures.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The TLS library adds a unique identifier to every subject it builds; name it for people.
_OID_NAMES = {NameOID.X500_UNIQUE_IDENTIFIER: "x500UniqueIdentifier"}


@dataclass(frozen=True)
class CaIdentity:
    """A CA as the deployment compares it: by fingerprint; the subject is for people."""

    fingerprint: str
    subject: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        """How status messages name it: the quoted subject, else the start of the fingerprint."""
        return f"'{self.subject}'" if self.subject else self.fingerprint[:16]


@dataclass(frozen=True)
class CertificateBundle:
    """The contents of a unit's three files.

    `certificate` is the unit's certificate followed by the intermediates up to (not including)
    the root, which is what a server or client presents; `ca` is the CA that signed it followed
    by its own issuers, what peers trust. Cassandra and Kafka import only the first certificate
    of `ca` into their truststore, so the signing CA comes first.
    """

    certificate: str
    ca: str
    key: str = field(repr=False)

    @property
    def ca_identity(self) -> CaIdentity:
        return identity(_load_all(self.ca)[0])

    @property
    def public_hash(self) -> str:
        """A digest of the certificate and CA files: a new certificate changes it, and a new
        key always comes with a new certificate. The key itself is kept out of it, because the
        hash ends up in container labels anyone on the host can list."""
        digest = hashlib.sha256()
        for part in (self.certificate, self.ca):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()[:32]


class CertificateProblem(ValueError):
    """The issued certificate cannot serve here; `str()` says why, for a status message."""


def identity(certificate: x509.Certificate) -> CaIdentity:
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
    subject = certificate.subject.rfc4514_string(_OID_NAMES)
    return CaIdentity(fingerprint=fingerprint, subject=subject)


def identity_of_pem(pem: str) -> CaIdentity:
    return identity(_load_all(pem)[0])


def ca_certs(pem: str) -> list[str]:
    """The certificates of a PEM file as one-line values: the base64 DER of each, in order."""
    return [
        base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
        for c in _load_all(pem)
    ]


def ca_pem(values: Sequence[str]) -> str:
    """The PEM file `ca_certs` was made from."""
    return "".join(
        _pem(x509.load_der_x509_certificate(base64.b64decode(v, validate=True))) for v in values
    )


def bundle(
    certificate: str,
    ca: str,
    chain: Sequence[str],
    key: str,
    now: Optional[datetime.datetime] = None,
) -> CertificateBundle:
    """The files for an issued certificate, or CertificateProblem when it cannot serve."""
    leaf = x509.load_pem_x509_certificate(certificate.encode())
    issuing = x509.load_pem_x509_certificate(ca.encode())
    pool = [issuing, *(x509.load_pem_x509_certificate(c.encode()) for c in chain)]
    pool = [c for c in _unique(pool) if c != leaf]
    check_usage(leaf, now)
    path = _issuers(leaf, pool)
    if not path or path[0] != issuing:
        sent = issuing.subject.rfc4514_string(_OID_NAMES)
        raise CertificateProblem(
            f"the certificate is not signed by the CA the provider sent ({sent})"
        )
    intermediates = [c for c in path if not _self_signed(c)]
    return CertificateBundle(
        certificate=_pem(leaf, *intermediates), ca=_pem(*path), key=key.strip() + "\n"
    )


def check_usage(certificate: x509.Certificate, now: Optional[datetime.datetime] = None) -> None:
    """Raise CertificateProblem unless the certificate works as both server and client.

    Contrail presents the one unit certificate as a server (APIs, XMPP, RabbitMQ, Cassandra,
    Kafka) and as a client (sandesh, the agent's XMPP, kombu, Cassandra internode with
    require_client_auth): an extended key usage, when present, must allow both.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if certificate.not_valid_after_utc <= now:
        raise CertificateProblem(
            f"the certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}"
        )
    if _extension(certificate, x509.BasicConstraints) is not None and _is_ca(certificate):
        raise CertificateProblem("a CA certificate was issued instead of a unit certificate")
    usages = _extension(certificate, x509.ExtendedKeyUsage)
    if usages is not None and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages:
        allowed = {
            "server": ExtendedKeyUsageOID.SERVER_AUTH in usages,
            "client": ExtendedKeyUsageOID.CLIENT_AUTH in usages,
        }
        if not all(allowed.values()):
            granted = (
                " and ".join(k for k, v in allowed.items() if v) or "neither server nor client"
            )
            raise CertificateProblem(
                f"the certificate allows {granted} authentication only, and Contrail presents it "
                "as both server and client (XMPP, sandesh, RabbitMQ, Cassandra): have the "
                "provider issue certificates for both (vault: a role with server_flag and "
                "client_flag)"
            )
    key_usage = _extension(certificate, x509.KeyUsage)
    if key_usage is not None and not key_usage.digital_signature:
        raise CertificateProblem("the certificate's key usage lacks digitalSignature")
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
        raise CertificateProblem(
            "the certificate's key is not RSA (Cassandra's ciphers are RSA-only)"
        )


def _issuers(leaf: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates that sign `leaf`, its signer's signer and so on, nearest first."""
    path: list[x509.Certificate] = []
    current = leaf
    while True:
        issuer = next((c for c in pool if c not in path and _signed_by(current, c)), None)
        if issuer is None:
            return path
        path.append(issuer)
        if _self_signed(issuer):
            return path
        current = issuer


def _signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    if certificate.issuer != issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _self_signed(certificate: x509.Certificate) -> bool:
    return _signed_by(certificate, certificate)


def _is_ca(certificate: x509.Certificate) -> bool:
    constraints = _extension(certificate, x509.BasicConstraints)
    return bool(constraints is not None and constraints.ca)


def _extension(certificate: x509.Certificate, kind):
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _unique(certificates: list[x509.Certificate]) -> list[x509.Certificate]:
    seen: list[x509.Certificate] = []
    for certificate in certificates:
        if certificate not in seen:
            seen.append(certificate)
    return seen


def _load_all(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode())


def _pem(*certificates: x509.Certificate) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates)
