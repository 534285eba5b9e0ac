"""A `tls-certificates` provider for tests and the rehearsal, on the TLS library's helpers.

`Issuer` is a CA made with the library's provider-side helpers (`PrivateKey.generate`,
`Certificate.generate_self_signed_ca`, `Certificate.generate`), which is what the
self-signed-certificates charm runs; `provider_data` is the provider's application databag of
interface v1 (`certificates`, `request_errors`) for the CSRs a unit wrote. The last part drives
a charm's `certificates` relation in its ops.testing suite (`certify`, `answered`, `csrs`) and
builds the TLS fields other applications publish (`report`, `switch_on`).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    PrivateKey,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from ops import testing

from .tls.certificate import identity_of_pem

VALIDITY = datetime.timedelta(days=90)

# What a charm without a certificates relation publishes, as `testing.app_data`/`unit_data`
# decode it: its leader's report of the application, and each unit's CA.
REPORT_OFF = {"tls-state": "off", "tls-ca-fingerprint": None, "tls-ca-subject": None}
NO_CA = {"tls-ca-fingerprint": None, "tls-ca-subject": None}


class Entry(TypedDict):
    """One entry of the provider's `certificates` list."""

    certificate_signing_request: str
    certificate: str
    ca: str
    chain: list[str]


class Issuer:
    """A self-signed CA that signs CSRs as self-signed-certificates does."""

    def __init__(self, name: str = "Contrail test CA") -> None:
        self.key = PrivateKey.generate()
        attributes = CertificateRequestAttributes(common_name=name, is_ca=True)
        self.ca = Certificate.generate_self_signed_ca(
            attributes, self.key, datetime.timedelta(days=365)
        )

    @property
    def ca_pem(self) -> str:
        return str(self.ca)

    def sign(self, csr: str, validity: datetime.timedelta = VALIDITY) -> str:
        request = CertificateSigningRequest.from_string(csr)
        return str(Certificate.generate(request, self.ca, self.key, validity))

    def entry(self, csr: str, certificate: str | None = None) -> Entry:
        """One `certificates` entry, with the chain in the order self-signed-certificates uses
        (the CA first)."""
        certificate = certificate or self.sign(csr)
        return {
            "certificate_signing_request": csr,
            "certificate": certificate,
            "ca": self.ca_pem,
            "chain": [self.ca_pem, certificate],
        }

    def server_only(self, csr: str) -> str:
        """A certificate for server authentication only, as a misconfigured issuer gives."""
        return self._custom(csr, [ExtendedKeyUsageOID.SERVER_AUTH])

    def _custom(self, csr: str, usages: list[x509.ObjectIdentifier]) -> str:
        request = x509.load_pem_x509_csr(csr.encode())
        ca = x509.load_pem_x509_certificate(self.ca_pem.encode())
        key = serialization.load_pem_private_key(str(self.key).encode(), password=None)
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(request.subject)
            .issuer_name(ca.subject)
            .public_key(request.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        )
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()  # type: ignore[arg-type]


