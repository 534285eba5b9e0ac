"""The self-signed-certificates stand-in answers CSRs the way the v1 provider does."""

from __future__ import annotations

import json

from charmlibs.interfaces import tls_certificates as tls
from cryptography import x509
from issuer import SelfSignedIssuer


def requirer_bag(*common_names: str) -> dict[str, str]:
    key = tls.PrivateKey.generate()
    requests = [
        {
            "certificate_signing_request": str(
                tls.CertificateSigningRequest.generate(
                    tls.CertificateRequestAttributes(
                        common_name=name, sans_ip=frozenset({"10.0.0.1"})
                    ),
                    key,
                )
            ),
            "ca": False,
        }
        for name in common_names
    ]
    return {"certificate_signing_requests": json.dumps(requests)}


def test_every_csr_gets_one_certificate_from_the_issuers_ca_and_keeps_it():
    issuer = SelfSignedIssuer("Contrail CA")
    one, two = requirer_bag("unit-0"), requirer_bag("unit-1")
    first = json.loads(issuer.answer([one, two])["certificates"])
    assert len(first) == 2
    ca = x509.load_pem_x509_certificate(issuer.issuer.ca_pem.encode())
    for entry in first:
        assert entry["ca"] == issuer.issuer.ca_pem
        x509.load_pem_x509_certificate(entry["certificate"].encode()).verify_directly_issued_by(ca)
    assert json.loads(issuer.answer([one, two])["certificates"]) == first, "no re-signing"
    assert json.loads(issuer.answer([two])["certificates"]) == first[1:], "a withdrawn CSR goes"
    assert json.loads(issuer.answer([{}])["certificates"]) == []
