"""The TLS component through ops.testing: the real charmlibs requirer on a probe charm, against
a provider databag built with the library's own provider-side helpers (`contrail_common.testing_tls`)."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from ops import testing

from contrail_common.testing_tls import (
    Issuer,
    answered,
    certificates,
    certify,
    csrs,
    denial,
    relation_on,
    with_relation,
)

sys.path.insert(0, str(Path(__file__).parent / "tls_probe" / "src"))

from tls_probe_charm import TlsProbeCharm, deployed_path

from contrail_common.hostpaths import HostRoot
from contrail_common.testing import encode
from contrail_common.tls import files
from contrail_common.tls.certificate import identity_of_pem
from contrail_common.tls.env import HASH_LABEL
from contrail_common.tls.switch import OFF, Switch

PROVIDER = "self-signed-certificates"
MODULE = "tls-probe-0"


@pytest.fixture
def host(tmp_path, monkeypatch) -> HostRoot:
    root = HostRoot(tmp_path)
    monkeypatch.setattr(TlsProbeCharm, "host", root)
    return root


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(TlsProbeCharm)


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


def controller(switch: Switch = OFF) -> testing.Relation:
    return testing.Relation(
        "controller",
        remote_app_name="contrail-controller",
        remote_app_data=encode(**switch.fields()),
    )


def base_state(*relations: testing.Relation, **fields) -> testing.State:
    return testing.State(
        leader=True, relations=[testing.PeerRelation("probe-cluster"), *relations], **fields
    )


def reported(state: testing.State) -> dict:
    data = relation_on(state, "controller").local_app_data
    return {k: json.loads(v) for k, v in data.items()}


def deployed(host: HostRoot, module: str = MODULE) -> dict:
    return json.loads(deployed_path(host, module).read_text())


def certified(ctx, issuer, *relations, switch: Switch = OFF, **fields) -> testing.State:
    """The unit related to the provider, its CSR written and answered."""
    return certify(
        ctx, base_state(certificates(), controller(switch), *relations, **fields), issuer
    )


def test_no_provider_no_request_no_files_and_the_application_reports_off(ctx, host):
    out = ctx.run(ctx.on.install(), base_state(controller()))
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert not host.path("/etc/contrail/ssl").exists()
    assert reported(out) == {
        "tls-state": "off",
        "tls-ca-fingerprint": None,
        "tls-ca-subject": None,
    }
    assert "SSL_ENABLE" not in deployed(host)["config-api"]["env"]


def test_relating_sends_one_csr_with_every_name_and_no_key(ctx, host):
    state = base_state(
        certificates(), controller(), config={"data-address": "192.168.1.10", "vip": "10.0.0.100"}
    )
    out = ctx.run(ctx.on.relation_created(relation_on(state, "certificates")), state)
    (csr,) = csrs(out)
    from charmlibs.interfaces.tls_certificates import CertificateSigningRequest

    request = CertificateSigningRequest.from_string(csr)
    assert request.sans_ip == {"10.0.0.10", "192.168.1.10", "10.0.0.100", "127.0.0.1"}
    assert request.sans_dns == {"node1.maas"} and request.common_name == "node1.maas"
    unit_bag = json.dumps(dict(relation_on(out, "certificates").local_unit_data))
    assert "PRIVATE KEY" not in unit_bag and "PRIVATE KEY" not in json.dumps(reported(out))
    assert out.unit_status == testing.ActiveStatus(
        f"Unit is ready; TLS: waiting for a certificate from {PROVIDER}"
    )
    assert reported(out)["tls-state"] == "pending"


def test_a_certificate_for_this_unit_is_written_reported_and_waits_for_the_switch(
    ctx, host, issuer
):
    """GIVEN the provider answered this unit's CSR (and another unit's, ignored)
    THEN the files are written, the unit and the application report the CA, and the
    containers stay as they were until the controller turns TLS on."""
    state = base_state(certificates(), controller())
    state = ctx.run(ctx.on.relation_created(relation_on(state, "certificates")), state)
    (csr,) = csrs(state)
    stranger = Issuer("Stranger CA")
    from charmlibs.interfaces.tls_certificates import CertificateRequestAttributes, PrivateKey

    others = CertificateRequestAttributes(common_name="other").generate_csr(PrivateKey.generate())
    state = answered(state, [stranger.entry(str(others)), issuer.entry(csr)])
    out = ctx.run(ctx.on.relation_changed(relation_on(state, "certificates")), state)

    written = files.read_bundle(host, MODULE)
    assert written is not None and written.ca_identity == identity_of_pem(issuer.ca_pem)
    key = host.path(f"/etc/contrail/ssl/{MODULE}/private/server-privkey.pem")
    assert stat.S_IMODE(key.stat().st_mode) == 0o640 and key.stat().st_gid == os.getgid()
    ca = identity_of_pem(issuer.ca_pem)
    assert reported(out) == {
        "tls-state": "ready",
        "tls-ca-fingerprint": ca.fingerprint,
        "tls-ca-subject": ca.subject,
    }
    peer = relation_on(out, "probe-cluster").local_unit_data
    assert json.loads(peer["tls-ca-fingerprint"]) == ca.fingerprint
    assert "SSL_ENABLE" not in deployed(host)["config-api"]["env"]
    assert out.unit_status == testing.ActiveStatus(
        "Unit is ready; TLS: certificate ready, off until every application has one"
    )


def test_the_switch_on_renders_tls_for_the_containers_that_speak_it(ctx, host, issuer):
    state = certified(ctx, issuer)
    written = files.read_bundle(host, MODULE)
    assert written is not None
    switch = Switch(True, identity_of_pem(issuer.ca_pem))
    state = with_relation(
        state,
        dataclasses.replace(
            relation_on(state, "controller"), remote_app_data=encode(**switch.fields())
        ),
    )
    out = ctx.run(ctx.on.relation_changed(relation_on(state, "controller")), state)
    rendered = deployed(host)
    api = rendered["config-api"]
    assert api["env"]["SSL_ENABLE"] == "true" and api["env"]["INTROSPECT_SSL_ENABLE"] == "false"
    assert api["mounts"] == [f"/etc/contrail/ssl/{MODULE}"]
    assert api["labels"][HASH_LABEL] == written.public_hash
    assert rendered["node-init"]["env"] == {
        "LOG_LEVEL": "SYS_NOTICE",
        "CONTRAIL_STATUS_IMAGE": "opensdn/contrail-status:R24.1-latest",
    }
    assert (
        rendered["redis"]["mounts"] == []
        and rendered["redis"]["env"]["REDIS_SSL_ENABLE"] == "true"
    )
    assert out.unit_status == testing.ActiveStatus("Unit is ready")


def test_renewal_same_ca_changes_the_hash_of_this_module_only(ctx, host, issuer):
    """GIVEN two units on one machine (an agent and a kubernetes-master), TLS on
    WHEN the provider renews one unit's certificate
    THEN only that unit's files and container label change."""
    switch = Switch(True, identity_of_pem(issuer.ca_pem))
    other_module = "tls-probe-b-0"
    certified(testing.Context(TlsProbeCharm, app_name="tls-probe-b"), issuer, switch=switch)
    other_files = files.read_bundle(host, other_module)
    other_deployed = deployed(host, other_module)
    state = certified(ctx, issuer, switch=switch)
    first = deployed(host)["config-api"]["labels"][HASH_LABEL]

    (csr,) = csrs(state)
    state = answered(state, [issuer.entry(csr)])  # the provider renews: same CSR, new certificate
    out = ctx.run(ctx.on.relation_changed(relation_on(state, "certificates")), state)
    assert deployed(host)["config-api"]["labels"][HASH_LABEL] != first
    assert deployed(host)["node-init"]["labels"] == {}
    assert files.read_bundle(host, other_module) == other_files
    assert deployed(host, other_module) == other_deployed
    assert out.unit_status == testing.ActiveStatus("Unit is ready")


