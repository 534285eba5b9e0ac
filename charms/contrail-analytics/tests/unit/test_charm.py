"""The analytics charm through ops.testing: event paths, relation orders and bad input."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from conftest import PROJECT, TAG, VERSION, analyticsdb, controller, peer, ready_state
from ops import testing

from contrail_common.testing import (
    MALFORMED_SECRET_URI,
    app_data,
    encode,
    juju_delivers,
    read_env_file,
    unit_data,
)
from contrail_common.testing_tls import NO_CA, REPORT_OFF

BASE = {
    "node-init",
    "analytics-nodemgr",
    "analytics-provisioner",
    "analytics-api",
    "analytics-collector",
    "redis",
}
WITH_DB = BASE | {
    "alarm-nodemgr", "alarm-provisioner", "alarm-kafka", "alarm-gen",
    "snmp-nodemgr", "snmp-provisioner", "snmp-collector", "snmp-topology",
}  # fmt: skip


def without_upgrade(data: dict) -> dict:
    """The keys this suite checks: the upgrade report has its own tests (test_upgrade.py)."""
    return {key: value for key, value in data.items() if not key.startswith("upgrade-")}


def published(out) -> list[dict]:
    return [without_upgrade(data) for data in app_data(out, "contrail-analytics")]


def test_ready_leader_runs_the_base_services(ctx, engine, host):
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == BASE
    assert out.workload_version == VERSION
    assert {p.port for p in out.opened_ports} == {8081}
    env = read_env_file(host, PROJECT, "analytics-api")
    assert env["CONTROLLER_NODES"] == "10.0.0.1"
    assert env["CONTROL_NODES"] == "10.1.0.1"
    assert env["ANALYTICS_NODES"] == "192.0.2.0"
    assert env["ANALYTICSDB_ENABLE"] == "false"
    assert env["CLOUD_ORCHESTRATOR"] == "kubernetes"
    (provided,) = app_data(out, "contrail-analytics")
    assert without_upgrade(provided) == {"analytics-ips": ["192.0.2.0"], **REPORT_OFF}


def test_analyticsdb_adds_alarm_and_snmp_groups(ctx, engine, host):
    out = ctx.run(
        ctx.on.config_changed(), ready_state(relations=[peer(), controller(), analyticsdb()])
    )
    assert out.unit_status.name == "active"
    assert set(engine.status(PROJECT)) == WITH_DB
    assert read_env_file(host, PROJECT, "alarm-kafka")["ZOOKEEPER_NODES"] == "10.0.0.1"
    (to_db,) = app_data(out, "contrail-analyticsdb")
    assert to_db["unit-type"] == "analytics" and to_db["analytics-ips"] == ["192.0.2.0"]


def test_removing_analyticsdb_removes_the_extra_groups(ctx, engine):
    db = analyticsdb()
    out = ctx.run(ctx.on.config_changed(), ready_state(relations=[peer(), controller(), db]))
    without = dataclasses.replace(
        out, relations=[r for r in out.relations if r.endpoint != "contrail-analyticsdb"]
    )
    out = ctx.run(ctx.on.config_changed(), without)
    assert set(engine.status(PROJECT)) == BASE
    assert out.unit_status.name == "active"


def test_without_the_controller_it_blocks_and_names_the_fix(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state(relations=[peer()]))
    assert out.unit_status == testing.BlockedStatus(
        "missing relation: contrail-analytics with contrail-controller "
        "(juju integrate contrail-analytics contrail-controller)"
    )
    assert engine.containers == {}


def test_every_problem_at_once(ctx):
    empty_db = testing.Relation("contrail-analyticsdb", remote_app_name="adb")
    out = ctx.run(ctx.on.install(), ready_state(config={}, relations=[peer(), empty_db]))
    message = out.unit_status.message
    assert "image-tag: set the Contrail release" in message
    assert "missing relation: contrail-analytics" in message
    assert "(+1 more)" in message, "the waiting for adb is counted"


def test_controller_without_addresses_waits(ctx):
    relation = testing.Relation("contrail-analytics", remote_app_name="contrail-controller")
    out = ctx.run(ctx.on.relation_joined(relation), ready_state(relations=[peer(), relation]))
    assert out.unit_status == testing.WaitingStatus(
        "waiting for contrail-controller to publish its addresses"
    )


@pytest.mark.parametrize(
    "data, field",
    [
        ({"controller-ips": '["10.0.0.999"]'}, "controller-ips"),
        ({"auth-mode": '"keystone"'}, "auth-mode"),
        ({"controller-ips": "not json"}, ""),
    ],
)
def test_malformed_controller_data_blocks(ctx, engine, data, field):
    relation = testing.Relation(
        "contrail-analytics", remote_app_name="contrail-controller", remote_app_data=data
    )
    out = ctx.run(ctx.on.relation_changed(relation), ready_state(relations=[peer(), relation]))
    assert out.unit_status.name == "blocked"
    assert (
        "contrail-analytics data from contrail-controller is malformed" in out.unit_status.message
    )
    assert field in out.unit_status.message
    assert engine.containers == {}


def test_malformed_analyticsdb_data_blocks(ctx):
    bad = testing.Relation(
        "contrail-analyticsdb", remote_app_name="adb", remote_app_data={"analyticsdb-ips": "[1, 2"}
    )
    out = ctx.run(ctx.on.relation_changed(bad), ready_state(relations=[peer(), controller(), bad]))
    assert "contrail-analyticsdb data from adb is malformed" in out.unit_status.message


@pytest.mark.parametrize(
    "option, value",
    [
        ("log-level", "LOUD"),
        ("control-network", "10.0.0.0/40"),
        ("min-cluster-size", 10),
        ("container-runtime", "rkt"),
        ("registry-credentials", MALFORMED_SECRET_URI),
        ("http-proxy", "not a url"),
        ("https-proxy", "proxy:1"),
        ("no-proxy", "a\nb"),
        ("docker-registry", "x\ny"),
        ("image-tag", "1\n2"),
    ],
)
def test_invalid_option_blocks_naming_it(ctx, engine, option, value, monkeypatch):
    juju_delivers(monkeypatch, value)
    out = ctx.run(ctx.on.config_changed(), ready_state(config={"image-tag": TAG, option: value}))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("invalid config: ")
    assert option in out.unit_status.message
    assert engine.containers == {}


def test_min_cluster_size_gates_publication(ctx, engine):
    out = ctx.run(
        ctx.on.config_changed(), ready_state(config={"image-tag": TAG, "min-cluster-size": 3})
    )
    assert out.unit_status.name == "waiting"
    assert published(out) == [{"analytics-ips": [], **REPORT_OFF}]
    assert engine.containers == {}
    three = peer(
        peers_data={
            1: encode(address="10.0.1.11", data_address="10.0.1.11"),
            2: encode(address="10.0.1.12", data_address="10.0.1.12"),
        }
    )
    out = ctx.run(
        ctx.on.config_changed(),
        ready_state(
            config={"image-tag": TAG, "min-cluster-size": 3}, relations=[three, controller()]
        ),
    )
    assert published(out) == [
        {"analytics-ips": ["192.0.2.0", "10.0.1.11", "10.0.1.12"], **REPORT_OFF}
    ]
    assert out.unit_status.name == "active"


def test_non_leader_waits_then_deploys(ctx, engine):
    out = ctx.run(ctx.on.config_changed(), ready_state(leader=False))
    assert out.unit_status == testing.WaitingStatus("waiting for the leader to add this unit")
    assert unit_data(out, "analytics-cluster") == [
        {"address": "192.0.2.0", "data-address": "192.0.2.0", "hostname": "juju-c0ffee-0", **NO_CA}
    ]
    members = [{"unit": "contrail-analytics/0", "address": "192.0.2.0", "data-address": None}]
    out = ctx.run(
        ctx.on.config_changed(), ready_state(leader=False, relations=[peer(members), controller()])
    )
    assert out.unit_status.name == "active"
    assert app_data(out, "contrail-analytics") == [{}], "only the leader publishes"


def test_controller_change_recreates_contrail_services_not_redis(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state())
    before = {n: c.spec.spec_hash() for n, c in engine.containers.items()}
    relation = out.get_relations("contrail-analytics")[0]
    moved = dataclasses.replace(
        relation, remote_app_data=controller(ips=("10.0.0.1", "10.0.0.2")).remote_app_data
    )
    state = dataclasses.replace(
        out, relations=[r for r in out.relations if r.id != relation.id] + [moved]
    )
    ctx.run(ctx.on.relation_changed(moved), state)
    after = {n: c.spec.spec_hash() for n, c in engine.containers.items()}
    changed = {n.removeprefix(f"{PROJECT}-") for n in after if after[n] != before[n]}
    assert changed == BASE - {"redis"}


@pytest.mark.parametrize("order", list(itertools.permutations(["controller", "analyticsdb"])))
def test_relation_orders_converge(ctx, engine, order):
    builders = {"controller": controller, "analyticsdb": analyticsdb}
    state = ctx.run(
        ctx.on.install(), testing.State(leader=True, config={"image-tag": TAG}, relations=[peer()])
    )
    for name in order:
        relation = builders[name]()
        state = dataclasses.replace(state, relations=[*state.relations, relation])
        state = ctx.run(ctx.on.relation_created(relation), state)
        state = ctx.run(ctx.on.relation_changed(state.get_relation(relation.id)), state)
    assert state.unit_status.name == "active"
    assert set(engine.status(PROJECT)) == WITH_DB
