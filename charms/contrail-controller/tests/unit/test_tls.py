"""Feature: the controller leader switches TLS for the whole deployment (ops.testing).

The real TLS requirer runs against a provider databag built with the library's own provider
helpers (`contrail_common.testing_tls`). The other applications are represented by what their
leaders report on the relations (`tls-state` and their CA).
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import (
    TAG,
    agents,
    analytics,
    analyticsdb,
    cookie_secret,
    kubernetes,
    peer,
    ready_state,
    webui_secret,
)
from ops import testing

from contrail_common.containers import ContainerSpec
from contrail_common.hostpaths import HostRoot
from contrail_common.testing import app_data, read_env_file, unit_data
from contrail_common.testing_hostile import install_nrpe, nrpe_relation
from contrail_common.testing_tls import (
    Issuer,
    answered,
    certificates,
    certify,
    csrs,
    denial,
    relation_on,
    report,
    with_relation,
)
from contrail_common.tls import env as tls_env
from contrail_common.tls import files
from contrail_common.tls.certificate import ca_pem, identity_of_pem

PROJECT = "contrail-controller-0"
PROVIDER = "self-signed-certificates"
OTHERS = (
    "contrail-analytics",
    "contrail-analyticsdb",
    "contrail-kubernetes-master",
    "contrail-agent",
)


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer("Contrail CA")


def reporting(relation: testing.Relation, state: str, ca: str | None = None) -> testing.Relation:
    """`relation` with its remote leader's TLS report added."""
    data = {**relation.remote_app_data, **report(state, ca)}
    return dataclasses.replace(relation, remote_app_data=data)


def deployment(state: str = "ready", ca: str | None = None, *extra) -> testing.State:
    """The controller leader related to a provider and to every other application, each of
    which reports `state` (from `ca`)."""
    others = [analytics(), analyticsdb(), kubernetes(), agents(1)]
    relations = [peer(), certificates(), *(reporting(r, state, ca) for r in others), *extra]
    return ready_state(relations=relations)


def everyone_reports(state: testing.State, tls: str, ca: str | None = None) -> testing.State:
    for relation in remote(state, *OTHERS):
        state = with_relation(state, reporting(relation, tls, ca))
    return state


def remote(state: testing.State, *apps: str) -> list[testing.Relation]:
    """The relations of `state` with these applications."""
    return [
        r for r in state.relations if isinstance(r, testing.Relation) and r.remote_app_name in apps
    ]


def changed(ctx, state: testing.State, endpoint: str = "contrail-analytics") -> testing.State:
    return ctx.run(ctx.on.relation_changed(relation_on(state, endpoint)), state)


def published(state: testing.State) -> list[dict]:
    """The switch as the leader wrote it: on its peer relation and on every relation."""
    seen = []
    for endpoint in ("controller-cluster", "contrail-analytics", "contrail-analyticsdb",
                     "contrail-controller"):  # fmt: skip
        for data in app_data(state, endpoint):
            seen.append({k: data.get(k) for k in ("ssl-enabled", "ca-fingerprint")})
    return seen


def switch_is(state: testing.State, enabled: bool, ca: str | None = None) -> bool:
    fingerprint = identity_of_pem(ca).fingerprint if ca else None
    expected = {"ssl-enabled": enabled, "ca-fingerprint": fingerprint if enabled else None}
    return all(seen == expected for seen in published(state))


def spec(engine, name: str) -> ContainerSpec:
    return engine.containers[f"{PROJECT}-{name}"].spec


def tls_rendered(host: HostRoot, name: str) -> bool:
    return read_env_file(host, PROJECT, name).get("SSL_ENABLE") == "true"


def mounting(engine) -> set[str]:
    """The controller's containers whose image reads the certificate files."""
    names = set()
    for cid, container in engine.containers.items():
        component = container.spec.image.rsplit("/", 1)[-1].split(":")[0].removeprefix("contrail-")
        if tls_env.profile_of(component).mount:
            names.add(cid.removeprefix(f"{PROJECT}-"))
    return names


def test_no_provider_keeps_tls_off_without_a_word(ctx, engine, host):
    """GIVEN no application relates to a certificates provider
    THEN TLS stays off, nothing is requested or written, and the unit is simply ready."""
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert switch_is(out, False)
    assert not host.path("/etc/contrail/ssl").exists()
    assert not tls_rendered(host, "config-api")
    (own,) = unit_data(out, "controller-cluster")
    assert own["tls-ca-fingerprint"] is None


