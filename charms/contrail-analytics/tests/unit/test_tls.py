"""Feature: analytics under the deployment's TLS (ops.testing).

Analytics reports whether its units hold certificates and renders TLS only once the controller
publishes it on; its redis then listens on 127.0.0.1 and a stunnel serves the other units.
"""

from __future__ import annotations

import dataclasses

import pytest
from conftest import PROJECT, TAG, controller, peer, ready_state
from ops import testing

from contrail_common.testing import app_data, read_env_file
from contrail_common.testing_hostile import install_nrpe, nrpe_relation
from contrail_common.testing_tls import (
    REPORT_OFF,
    Issuer,
    certificates,
    certify,
    relation_on,
    switch_on,
    with_relation,
)
from contrail_common.tls import files
from contrail_common.tls.certificate import identity_of_pem


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer("Contrail CA")


@pytest.fixture
def stunnel(engine) -> str:
    image = f"opensdn/contrail-external-stunnel:{TAG}"
    engine.add_image(image, {"version": "R24.1-build42"})
    return image


def switched(state: testing.State, ca: str | None) -> testing.State:
    """`state` after the controller published its decision (on with `ca`, or off)."""
    relation = relation_on(state, "contrail-analytics")
    data = dict(controller().remote_app_data)
    if ca:
        data.update(switch_on(ca))
    return with_relation(state, dataclasses.replace(relation, remote_app_data=data))


def reported(state: testing.State) -> dict:
    (data,) = app_data(state, "contrail-analytics")
    return {k: v for k, v in data.items() if k.startswith("tls-")}


def test_without_a_provider_analytics_reports_off(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state())
    assert reported(out) == REPORT_OFF


def test_its_certificate_is_reported_but_nothing_renders_before_the_switch(ctx, host, issuer):
    out = certify(ctx, ready_state(relations=[peer(), controller(), certificates()]), issuer)
    identity = identity_of_pem(issuer.ca_pem)
    assert reported(out) == {
        "tls-state": "ready",
        "tls-ca-fingerprint": identity.fingerprint,
        "tls-ca-subject": identity.subject,
    }
    assert read_env_file(host, PROJECT, "analytics-api")["SSL_ENABLE"] == "false"
    assert out.unit_status == testing.ActiveStatus(
        "Unit is ready; TLS: certificate ready, off until every application has one"
    )


def test_the_switch_on_renders_tls_and_fronts_redis_with_stunnel(
    ctx, engine, host, issuer, stunnel
):
    install_nrpe(host)
    relations = [peer(), controller(), certificates(), nrpe_relation()]
    out = certify(ctx, ready_state(relations=relations), issuer)
    on = switched(out, issuer.ca_pem)
    out = ctx.run(ctx.on.relation_changed(relation_on(on, "contrail-analytics")), on)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    api = read_env_file(host, PROJECT, "analytics-api")
    assert api["SSL_ENABLE"] == "true" and api["INTROSPECT_SSL_ENABLE"] == "false"
    assert read_env_file(host, PROJECT, "redis")["REDIS_SSL_ENABLE"] == "true"
    front = engine.containers[f"{PROJECT}-redis-stunnel"].spec
    assert front.image == stunnel
    assert f"/etc/contrail/ssl/{PROJECT}" in [m.source for m in front.mounts]
    tunnel_env = read_env_file(host, PROJECT, "redis-stunnel")
    assert tunnel_env["REDIS_NODES"] == "192.0.2.0" and tunnel_env["REDIS_SSL_ENABLE"] == "true"
    check = host.path("/etc/nagios/nrpe.d/check_contrail_analytics_http_api.cfg").read_text()
    assert "-p 8081 -u / -S" in check

    off = switched(out, None)
    out = ctx.run(ctx.on.relation_changed(relation_on(off, "contrail-analytics")), off)
    assert f"{PROJECT}-redis-stunnel" not in engine.containers
    assert read_env_file(host, PROJECT, "analytics-api")["SSL_ENABLE"] == "false"
    assert files.read_bundle(host, PROJECT) is not None, "still related: the files stay"