def test_the_leader_reports_pending_until_every_unit_holds_a_certificate(ctx, host, issuer):
    peer = testing.PeerRelation("probe-cluster", peers_data={1: {}})
    state = base_state(certificates(), controller())
    state = dataclasses.replace(
        state, relations=[peer, *[r for r in state.relations if r.endpoint != "probe-cluster"]]
    )
    state = ctx.run(ctx.on.relation_created(relation_on(state, "certificates")), state)
    (csr,) = csrs(state)
    state = answered(state, [issuer.entry(csr)])
    out = ctx.run(ctx.on.relation_changed(relation_on(state, "certificates")), state)
    assert reported(out)["tls-state"] == "pending"
    ca = identity_of_pem(issuer.ca_pem)
    peer_out = relation_on(out, "probe-cluster")
    assert isinstance(peer_out, testing.PeerRelation)
    both = dataclasses.replace(
        peer_out,
        peers_data={1: encode(tls_ca_fingerprint=ca.fingerprint, tls_ca_subject=ca.subject)},
    )
    out = ctx.run(ctx.on.relation_changed(both, remote_unit=1), with_relation(out, both))
    assert reported(out)["tls-state"] == "ready"


def test_a_certificate_event_reconciles_once_per_hook(ctx, host, issuer, monkeypatch):
    state = certified(ctx, issuer)
    calls = []
    original = TlsProbeCharm.reconcile
    monkeypatch.setattr(TlsProbeCharm, "reconcile", lambda self: calls.append(1) or original(self))
    ctx.run(ctx.on.relation_changed(relation_on(state, "certificates")), state)
    assert len(calls) == 1


