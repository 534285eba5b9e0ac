"""Feature: kube-manager under the deployment's TLS (ops.testing).

kube-manager is a client of the config API, RabbitMQ and Cassandra, all of which speak TLS
once the controller turns it on; in nested mode its underlay is another cloud's Contrail, so
it gets no TLS from this deployment's switch.
"""

from __future__ import annotations

import dataclasses

import pytest
from conftest import PROJECT, controller, nodes, peer, principal, ready_state
from ops import testing
from test_charm import NESTED

from contrail_common.testing import app_data, read_env_file
from contrail_common.testing_tls import Issuer, certificates, certify, switch_on


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer("Contrail CA")


def switched_on(ca: str) -> testing.Relation:
    relation = controller()
    return dataclasses.replace(
        relation, remote_app_data={**relation.remote_app_data, **switch_on(ca)}
    )


def test_kube_manager_connects_with_tls_once_the_controller_says_so(ctx, host, api, issuer):
    relations = [peer(), switched_on(issuer.ca_pem), nodes(), principal(), certificates()]
    out = certify(ctx, ready_state(relations=relations), issuer)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    env = read_env_file(host, PROJECT, "kube-manager")
    assert env["SSL_ENABLE"] == "true" and env["RABBITMQ_USE_SSL"] == "true"
    assert env["CASSANDRA_SSL_ENABLE"] == "true" and env["SSL_INSECURE"] == "false"
    (data,) = app_data(out, "contrail-controller")
    assert data["unit-type"] == "kubernetes" and data["tls-state"] == "ready"


def test_nested_mode_gets_no_tls_from_a_certificates_relation(ctx, host, api, issuer):
    secret = testing.Secret(tracked_content={"password": "underlay-s3cret"})
    state = ready_state(
        config={**NESTED, "nested_keystone_password": secret.id},
        relations=[peer(), nodes(), principal(), certificates()],
        secrets=[secret],
    )
    out = certify(ctx, state, issuer)
    assert out.unit_status.name == "active"
    assert "SSL_ENABLE" not in read_env_file(host, PROJECT, "kube-manager")
