"""Feature: the vRouter agent under the deployment's TLS (ops.testing).

Its certificate names the vhost0 address (XMPP and the agent's introspect are reached there),
the agents' leader reports the application to the controller, and the agent speaks TLS only
once the controller publishes it on.
"""

from __future__ import annotations

import dataclasses

import pytest
from agent_testing import PROJECT, controller, env, peer, principal, ready_state
from charmlibs.interfaces.tls_certificates import CertificateSigningRequest
from ops import testing

from contrail_common.testing import app_data
from contrail_common.testing_tls import (
    Issuer,
    certificates,
    certify,
    csrs,
    relation_on,
    switch_on,
    with_relation,
)
from contrail_common.tls.certificate import identity_of_pem


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer("Contrail CA")


def switched_on(ctx, state: testing.State, ca: str) -> testing.State:
    """The controller publishes TLS on with `ca`."""
    relation = relation_on(state, "contrail-controller")
    assert isinstance(relation, testing.Relation)
    on = dataclasses.replace(
        relation, remote_app_data={**relation.remote_app_data, **switch_on(ca)}
    )
    return ctx.run(ctx.on.relation_changed(on), with_relation(state, on))


def related() -> testing.State:
    return ready_state(relations=[peer(), controller(), principal(), certificates()])


def test_the_request_names_vhost0_and_the_leader_reports_the_agents(ctx, machine, issuer):
    machine.add_interface("vhost0", "10.0.0.11")
    out = certify(ctx, related(), issuer)
    (csr,) = csrs(out)
    assert "10.0.0.11" in CertificateSigningRequest.from_string(csr).sans_ip
    (data,) = app_data(out, "contrail-controller")
    assert data["unit-type"] == "agent"
    assert data["tls-state"] == "ready"
    assert data["tls-ca-fingerprint"] == identity_of_pem(issuer.ca_pem).fingerprint


def test_the_agent_speaks_tls_once_the_controller_says_so(ctx, engine, host, issuer):
    out = certify(ctx, related(), issuer)
    assert env(host, "vrouter-agent")["SSL_ENABLE"] == "false"
    out = switched_on(ctx, out, issuer.ca_pem)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    agent = env(host, "vrouter-agent")
    assert agent["SSL_ENABLE"] == "true" and agent["INTROSPECT_SSL_ENABLE"] == "false"
    assert env(host, "node-init").get("SSL_ENABLE") != "true"
    mounts = [m.source for m in engine.containers[f"{PROJECT}-vrouter-agent"].spec.mounts]
    assert f"/etc/contrail/ssl/{PROJECT}" in mounts
    kernel_init = engine.containers[f"{PROJECT}-vrouter-kernel-init"].spec.mounts
    assert f"/etc/contrail/ssl/{PROJECT}" not in [m.source for m in kernel_init]


def test_tls_on_without_a_provider_blocks_before_the_agent_changes(ctx, engine, host, issuer):
    state = ready_state(relations=[peer(), controller(), principal()])
    out = ctx.run(ctx.on.install(), state)
    before = {n: c.spec.spec_hash() for n, c in engine.containers.items()}
    out = switched_on(ctx, out, issuer.ca_pem)
    assert out.unit_status == testing.BlockedStatus(
        "TLS is on for the deployment: relate contrail-agent:certificates to the provider the "
        "other applications use"
    )
    assert {n: c.spec.spec_hash() for n, c in engine.containers.items()} == before
    (data,) = app_data(out, "contrail-controller")
    assert data["tls-state"] == "off"