def test_a_new_ca_is_held_until_the_deployment_moves_to_it(ctx, host, issuer):
    """GIVEN TLS on with CA one
    WHEN the provider re-issues from CA two
    THEN the unit keeps the CA one files, reports CA two, and writes them once the controller
    publishes CA two."""
    old = identity_of_pem(issuer.ca_pem)
    state = certified(ctx, issuer, switch=Switch(True, old))
    before = files.read_bundle(host, MODULE)
    rotated = Issuer("Rotated CA")
    (csr,) = csrs(state)
    state = answered(state, [rotated.entry(csr)])
    out = ctx.run(ctx.on.relation_changed(relation_on(state, "certificates")), state)
    new = identity_of_pem(rotated.ca_pem)
    assert files.read_bundle(host, MODULE) == before
    assert reported(out)["tls-ca-fingerprint"] == new.fingerprint
    assert isinstance(out.unit_status, testing.ActiveStatus)
    assert "held until every application has one" in out.unit_status.message

    moved = with_relation(
        out,
        dataclasses.replace(
            relation_on(out, "controller"), remote_app_data=encode(**Switch(True, new).fields())
        ),
    )
    out = ctx.run(ctx.on.relation_changed(relation_on(moved, "controller")), moved)
    after = files.read_bundle(host, MODULE)
    assert after is not None and after.ca_identity == new
    assert out.unit_status == testing.ActiveStatus("Unit is ready")


def test_a_unit_on_another_ca_than_the_deployment_blocks_naming_both(ctx, host, issuer):
    elsewhere = Issuer("Elsewhere CA")
    state = certified(ctx, issuer, switch=Switch(True, identity_of_pem(elsewhere.ca_pem)))
    status = state.unit_status
    assert isinstance(status, testing.BlockedStatus)
    assert "this unit's certificate is from 'x500UniqueIdentifier=" in status.message
    assert "CN=Contrail test CA'" in status.message and "CN=Elsewhere CA'" in status.message


def test_a_denied_request_blocks_with_the_providers_reason(ctx, host):
    state = base_state(certificates(), controller())
    state = ctx.run(ctx.on.relation_created(relation_on(state, "certificates")), state)
    (csr,) = csrs(state)
    state = answered(state, [], [denial(csr, "IP addresses are not allowed by this CA")])
    out = ctx.run(ctx.on.relation_changed(relation_on(state, "certificates")), state)
    assert out.unit_status == testing.BlockedStatus(
        f"TLS: {PROVIDER} denied the certificate request: IP addresses are not allowed by this CA"
    )
    assert files.read_bundle(host, MODULE) is None


def test_a_server_only_certificate_blocks_and_is_never_written(ctx, host, issuer):
    state = base_state(certificates(), controller())
    state = ctx.run(ctx.on.relation_created(relation_on(state, "certificates")), state)
    (csr,) = csrs(state)
    entry = issuer.entry(csr, issuer.server_only(csr))
    out = ctx.run(
        ctx.on.relation_changed(relation_on(answered(state, [entry]), "certificates")),
        answered(state, [entry]),
    )
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert out.unit_status.message.startswith(
        f"TLS: {PROVIDER}: the certificate allows server authentication only"
    )
    assert files.read_bundle(host, MODULE) is None
    assert reported(out)["tls-state"] == "pending"


def test_a_provider_without_ip_names_blocks(ctx, host):
    state = base_state(
        certificates(remote_app_data={"capabilities": json.dumps({"supports_ip_sans": False})}),
        controller(),
    )
    out = ctx.run(ctx.on.relation_created(relation_on(state, "certificates")), state)
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert "issues no IP address names" in out.unit_status.message


