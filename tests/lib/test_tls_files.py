"""The certificate files on a scratch host tree, proven with real `openssl verify` and a real
mutual TLS handshake on loopback (Python's ssl)."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import stat
import subprocess
import threading

import pytest
from charmlibs.interfaces.tls_certificates import PrivateKey

from contrail_common.hostpaths import HostRoot
from contrail_common.testing_tls import Intermediate, Issuer
from contrail_common.tls import files
from contrail_common.tls.certificate import CertificateBundle, bundle
from contrail_common.tls.names import certificate_request, unit_names

GROUP = os.getgid()  # tests may run unprivileged; the charm uses the images' group 1999


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


def _unit_files(issuer, address: str, hostname: str) -> CertificateBundle:
    key = PrivateKey.generate()
    names = unit_names(address, hostnames=[f"{hostname}.maas", hostname])
    csr = str(certificate_request(names).generate_csr(key))
    entry = issuer.entry(csr)
    return bundle(entry["certificate"], entry["ca"], entry["chain"], str(key))


@pytest.fixture
def host(tmp_path) -> HostRoot:
    return HostRoot(tmp_path)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_land_where_the_images_look_with_the_key_not_world_readable(host, issuer):
    written = _unit_files(issuer, "10.0.0.10", "node1")
    assert files.write_bundle(host, "contrail-controller-0", written, GROUP)
    base = host.path("/etc/contrail/ssl/contrail-controller-0")
    assert (base / "certs/server.pem").read_text() == written.certificate
    assert (base / "certs/ca-cert.pem").read_text() == written.ca
    key = base / "private/server-privkey.pem"
    assert _mode(key) == 0o640 and key.stat().st_gid == GROUP
    assert _mode(base / "private") == 0o750
    assert _mode(base / "certs/server.pem") == 0o644
    assert files.read_bundle(host, "contrail-controller-0") == written
    assert not [p for p in base.rglob(".*")], "no temporary file is left behind"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give the key to group 1999")
def test_as_root_the_key_belongs_to_the_images_contrail_group(host, issuer):
    files.write_bundle(host, "m", _unit_files(issuer, "10.0.0.10", "node1"))
    key = host.path("/etc/contrail/ssl/m/private/server-privkey.pem")
    assert (key.stat().st_uid, key.stat().st_gid) == (0, files.CONTAINER_GROUP)


def test_unchanged_content_is_not_rewritten_and_a_renewal_touches_one_module(host, issuer):
    agent = _unit_files(issuer, "10.0.0.10", "node1")
    master = _unit_files(issuer, "10.0.0.10", "node1")
    files.write_bundle(host, "contrail-agent-0", agent, GROUP)
    files.write_bundle(host, "contrail-kubernetes-master-0", master, GROUP)
    master_cert = host.path("/etc/contrail/ssl/contrail-kubernetes-master-0/certs/server.pem")
    before = master_cert.stat().st_ino
    assert not files.write_bundle(host, "contrail-kubernetes-master-0", master, GROUP)
    assert master_cert.stat().st_ino == before

    renewed = CertificateBundle(
        certificate=_unit_files(issuer, "10.0.0.10", "node1").certificate,
        ca=agent.ca,
        key=agent.key,
    )
    assert files.write_bundle(host, "contrail-agent-0", renewed, GROUP)
    assert renewed.public_hash != agent.public_hash
    assert files.read_bundle(host, "contrail-kubernetes-master-0") == master
    assert master_cert.stat().st_ino == before


def test_a_mode_changed_behind_the_charms_back_is_restored(host, issuer):
    written = _unit_files(issuer, "10.0.0.10", "node1")
    files.write_bundle(host, "m", written, GROUP)
    key = host.path("/etc/contrail/ssl/m/private/server-privkey.pem")
    os.chmod(key, 0o644)
    assert not files.write_bundle(host, "m", written, GROUP)
    assert _mode(key) == 0o640


def test_remove_and_module_names(host, issuer):
    files.write_bundle(host, "m", _unit_files(issuer, "10.0.0.10", "node1"), GROUP)
    assert files.remove_bundle(host, "m")
    assert not files.remove_bundle(host, "m")
    assert files.read_bundle(host, "m") is None
    for bad in ("", "a/b", "..", ".hidden"):
        with pytest.raises(ValueError):
            files.module_dir(bad)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize("provider", ["self-signed", "intermediate"])
def test_openssl_verifies_the_written_certificate_against_the_written_ca(host, provider):
    key = PrivateKey.generate()
    csr = str(certificate_request(unit_names("10.0.0.10", hostnames=["node1"])).generate_csr(key))
    entry = Issuer().entry(csr) if provider == "self-signed" else Intermediate().entry(csr)
    files.write_bundle(
        host, "m", bundle(entry["certificate"], entry["ca"], entry["chain"], str(key)), GROUP
    )
    base = host.path("/etc/contrail/ssl/m")
    for purpose in ("sslserver", "sslclient"):
        result = subprocess.run(
            ["openssl", "verify", "-purpose", purpose, "-CAfile", str(base / "certs/ca-cert.pem"),
             "-untrusted", str(base / "certs/server.pem"), str(base / "certs/server.pem")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr + result.stdout
    matches = subprocess.run(
        ["openssl", "x509", "-noout", "-pubkey", "-in", str(base / "certs/server.pem")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    from_key = subprocess.run(
        ["openssl", "pkey", "-pubout", "-in", str(base / "private/server-privkey.pem")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert matches == from_key


def _context(side: int, base) -> ssl.SSLContext:
    context = ssl.SSLContext(side)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(base / "certs/server.pem", base / "private/server-privkey.pem")
    context.load_verify_locations(base / "certs/ca-cert.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def test_unit_certificates_complete_a_mutual_handshake_as_server_and_as_client(host, issuer):
    """GIVEN two units' files from one CA (a control node and a vRouter agent)
    WHEN one serves on loopback requiring a client certificate and the other connects
    THEN both verify each other, the server by its 127.0.0.1 name."""
    files.write_bundle(host, "server", _unit_files(issuer, "10.0.0.10", "control1"), GROUP)
    files.write_bundle(host, "client", _unit_files(issuer, "10.0.0.20", "compute1"), GROUP)
    server_context = _context(ssl.PROTOCOL_TLS_SERVER, host.path("/etc/contrail/ssl/server"))
    client_context = _context(ssl.PROTOCOL_TLS_CLIENT, host.path("/etc/contrail/ssl/client"))
    seen: dict[str, object] = {}

    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            connection, _ = listener.accept()
            with server_context.wrap_socket(connection, server_side=True) as tls:
                seen["client"] = tls.getpeercert()
                tls.sendall(tls.recv(5))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with client_context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                seen["server"] = tls.getpeercert()
                tls.sendall(b"hello")
                assert tls.recv(5) == b"hello"
        thread.join(10)

    def common_name(peer) -> str:
        return dict(item[0] for item in peer["subject"])["commonName"]

    assert common_name(seen["server"]) == "control1.maas"
    assert common_name(seen["client"]) == "compute1.maas"


def test_a_certificate_from_another_ca_fails_the_handshake(host, issuer):
    files.write_bundle(host, "server", _unit_files(issuer, "10.0.0.10", "control1"), GROUP)
    files.write_bundle(host, "stranger", _unit_files(Issuer("Other CA"), "10.0.0.30", "x"), GROUP)
    server_context = _context(ssl.PROTOCOL_TLS_SERVER, host.path("/etc/contrail/ssl/server"))
    client_context = _context(ssl.PROTOCOL_TLS_CLIENT, host.path("/etc/contrail/ssl/stranger"))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            connection, _ = listener.accept()
            try:
                with server_context.wrap_socket(connection, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with pytest.raises(ssl.SSLCertVerificationError):
                client_context.wrap_socket(raw, server_hostname="127.0.0.1")
        thread.join(10)