def test_a_certificate_for_this_unit_only_is_written_and_waits_for_the_others(
    ctx, engine, host, issuer
):
    """GIVEN the controller holds its certificate and the others are still waiting for theirs
    THEN its files are written and its CA reported, but TLS stays off and nothing re-renders."""
    out = certify(ctx, deployment("pending"), issuer)
    held = files.read_bundle(host, PROJECT)
    assert held is not None and held.ca_identity == identity_of_pem(issuer.ca_pem)
    (own,) = unit_data(out, "controller-cluster")
    assert own["tls-ca-fingerprint"] == identity_of_pem(issuer.ca_pem).fingerprint
    assert switch_is(out, False) and not tls_rendered(host, "config-api")
    assert out.unit_status == testing.WaitingStatus(
        "TLS stays off until every unit of contrail-analytics, contrail-analyticsdb, "
        "contrail-kubernetes-master, contrail-agent holds a certificate"
    )


def test_every_application_certified_turns_tls_on_for_everyone_at_once(ctx, engine, host, issuer):
    """GIVEN every application reports a certificate from the provider's CA
    WHEN the controller holds its own
    THEN in that one hook it publishes TLS on everywhere with the CA, renders its own
    containers with TLS (node-init excepted), and its Nagios API check speaks HTTPS."""
    install_nrpe(host)
    out = certify(ctx, deployment("ready", issuer.ca_pem, nrpe_relation()), issuer)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert switch_is(out, True, issuer.ca_pem)
    for data in app_data(out, "contrail-controller"):
        assert ca_pem(data["ca-certs"]).strip() == issuer.ca_pem.strip()
    env = read_env_file(host, PROJECT, "config-api")
    assert env["SSL_ENABLE"] == "true" and env["INTROSPECT_SSL_ENABLE"] == "false"
    assert env["CASSANDRA_SSL_ENABLE"] == "true" and env["RABBITMQ_USE_SSL"] == "true"
    assert read_env_file(host, PROJECT, "webui-web")["WEBUI_SSL_CERT_FILE"] == (
        "/etc/contrail/ssl/certs/server.pem"
    )
    assert not tls_rendered(host, "node-init")
    assert [m.source for m in spec(engine, "config-api").mounts][
        -1
    ] == f"/etc/contrail/ssl/{PROJECT}"
    api_check = host.path("/etc/nagios/nrpe.d/check_contrail_controller_http_api.cfg").read_text()
    assert "-p 8082 -u / -S" in api_check


def test_renewal_recreates_only_the_containers_that_mount_the_files(ctx, engine, host, issuer):
    """GIVEN TLS on
    WHEN the provider renews the certificate (same CA, same request)
    THEN exactly the containers that mount the files are re-created, and the switch stays."""
    out = certify(ctx, deployment("ready", issuer.ca_pem), issuer)
    before = {name: c.spec.spec_hash() for name, c in engine.containers.items()}
    out = answered(out, [issuer.entry(csr) for csr in csrs(out)])
    out = changed(ctx, out, "certificates")
    after = {name: c.spec.spec_hash() for name, c in engine.containers.items()}
    recreated = {n.removeprefix(f"{PROJECT}-") for n in after if after[n] != before[n]}
    assert recreated == mounting(engine)
    assert {"node-init", "configdb-zookeeper", "control-named"}.isdisjoint(recreated)
    assert switch_is(out, True, issuer.ca_pem)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")


def test_a_ca_mismatch_blocks_naming_both_and_keeps_the_switch(ctx, engine, host, issuer):
    out = certify(ctx, deployment("ready", issuer.ca_pem), issuer)
    other = Issuer("Other CA")
    (analytics_relation,) = remote(out, "contrail-analytics")
    mixed = with_relation(out, reporting(analytics_relation, "ready", other.ca_pem))
    out = changed(ctx, mixed)
    assert isinstance(out.unit_status, testing.BlockedStatus)
    message = out.unit_status.message
    assert message.startswith("TLS: certificates from different CAs:")
    assert "CN=Contrail CA'" in message and "CN=Other CA'" in message
    assert switch_is(out, True, issuer.ca_pem)


def test_a_ca_change_moves_the_deployment_once_every_application_holds_the_new_ca(
    ctx, engine, host, issuer
):
    """GIVEN TLS on with one CA
    WHEN the provider re-issues from a new CA
    THEN the controller keeps serving the old files until every application reports the new
    CA, then publishes it and writes its new files in the same hook."""
    out = certify(ctx, deployment("ready", issuer.ca_pem), issuer)
    rotated = Issuer("Rotated CA")
    out = changed(ctx, answered(out, [rotated.entry(csr) for csr in csrs(out)]), "certificates")
    held = files.read_bundle(host, PROJECT)
    assert held is not None and held.ca_identity == identity_of_pem(issuer.ca_pem)
    assert switch_is(out, True, issuer.ca_pem)
    out = changed(ctx, everyone_reports(out, "ready", rotated.ca_pem))
    assert switch_is(out, True, rotated.ca_pem)
    held = files.read_bundle(host, PROJECT)
    assert held is not None and held.ca_identity == identity_of_pem(rotated.ca_pem)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")