def test_relation_removed_keeps_files_while_tls_is_on_then_removes_them(ctx, host, issuer):
    """TLS goes off in order: the application reports off at once, the containers keep their
    files until the controller publishes TLS off, and only then are the files removed."""
    switch = Switch(True, identity_of_pem(issuer.ca_pem))
    state = certified(ctx, issuer, switch=switch)
    out = ctx.run(ctx.on.relation_broken(relation_on(state, "certificates")), state)
    assert reported(out)["tls-state"] == "off"
    assert files.read_bundle(host, MODULE) is not None
    assert deployed(host)["config-api"]["env"]["SSL_ENABLE"] == "true"

    gone = dataclasses.replace(
        out, relations=[r for r in out.relations if r.endpoint != "certificates"]
    )
    off = with_relation(
        gone,
        dataclasses.replace(
            relation_on(gone, "controller"), remote_app_data=encode(**Switch().fields())
        ),
    )
    out = ctx.run(ctx.on.relation_changed(relation_on(off, "controller")), off)
    assert files.read_bundle(host, MODULE) is None
    assert not host.path(f"/etc/contrail/ssl/{MODULE}").exists()
    assert "SSL_ENABLE" not in deployed(host)["config-api"]["env"]
    assert out.unit_status == testing.ActiveStatus("Unit is ready")


def test_tls_on_without_a_provider_blocks_the_unit_from_deploying(ctx, host):
    switch = Switch(True, identity_of_pem(Issuer().ca_pem))
    out = ctx.run(ctx.on.install(), base_state(controller(switch)))
    assert out.unit_status == testing.BlockedStatus(
        "TLS is on for the deployment: relate tls-probe:certificates to the provider the other "
        "applications use"
    )
    assert not deployed_path(host, MODULE).exists()


def test_an_address_change_re_requests_and_keeps_the_old_files_meanwhile(ctx, host, issuer):
    state = certified(ctx, issuer, switch=Switch(True, identity_of_pem(issuer.ca_pem)))
    before = files.read_bundle(host, MODULE)
    (old_csr,) = csrs(state)
    moved = dataclasses.replace(state, config={"address": "10.0.0.99"})
    out = ctx.run(ctx.on.config_changed(), moved)
    (new_csr,) = csrs(out)
    assert new_csr != old_csr
    from charmlibs.interfaces.tls_certificates import CertificateSigningRequest

    assert "10.0.0.99" in CertificateSigningRequest.from_string(new_csr).sans_ip
    assert files.read_bundle(host, MODULE) == before
    assert out.unit_status == testing.ActiveStatus(
        f"Unit is ready; TLS: new certificate requested from {PROVIDER}"
    )
    assert reported(out)["tls-state"] == "ready"

    replied = answered(out, [issuer.entry(old_csr), issuer.entry(new_csr)])
    out = ctx.run(ctx.on.relation_changed(relation_on(replied, "certificates")), replied)
    after = files.read_bundle(host, MODULE)
    assert after is not None and after != before
    assert out.unit_status == testing.ActiveStatus("Unit is ready")


def test_unknown_addresses_never_withdraw_the_csr(ctx, host, issuer):
    state = certified(ctx, issuer)
    (csr,) = csrs(state)
    blank = dataclasses.replace(state, config={"address": ""})
    out = ctx.run(ctx.on.config_changed(), blank)
    assert csrs(out) == [csr]
    out = ctx.run(ctx.on.relation_changed(relation_on(out, "certificates")), out)
    assert csrs(out) == [csr]
    assert files.read_bundle(host, MODULE) is not None


def test_easyrsa_is_named_as_a_provider_that_answers_no_csrs(ctx, host):
    """easyrsa (Charmed Kubernetes' CA) publishes its CA and a shared client certificate in
    its unit databag and never reads a CSR."""
    legacy = testing.Relation(
        "certificates",
        remote_app_name="easyrsa",
        remote_units_data={
            0: {"ca": "-----BEGIN CERTIFICATE-----", "client.cert": "x", "client.key": "y"}
        },
    )
    out = ctx.run(ctx.on.relation_changed(legacy, remote_unit=0), base_state(legacy, controller()))
    assert out.unit_status == testing.BlockedStatus(
        "TLS: easyrsa answers no certificate requests (easyrsa's legacy tls-certificates "
        "protocol): relate self-signed-certificates, vault or manual-tls-certificates instead"
    )
    assert reported(out)["tls-state"] == "pending"
