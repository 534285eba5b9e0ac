"""A `tls-certificates` provider for tests and the rehearsal, on the TLS library's helpers.

`Issuer` is a CA made with the library's provider-side helpers (`PrivateKey.generate`,
`Certificate.generate_self_signed_ca`, `Certificate.generate`), which is what the
self-signed-certificates charm runs; `provider_data` is the provider's application databag of
interface v1 (`certificates`, `request_errors`) for the CSRs a unit wrote.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict

from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    PrivateKey,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=90)


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