def test_a_denied_request_blocks_with_the_providers_reason(ctx, engine, host):
    state = deployment("pending")
    state = ctx.run(ctx.on.relation_created(relation_on(state, "certificates")), state)
    (csr,) = csrs(state)
    out = changed(
        ctx, answered(state, [], [denial(csr, "not in an allowed domain")]), "certificates"
    )
    assert out.unit_status == testing.BlockedStatus(
        f"TLS: {PROVIDER} denied the certificate request: not in an allowed domain"
    )
    assert files.read_bundle(host, PROJECT) is None


def test_an_application_leaving_its_provider_turns_tls_off_everywhere(ctx, engine, host, issuer):
    """GIVEN TLS on
    WHEN the agents' certificates relation is removed (their leader reports off)
    THEN the controller publishes TLS off everywhere and renders off, keeps its own files (it
    is still related), and says what to relate."""
    out = certify(ctx, deployment("ready", issuer.ca_pem), issuer)
    (agent,) = remote(out, "contrail-agent")
    off = reporting(agent, "off")
    out = ctx.run(ctx.on.relation_changed(off), with_relation(out, off))
    assert switch_is(out, False)
    assert not tls_rendered(host, "config-api")
    assert files.read_bundle(host, PROJECT) is not None
    assert out.unit_status == testing.BlockedStatus(
        "TLS off: contrail-agent has no certificates "
        f"(juju integrate contrail-agent:certificates {PROVIDER})"
    )


def test_its_own_relation_removed_turns_tls_off_then_removes_its_files(ctx, engine, host, issuer):
    out = certify(ctx, deployment("ready", issuer.ca_pem), issuer)
    out = ctx.run(ctx.on.relation_broken(relation_on(out, "certificates")), out)
    assert switch_is(out, False)
    assert not tls_rendered(host, "config-api")
    assert files.read_bundle(host, PROJECT) is None
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert out.unit_status.message.startswith("TLS off: contrail-controller has no certificates")


def test_a_non_leader_renders_from_the_leaders_decision(ctx, engine, host, issuer):
    identity = identity_of_pem(issuer.ca_pem)
    cookie, webui = cookie_secret(), webui_secret()
    decided = peer(
        members=[{"unit": "contrail-controller/0", "address": "192.0.2.0"}],
        cookie=cookie,
        webui=webui,
        peers_data={1: {}},
    )
    decided = dataclasses.replace(
        decided,
        local_app_data={
            **decided.local_app_data,
            "ssl-enabled": "true",
            "ca-fingerprint": json.dumps(identity.fingerprint),
            "ca-subject": json.dumps(identity.subject),
        },
    )
    state = ready_state(
        leader=False,
        secrets=[cookie, webui],
        relations=[decided, certificates(), analytics(), kubernetes()],
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == testing.WaitingStatus(
        f"TLS is on: waiting for a certificate from {PROVIDER}"
    )
    assert engine.containers == {}, "nothing starts without its certificate under TLS"
    out = certify(ctx, out, issuer)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert tls_rendered(host, "config-api")
    assert app_data(out, "contrail-controller") == [{}], "only the leader publishes"


def test_an_address_change_re_requests_and_serves_the_old_files_meanwhile(
    ctx, engine, host, issuer
):
    out = certify(ctx, deployment("ready", issuer.ca_pem), issuer)
    before = files.read_bundle(host, PROJECT)
    (old,) = csrs(out)
    moved = dataclasses.replace(out, config={"image-tag": TAG, "control-network": "10.0.0.0/24"})
    out = ctx.run(ctx.on.config_changed(), moved)
    (new,) = csrs(out)
    from charmlibs.interfaces.tls_certificates import CertificateSigningRequest

    assert new != old and "10.0.0.10" in CertificateSigningRequest.from_string(new).sans_ip
    assert files.read_bundle(host, PROJECT) == before
    assert isinstance(out.unit_status, testing.ActiveStatus)
    assert f"TLS: new certificate requested from {PROVIDER}" in out.unit_status.message
    out = changed(ctx, answered(out, [issuer.entry(new)]), "certificates")
    assert files.read_bundle(host, PROJECT) != before
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
