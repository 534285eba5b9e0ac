"""The issued certificate as the three files, and the checks it must pass (pure)."""

from __future__ import annotations

import datetime

import pytest
from charmlibs.interfaces.tls_certificates import PrivateKey
from cryptography import x509

from contrail_common.testing_tls import Intermediate, Issuer
from contrail_common.tls.certificate import CertificateProblem, bundle, identity_of_pem
from contrail_common.tls.names import certificate_request, unit_names


def _csr(key: PrivateKey, *addresses: str) -> str:
    names = unit_names(addresses[0], *addresses[1:], hostnames=["node1.maas", "node1"])
    return str(certificate_request(names).generate_csr(key))


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


def _certificates(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode())


def test_self_signed_provider_order_gives_leaf_alone_and_the_ca(key, issuer):
    """GIVEN self-signed-certificates' chain, CA first
    WHEN the files are worked out
    THEN the certificate file holds the unit certificate only and the CA file the CA."""
    csr = _csr(key, "10.0.0.10")
    entry = issuer.entry(csr)
    files = bundle(entry["certificate"], entry["ca"], entry["chain"], str(key))
    assert _certificates(files.certificate) == _certificates(entry["certificate"])
    assert _certificates(files.ca) == _certificates(issuer.ca_pem)
    assert files.ca_identity == identity_of_pem(issuer.ca_pem)
    assert "'CN=Contrail test CA'" not in repr(files) and str(key) not in repr(files)


def test_an_intermediate_is_presented_and_trusted_signing_ca_first(key):
    """GIVEN vault's leaf-first chain under an upstream root
    THEN the unit presents leaf + intermediate, and the CA file starts with the intermediate
    (Cassandra and Kafka trust only the first certificate of it), then the root."""
    pki = Intermediate()
    entry = pki.entry(_csr(key, "10.0.0.10"))
    files = bundle(entry["certificate"], entry["ca"], entry["chain"], str(key))
    presented = _certificates(files.certificate)
    assert [c.subject.rfc4514_string() for c in presented[1:]] == ["CN=Test intermediate CA"]
    assert [c.subject.rfc4514_string() for c in _certificates(files.ca)] == [
        "CN=Test intermediate CA",
        "CN=Test root CA",
    ]
    assert files.ca_identity.subject == "CN=Test intermediate CA"


def test_a_certificate_from_another_ca_than_sent_is_refused(key, issuer):
    other = Issuer("Other CA")
    csr = _csr(key, "10.0.0.10")
    with pytest.raises(CertificateProblem, match="not signed by the CA the provider sent"):
        bundle(other.sign(csr), issuer.ca_pem, [], str(key))


def test_server_only_certificates_are_refused_naming_why(key, issuer):
    csr = _csr(key, "10.0.0.10")
    with pytest.raises(CertificateProblem) as raised:
        bundle(issuer.server_only(csr), issuer.ca_pem, [], str(key))
    assert "allows server authentication only" in str(raised.value)
    assert "both server and client" in str(raised.value)


def test_expired_certificates_are_refused(key, issuer):
    csr = _csr(key, "10.0.0.10")
    certificate = issuer.sign(csr, validity=datetime.timedelta(days=1))
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
    with pytest.raises(CertificateProblem, match="expired"):
        bundle(certificate, issuer.ca_pem, [], str(key), now=later)


def test_ca_identity_compares_by_fingerprint_only(issuer):
    ca = identity_of_pem(issuer.ca_pem)
    assert ca.subject.startswith("x500UniqueIdentifier=") and ca.subject.endswith(
        ",CN=Contrail test CA"
    )
    assert len(ca.fingerprint) == 64
    assert ca == type(ca)(ca.fingerprint, "")
    assert ca != identity_of_pem(Issuer().ca_pem)


def test_public_hash_changes_with_the_certificate_only(key, issuer):
    csr = _csr(key, "10.0.0.10")
    first = bundle(issuer.sign(csr), issuer.ca_pem, [], str(key))
    again = bundle(first.certificate, issuer.ca_pem, [], str(key))
    renewed = bundle(issuer.sign(csr), issuer.ca_pem, [], str(key))
    assert first.public_hash == again.public_hash
    assert renewed.public_hash != first.public_hash


def test_request_carries_every_name_once():
    names = unit_names(
        "10.0.0.10",
        "192.168.1.10",
        "10.0.0.10",
        vip="10.0.0.100",
        hostnames=["Node1.maas.", "node1"],
    )
    assert names.addresses == ("10.0.0.10", "192.168.1.10", "10.0.0.100", "127.0.0.1")
    assert names.hostnames == ("node1.maas",), "the short name is in no domain vault allows"
    request = certificate_request(names)
    assert request.common_name == "node1.maas"
    assert request.sans_ip == {"10.0.0.10", "192.168.1.10", "10.0.0.100", "127.0.0.1"}
    assert request.sans_dns == {"node1.maas"}


def test_a_machine_without_a_domain_keeps_its_short_name():
    names = unit_names("10.0.0.10", hostnames=["node1", "node1"])
    assert names.hostnames == ("node1",) and names.common_name == "node1"


def test_a_host_name_too_long_for_the_subject_leaves_the_sans_alone():
    long = "n" * 70
    names = unit_names("10.0.0.10", hostnames=[long])
    assert names.common_name is None
    assert certificate_request(names).sans_dns == {long}


def test_the_machine_names_never_include_localhost(monkeypatch):
    import socket

    from contrail_common.tls.names import local_hostnames

    monkeypatch.setattr(socket, "getfqdn", lambda: "localhost")
    monkeypatch.setattr(socket, "gethostname", lambda: "vm")
    assert local_hostnames() == ("vm",)
    monkeypatch.setattr(socket, "getfqdn", lambda: "node1.maas")
    monkeypatch.setattr(socket, "gethostname", lambda: "node1")
    assert local_hostnames() == ("node1.maas", "node1")