class Intermediate:
    """A root and an intermediate CA that signs, as vault's PKI under an upstream CA does.

    Built with `cryptography` directly: the library's `Certificate.generate` names the signing
    CA's issuer as the certificate's issuer, which is right for a root only.
    """

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        now = datetime.datetime.now(datetime.timezone.utc)
        self.root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test root CA")])
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test intermediate CA")])
        self.root = _ca_builder(root_name, root_name, self.root_key.public_key(), now).sign(
            self.root_key, hashes.SHA256()
        )
        self.ca = _ca_builder(name, root_name, self.key.public_key(), now).sign(
            self.root_key, hashes.SHA256()
        )

    def pem(self, certificate: x509.Certificate) -> str:
        return certificate.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, csr: str) -> str:
        request = x509.load_pem_x509_csr(csr.encode())
        now = datetime.datetime.now(datetime.timezone.utc)
        san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        leaf = (
            x509.CertificateBuilder()
            .subject_name(request.subject)
            .issuer_name(self.ca.subject)
            .public_key(request.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + VALIDITY)
            .add_extension(san, critical=False)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        return self.pem(leaf)

    def entry(self, csr: str) -> Entry:
        """Leaf first, then the intermediate and the root, as vault sends it."""
        certificate = self.sign(csr)
        return {
            "certificate_signing_request": csr,
            "certificate": certificate,
            "ca": self.pem(self.ca),
            "chain": [certificate, self.pem(self.ca), self.pem(self.root)],
        }


def _ca_builder(subject: x509.Name, issuer: x509.Name, public_key, now) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def requested(unit_databag: Mapping[str, str]) -> list[str]:
    """The CSRs a requiring unit wrote into its databag."""
    raw = unit_databag.get("certificate_signing_requests")
    return [entry["certificate_signing_request"] for entry in json.loads(raw)] if raw else []


def provider_data(
    entries: Iterable[Entry], errors: Sequence[Mapping[str, object]] = ()
) -> dict[str, str]:
    """The provider's application databag (interface v1)."""
    data = {"certificates": json.dumps(list(entries))}
    if errors:
        data["request_errors"] = json.dumps(list(errors))
    return data


def denial(csr: str, message: str = "IP addresses are not allowed") -> dict[str, object]:
    """A `request_errors` entry, as a provider that refuses a CSR writes it."""
    return {
        "csr": csr,
        "error": {"code": 101, "name": "IP_NOT_ALLOWED", "message": message},
    }


# -- ops.testing: the certificates relation of a charm under test ---------------------------


def certificates(provider: str = "self-signed-certificates", **kwargs: Any) -> testing.Relation:
    """The unit's `certificates` relation with a v1 provider that has answered nothing yet."""
    return testing.Relation("certificates", remote_app_name=provider, **kwargs)


def relation_on(state: testing.State, endpoint: str) -> testing.RelationBase:
    (found,) = [r for r in state.relations if r.endpoint == endpoint]
    return found


def with_relation(state: testing.State, changed: testing.RelationBase) -> testing.State:
    """`state` with `changed` in place of the relation of the same id."""
    others = [r for r in state.relations if r.id != changed.id]
    return dataclasses.replace(state, relations=[*others, changed])


def csrs(state: testing.State) -> list[str]:
    """The CSRs the unit wrote on its certificates relation."""
    return requested(relation_on(state, "certificates").local_unit_data)


def answered(
    state: testing.State, entries: Iterable[Entry], errors: Sequence[Mapping[str, object]] = ()
) -> testing.State:
    """`state` with the provider's databag answering as given."""
    relation = relation_on(state, "certificates")
    data = provider_data(entries, errors)
    return with_relation(state, dataclasses.replace(relation, remote_app_data=data))


def certify(ctx: testing.Context, state: testing.State, issuer: Issuer) -> testing.State:
    """Run relation-created on the certificates relation, sign every CSR the unit wrote with
    `issuer`, and run relation-changed with the answer: the unit now holds its certificate."""
    state = ctx.run(ctx.on.relation_created(relation_on(state, "certificates")), state)
    state = answered(state, [issuer.entry(csr) for csr in csrs(state)])
    return ctx.run(ctx.on.relation_changed(relation_on(state, "certificates")), state)


def report(state: str, ca_pem: str | None = None) -> dict[str, str]:
    """An application leader's TLS report as a databag (encoded), e.g. for remote app data."""
    identity = identity_of_pem(ca_pem) if ca_pem else None
    return {
        "tls-state": json.dumps(state),
        "tls-ca-fingerprint": json.dumps(identity.fingerprint if identity else None),
        "tls-ca-subject": json.dumps(identity.subject if identity else None),
    }


def switch_on(ca_pem: str) -> dict[str, str]:
    """The controller's published switch, on with this CA, as a databag (encoded)."""
    identity = identity_of_pem(ca_pem)
    return {
        "ssl-enabled": "true",
        "ca-fingerprint": json.dumps(identity.fingerprint),
        "ca-subject": json.dumps(identity.subject),
    }
