"""Feature: the analytics database under the deployment's TLS (ops.testing).

Both requirers write into one endpoint's application databags; only the controller's switch
counts, so an analytics application cannot turn Cassandra's TLS on by itself.
"""

from __future__ import annotations

import dataclasses

import pytest
from conftest import analytics, controller, peer, ready_state
from ops import testing

from contrail_common.testing import read_env_file
from contrail_common.testing_tls import Issuer, certificates, certify, switch_on

PROJECT = "contrail-analyticsdb-0"


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer("Contrail CA")


def publishing(relation: testing.Relation, ca: str) -> testing.Relation:
    return dataclasses.replace(
        relation, remote_app_data={**relation.remote_app_data, **switch_on(ca)}
    )


def test_only_the_controllers_switch_turns_cassandra_tls_on(ctx, host, issuer):
    state = ready_state(
        relations=[peer(), controller(), publishing(analytics(), issuer.ca_pem), certificates()]
    )
    out = certify(ctx, state, issuer)
    assert "CASSANDRA_SSL_ENABLE" not in read_env_file(host, PROJECT, "database-cassandra")
    state = ready_state(
        relations=[peer(), publishing(controller(), issuer.ca_pem), analytics(), certificates()]
    )
    out = certify(ctx, dataclasses.replace(state, secrets=out.secrets), issuer)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    cassandra = read_env_file(host, PROJECT, "database-cassandra")
    assert cassandra["CASSANDRA_SSL_ENABLE"] == "true"
    assert cassandra["SERVER_CA_CERTFILE"] == "/etc/contrail/ssl/certs/ca-cert.pem"
    assert read_env_file(host, PROJECT, "database-query-engine")["SSL_ENABLE"] == "true"
