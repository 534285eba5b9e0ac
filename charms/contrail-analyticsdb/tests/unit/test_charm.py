"""The analyticsdb charm through ops.testing: every event path, relation order and bad input."""

from __future__ import annotations

import dataclasses
import itertools
import stat
from pathlib import Path

import pytest
import yaml
from analyticsdb import AnalyticsdbConfig
from conftest import (
    ENDPOINT,
    PEER,
    TAG,
    VERSION,
    analytics,
    app_data,
    controller,
    encode,
    member,
    peer,
    provided,
    ready_state,
)
from ops import testing

from contrail_common.containers import ContainerState, Mount, RestartPolicy
from contrail_common.testing import MALFORMED_SECRET_URI, juju_delivers, read_env_file, unit_data
from contrail_common.testing_tls import NO_CA, REPORT_OFF

ALL_CONTAINERS = {
    "node-init",
    "database-nodemgr",
    "database-provisioner",
    "database-query-engine",
    "database-cassandra",
}
PROJECT = "contrail-analyticsdb-0"
CONTRAIL_SERVICES = ALL_CONTAINERS - {"database-cassandra"}
BINDING = "192.0.2.0"  # the binding address ops.testing gives every endpoint
CHARMCRAFT = Path(__file__).resolve().parents[2] / "charmcraft.yaml"
MISSING_CONTROLLER = (
    "missing relation: contrail-analyticsdb with contrail-controller "
    "(juju integrate contrail-analyticsdb contrail-controller)"
)
MISSING_ANALYTICS = (
    "missing relation: contrail-analyticsdb with contrail-analytics "
    "(juju integrate contrail-analyticsdb contrail-analytics)"
)


def env_of(host, name: str) -> dict[str, str]:
    return read_env_file(host, PROJECT, name)


def hashes(engine) -> dict[str, str]:
    return {
        name.removeprefix(f"{PROJECT}-"): c.spec.spec_hash()
        for name, c in engine.containers.items()
    }


# -- a ready unit ---------------------------------------------------------------------------------


def test_single_leader_with_both_requirers_goes_active(ctx, engine, host):
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == ALL_CONTAINERS
    assert out.workload_version == VERSION
    assert not out.opened_ports
    for name in ALL_CONTAINERS:
        container = engine.containers[f"{PROJECT}-{name}"]
        assert container.labels["net.juniper.node"] == "analyticsdb"
        assert container.labels["io.juju.unit"] == "contrail-analyticsdb/0"
        assert container.spec.network_mode == "host"
        expected_role = "node-init" if name == "node-init" else "database"
        assert container.labels["net.juniper.contrail"] == expected_role
    for path in host.path(f"/etc/contrail/{PROJECT}").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert {p.stem for p in host.path(f"/etc/contrail/{PROJECT}").iterdir()} == ALL_CONTAINERS


def test_container_specs(ctx, engine):
    ctx.run(ctx.on.install(), ready_state())

    def spec(name):
        return engine.containers[f"{PROJECT}-{name}"].spec

    assert spec("database-query-engine").image == (
        f"opensdn/contrail-analytics-query-engine:{TAG}"
    )
    assert spec("database-cassandra").image == f"opensdn/contrail-external-cassandra:{TAG}"
    init = spec("node-init")
    assert init.image == f"opensdn/contrail-node-init:{TAG}"
    assert init.privileged and init.pid_mode == "host"
    assert init.restart == RestartPolicy.NO
    assert Mount(source="/usr/bin", target="/host/usr/bin") in init.mounts
    assert spec("database-provisioner").restart == RestartPolicy.ON_FAILURE
    assert spec("database-nodemgr").image == f"opensdn/contrail-nodemgr:{TAG}"
    # The node manager watches the other containers through the engine's socket.
    assert any(m.target.endswith(".sock") for m in spec("database-nodemgr").mounts)
    volume = Mount(source="analytics-cassandra", target="/var/lib/cassandra", kind="volume")
    assert volume in spec("database-cassandra").mounts
    for name in ALL_CONTAINERS:
        assert Mount(source="/var/log/contrail", target="/var/log/contrail") in spec(name).mounts
        if name != "database-nodemgr":
            assert not any(m.target.endswith(".sock") for m in spec(name).mounts)


def test_environment_of_the_contrail_services(ctx, host):
    ctx.run(ctx.on.install(), ready_state())
    env = env_of(host, "database-query-engine")
    assert env == {
        "CONTROLLER_NODES": "10.0.0.11",
        "CONFIG_NODES": "10.0.0.11",
        "CONFIGDB_NODES": "10.0.0.11",
        "ZOOKEEPER_NODES": "10.0.0.11",
        "RABBITMQ_NODES": "10.0.0.11",
        "CONTROL_NODES": "192.168.0.11",
        "ANALYTICS_NODES": "10.0.1.1",
        "ANALYTICSDB_NODES": BINDING,
        "ANALYTICSDB_ENABLE": "true",
        "ANALYTICS_ALARM_ENABLE": "true",
        "ANALYTICS_SNMP_ENABLE": "true",
        "ANALYTICSDB_CQL_PORT": "9042",
        "CONFIGDB_PORT": "9161",
        "CONFIGDB_CQL_PORT": "9041",
        "RABBITMQ_NODE_PORT": "5673",
        "ZOOKEEPER_PORT": "2181",
        "LOG_LEVEL": "SYS_NOTICE",
        "AAA_MODE": "rbac",
        "AUTH_MODE": "noauth",
        "CLOUD_ORCHESTRATOR": "kubernetes",
        "SSL_ENABLE": "false",
    }
    status_image = "opensdn/contrail-status:R24.1-latest"
    assert env_of(host, "node-init") == {**env, "CONTRAIL_STATUS_IMAGE": status_image}
    assert env_of(host, "database-provisioner") == {**env, "NODE_TYPE": "database"}
    assert env_of(host, "database-nodemgr") == {
        **env,
        "NODE_TYPE": "database",
        "CASSANDRA_CQL_PORT": "9042",
        "CASSANDRA_JMX_LOCAL_PORT": "7200",
        "DATABASE_NODEMGR__DEFAULTS__minimum_diskGB": "256",
    }


def test_cassandra_reads_only_its_own_variables(ctx, host):
    config = {"image-tag": TAG, "cassandra-jvm-extra-opts": "-Xms1g -Xmx2g"}
    ctx.run(ctx.on.install(), ready_state(config=config))
    assert env_of(host, "database-cassandra") == {
        "NODE_TYPE": "database",
        "CASSANDRA_CLUSTER_NAME": "contrail_analytics",
        "CASSANDRA_SEEDS": BINDING,
        "CASSANDRA_START_RPC": "true",
        "CASSANDRA_PORT": "9160",
        "CASSANDRA_CQL_PORT": "9042",
        "CASSANDRA_STORAGE_PORT": "7010",
        "CASSANDRA_SSL_STORAGE_PORT": "7011",
        "CASSANDRA_JMX_LOCAL_PORT": "7200",
        "JVM_EXTRA_OPTS": "-Xms1g -Xmx2g",
    }


def test_controller_without_data_addresses_or_orchestrator(ctx, host):
    relation = controller(data_ips=(), auth_mode=None, orchestrator=None)
    out = ctx.run(ctx.on.install(), ready_state(relations=[peer(), relation, analytics()]))
    assert out.unit_status.name == "active"
    env = env_of(host, "database-query-engine")
    assert env["CONTROL_NODES"] == "10.0.0.11"
    assert env["AAA_MODE"] == "rbac"
    assert env["CLOUD_ORCHESTRATOR"] == ""


# -- what the leader publishes --------------------------------------------------------------------


def test_leader_publishes_its_addresses_to_both_requirers(ctx):
    out = ctx.run(ctx.on.config_changed(), ready_state())
    assert provided(out) == {"contrail-controller": [BINDING], "contrail-analytics": [BINDING]}
    for data in app_data(out, ENDPOINT):
        upgrade = {key for key in data if key.startswith("upgrade-")}  # tested on its own
        assert {k: v for k, v in data.items() if k not in upgrade} == {
            "analyticsdb-ips": [BINDING],
            **REPORT_OFF,
        }
    (peer_data,) = app_data(out, PEER)
    assert peer_data["members"] == [
        {**member(0, BINDING), "id": 1, "hostname": "juju-c0ffee-0", "departed": False}
    ]
    (own,) = unit_data(out, PEER)
    assert own == {
        "address": BINDING,
        "data-address": BINDING,
        "hostname": "juju-c0ffee-0",
        **NO_CA,
    }


def test_addresses_are_published_while_a_requirer_is_missing(ctx, engine):
    out = ctx.run(ctx.on.config_changed(), ready_state(relations=[peer(), analytics()]))
    assert out.unit_status == testing.BlockedStatus(MISSING_CONTROLLER)
    assert provided(out) == {"contrail-analytics": [BINDING]}
    assert engine.containers == {}


def test_min_cluster_size_holds_everything_back(ctx, engine):
    out = ctx.run(
        ctx.on.config_changed(), ready_state(config={"image-tag": TAG, "min-cluster-size": 3})
    )
    assert out.unit_status == testing.WaitingStatus(
        "waiting for 2 more contrail-analyticsdb unit(s) (min-cluster-size 3)"
    )
    assert engine.containers == {}
    assert provided(out) == {"contrail-controller": [], "contrail-analytics": []}


def multi_unit_peer(units: int = 3, members=None) -> testing.PeerRelation:
    return peer(
        members=members,
        peers_data={i: encode(address=f"10.0.0.1{i}", data_address=None) for i in range(1, units)},
    )


def test_three_units_publish_the_ordered_list(ctx, engine, host):
    config = {"image-tag": TAG, "min-cluster-size": 3}
    relations = [multi_unit_peer(3), controller(), analytics()]
    out = ctx.run(ctx.on.config_changed(), ready_state(config=config, relations=relations))
    assert out.unit_status.name == "active"
    ordered = [BINDING, "10.0.0.11", "10.0.0.12"]
    assert provided(out) == {"contrail-controller": ordered, "contrail-analytics": ordered}
    assert env_of(host, "database-query-engine")["ANALYTICSDB_NODES"] == ",".join(ordered)
    assert env_of(host, "database-cassandra")["CASSANDRA_SEEDS"] == ",".join(ordered)


def test_cassandra_seeds_hold_every_member(ctx, host):
    """The entrypoint exits unless it finds its own address among the seeds (it keeps the
    first two itself), so a fourth or fifth member needs the whole list."""
    config = {"image-tag": TAG, "min-cluster-size": 3}
    relations = [multi_unit_peer(5), controller(), analytics()]
    out = ctx.run(ctx.on.config_changed(), ready_state(config=config, relations=relations))
    assert len(provided(out)["contrail-controller"]) == 5
    cassandra = env_of(host, "database-cassandra")
    assert cassandra["CASSANDRA_SEEDS"].split(",") == provided(out)["contrail-controller"]
    assert "CASSANDRA_LISTEN_ADDRESS" not in cassandra  # the entrypoint sets it from the seeds
    assert env_of(host, "database-nodemgr")["ANALYTICSDB_NODES"].count(",") == 4


@pytest.mark.parametrize(
    "present, published",
    [
        ([1, 2], ["10.0.0.12", "10.0.0.10", "10.0.0.11"]),
        ([2], ["10.0.0.12", "10.0.0.10"]),
    ],
    ids=["all-stay", "one-departed"],
)
def test_new_leader_keeps_member_order(ctx, host, present, published):
    """A departed member is published no more, but stays among the Cassandra seeds (and in
    the members, by id) until the leader removed it from the ring."""
    everyone = ["10.0.0.12", "10.0.0.10", "10.0.0.11"]
    members = [member(2, "10.0.0.12"), member(0, "10.0.0.10"), member(1, "10.0.0.11")]
    relation = peer(
        members=members, peers_data={i: encode(address=f"10.0.0.1{i}") for i in present}
    )
    config = {"image-tag": TAG, "control-network": "10.0.0.0/24"}
    state = ready_state(config=config, relations=[relation, controller(), analytics()])
    out = ctx.run(ctx.on.leader_elected(), state)
    (peer_data,) = app_data(out, PEER)
    assert [m["address"] for m in peer_data["members"]] == everyone
    assert [m["id"] for m in peer_data["members"]] == [1, 2, 3]
    assert provided(out)["contrail-controller"] == published
    assert env_of(host, "database-cassandra")["CASSANDRA_SEEDS"] == ",".join(everyone)


def test_non_leader_waits_for_the_leader_then_deploys(ctx, engine):
    state = ready_state(leader=False)
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == testing.WaitingStatus("waiting for the leader to add this unit")
    (own,) = unit_data(out, PEER)
    assert own["address"] == BINDING
    assert engine.containers == {}
    assert all(not data for data in app_data(out, ENDPOINT)), "only the leader publishes"
    relations = [peer(members=[member(0, BINDING)]), controller(), analytics()]
    out = ctx.run(ctx.on.config_changed(), dataclasses.replace(out, relations=relations))
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == ALL_CONTAINERS


# -- missing and bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "requirers, messages",
    [
        ([], [MISSING_CONTROLLER, MISSING_ANALYTICS]),
        ([controller], [MISSING_ANALYTICS]),
        ([analytics], [MISSING_CONTROLLER]),
    ],
    ids=["none", "only-controller", "only-analytics"],
)
def test_every_missing_requirer_is_listed(ctx, engine, requirers, messages):
    state = ready_state(relations=[peer(), *[make() for make in requirers]])
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == testing.BlockedStatus("; ".join(messages))
    assert engine.containers == {}


def test_missing_image_tag_and_relations_are_listed_together(ctx):
    out = ctx.run(ctx.on.install(), ready_state(config={}, relations=[peer()]))
    assert out.unit_status.name == "blocked"
    assert "image-tag: set the Contrail release" in out.unit_status.message
    assert MISSING_CONTROLLER in out.unit_status.message
    assert MISSING_ANALYTICS in out.unit_status.message


def test_unset_image_tag_blocks_and_deploys_nothing(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state(config={}))
    assert out.unit_status == testing.BlockedStatus(
        "image-tag: set the Contrail release to run "
        "(juju config contrail-analyticsdb image-tag=<tag>)"
    )
    assert engine.containers == {}


def test_requirers_without_addresses_are_waited_for(ctx, engine):
    state = ready_state(relations=[peer(), controller(ips=(), data_ips=()), analytics(ips=())])
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == testing.WaitingStatus(
        "waiting for contrail-controller to publish its addresses; "
        "waiting for contrail-analytics to publish its addresses"
    )
    assert engine.containers == {}


INVALID = [
    ("image-tag", "2011\nL3"),
    ("docker-registry", "a\nb"),
    ("release-line", "R21.4"),
    ("registry-credentials", MALFORMED_SECRET_URI),
    ("container-runtime", "podman"),
    ("log-level", "DEBUG"),
    ("control-network", "10.0.0.0/33"),
    ("control-network", "eth0"),
    ("min-cluster-size", 0),
    ("min-cluster-size", 10),
    ("cassandra-minimum-diskgb", 0),
    ("cassandra-jvm-extra-opts", "Xmx2g"),
    ("cassandra-jvm-extra-opts", "-Xms1g\n-Xmx2g"),
    ("http-proxy", "proxy:3128"),
    ("https-proxy", "ftp://proxy"),
    ("no-proxy", "a\nb"),
]
# Juju itself checks the type of a boolean, and any single string is a valid Nagios name.
NOTHING_INVALID = {"docker-registry-insecure", "nagios_context", "nagios_servicegroups"}


@pytest.mark.parametrize("option, value", INVALID)
def test_invalid_option_blocks_naming_it(ctx, engine, option, value, monkeypatch):
    juju_delivers(monkeypatch, value)
    state = ready_state(config={"image-tag": TAG, option: value})
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(f"invalid config: {option}: ")
    assert engine.containers == {}


def test_every_option_has_an_invalid_case():
    options = yaml.safe_load(CHARMCRAFT.read_text())["config"]["options"]
    assert set(options) == {option for option, _ in INVALID} | NOTHING_INVALID


def test_charmcraft_defaults_match_the_config_model():
    options = yaml.safe_load(CHARMCRAFT.read_text())["config"]["options"]
    defaults = {name: option["default"] for name, option in options.items()}
    assert AnalyticsdbConfig.load(defaults) == AnalyticsdbConfig.load({})


def test_several_invalid_options_are_named_together(ctx):
    config = {"image-tag": TAG, "log-level": "LOUD", "cassandra-minimum-diskgb": -1}
    out = ctx.run(ctx.on.config_changed(), ready_state(config=config))
    assert "log-level: " in out.unit_status.message
    assert "cassandra-minimum-diskgb: " in out.unit_status.message


def malformed(**data: str) -> testing.Relation:
    return testing.Relation(ENDPOINT, remote_app_name="contrail-controller", remote_app_data=data)


@pytest.mark.parametrize(
    "relation, status",
    [
        (
            malformed(**{"unit-type": '"controller"', "controller-ips": '["not-an-ip"]'}),
            testing.BlockedStatus(
                "contrail-analyticsdb data from contrail-controller is malformed "
                "(controller-ips): fix or upgrade contrail-controller"
            ),
        ),
        (
            malformed(**{"unit-type": '"controller"', "controller-ips": "{{"}),
            testing.BlockedStatus(
                "contrail-analyticsdb data from contrail-controller is malformed: "
                "fix or upgrade contrail-controller"
            ),
        ),
        (
            malformed(**{"unit-type": '"agent"', "controller-ips": '["10.0.0.11"]'}),
            testing.BlockedStatus(
                "contrail-analyticsdb data from contrail-controller is malformed "
                "(unit-type): fix or upgrade contrail-controller"
            ),
        ),
        (
            malformed(**{"unit-type": '"controller"', "auth-mode": '"keystone"'}),
            testing.BlockedStatus(
                "contrail-analyticsdb data from contrail-controller is malformed "
                "(auth-mode): fix or upgrade contrail-controller"
            ),
        ),
        (
            malformed(),
            testing.WaitingStatus("waiting for contrail-controller to publish its data"),
        ),
        (
            malformed(**{"controller-ips": '["10.0.0.11"]'}),
            testing.WaitingStatus("waiting for contrail-controller to publish its data"),
        ),
        (
            malformed(**{"unit-type": '"controller"'}),
            testing.WaitingStatus("waiting for contrail-controller to publish its addresses"),
        ),
    ],
    ids=[
        "bad-ip",
        "bad-json",
        "unknown-unit-type",
        "bad-auth-mode",
        "empty",
        "no-unit-type",
        "no-addresses",
    ],
)
def test_malformed_or_partial_controller_data(ctx, engine, relation, status):
    state = ready_state(relations=[peer(), relation, analytics()])
    out = ctx.run(ctx.on.relation_changed(relation), state)
    assert out.unit_status == status, "the relation exists: it is not reported missing"
    assert engine.containers == {}
    assert provided(out)["contrail-analytics"] == [BINDING]


def test_malformed_analytics_data_is_named(ctx, engine):
    relation = testing.Relation(
        ENDPOINT,
        remote_app_name="tf-analytics",
        remote_app_data={"unit-type": '"analytics"', "analytics-ips": '["10.0.1.300"]'},
    )
    out = ctx.run(
        ctx.on.relation_changed(relation), ready_state(relations=[peer(), controller(), relation])
    )
    assert out.unit_status == testing.BlockedStatus(
        "contrail-analyticsdb data from tf-analytics is malformed (analytics-ips): "
        "fix or upgrade tf-analytics"
    )


def test_an_unidentified_relation_next_to_both_requirers_is_still_waited_for(ctx, engine):
    extra = testing.Relation(ENDPOINT, remote_app_name="mystery")
    relations = [peer(), controller(), analytics(), extra]
    out = ctx.run(ctx.on.relation_created(extra), ready_state(relations=relations))
    assert out.unit_status == testing.WaitingStatus("waiting for mystery to publish its data")


def test_two_controllers_block(ctx, engine):
    relations = [peer(), controller(), controller(app="other-controller"), analytics()]
    out = ctx.run(ctx.on.config_changed(), ready_state(relations=relations))
    assert out.unit_status == testing.BlockedStatus(
        "contrail-analyticsdb: contrail-controller and other-controller both write unit-type "
        "controller; relate only one contrail-controller"
    )
    assert engine.containers == {}


# -- changes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, value, recreated",
    [
        ("cassandra-jvm-extra-opts", "-Xms1g -Xmx2g", {"database-cassandra"}),
        ("cassandra-minimum-diskgb", 50, {"database-nodemgr"}),
        ("log-level", "SYS_DEBUG", CONTRAIL_SERVICES),
        ("https-proxy", "http://proxy:3128", ALL_CONTAINERS),
        ("nagios_context", "site-a", set()),
    ],
)
def test_config_change_recreates_only_affected_containers(ctx, engine, option, value, recreated):
    out = ctx.run(ctx.on.install(), ready_state())
    before = hashes(engine)
    changed = dataclasses.replace(out, config={"image-tag": TAG, option: value})
    ctx.run(ctx.on.config_changed(), changed)
    after = hashes(engine)
    assert set(after) == ALL_CONTAINERS
    assert {name for name in after if after[name] != before[name]} == recreated


@pytest.mark.parametrize(
    "requirer, update",
    [
        (
            "contrail-analytics",
            encode(unit_type="analytics", analytics_ips=["10.0.1.1", "10.0.1.2"]),
        ),
        (
            "contrail-controller",
            encode(
                unit_type="controller",
                controller_ips=["10.0.0.11", "10.0.0.12"],
                controller_data_ips=["192.168.0.11", "192.168.0.12"],
                auth_mode="rbac",
                cloud_orchestrator="kubernetes",
            ),
        ),
    ],
)
def test_requirer_growth_recreates_the_contrail_services_not_cassandra(
    ctx, engine, requirer, update
):
    out = ctx.run(ctx.on.install(), ready_state())
    before = hashes(engine)
    (relation,) = [r for r in out.get_relations(ENDPOINT) if r.remote_app_name == requirer]
    grown = dataclasses.replace(relation, remote_app_data=update)
    others = [r for r in out.relations if r.id != relation.id]
    out = ctx.run(
        ctx.on.relation_changed(grown), dataclasses.replace(out, relations=[*others, grown])
    )
    assert out.unit_status.name == "active"
    after = hashes(engine)
    assert {name for name in after if after[name] != before[name]} == CONTRAIL_SERVICES


RELATIONS = {"peer": peer, "controller": controller, "analytics": analytics}


@pytest.mark.parametrize("order", list(itertools.permutations(RELATIONS)), ids="-".join)
def test_any_relation_order_converges_to_the_same_deployment(ctx, engine, order):
    state = testing.State(leader=True, config={"image-tag": TAG})
    state = ctx.run(ctx.on.install(), state)
    for name in order:
        relation = RELATIONS[name]()
        state = dataclasses.replace(state, relations=[*state.relations, relation])
        state = ctx.run(ctx.on.relation_created(relation), state)
        if name != "peer":  # a lone unit's peer relation changes only when a peer joins
            state = ctx.run(ctx.on.relation_changed(state.get_relation(relation.id)), state)
    assert state.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == ALL_CONTAINERS
    assert all(s.state == ContainerState.RUNNING for s in engine.status(PROJECT).values())
    assert provided(state) == {"contrail-controller": [BINDING], "contrail-analytics": [BINDING]}
    # The reference deployment of a unit that saw everything at once changes nothing.
    writes = engine.io.writes
    ctx.run(ctx.on.config_changed(), ready_state())
    assert engine.io.writes == writes


def test_relation_broken_keeps_running_and_says_what_is_missing(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state())
    (relation,) = [
        r for r in out.get_relations(ENDPOINT) if r.remote_app_name == "contrail-analytics"
    ]
    broken = ctx.run(ctx.on.relation_broken(relation), out)
    assert broken.unit_status == testing.BlockedStatus(MISSING_ANALYTICS)
    assert set(engine.status(PROJECT)) == ALL_CONTAINERS, "a lost relation does not tear down"


# -- status, removal, actions ---------------------------------------------------------------------


def test_update_status_makes_no_engine_writes(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state())
    writes = engine.io.writes
    again = ctx.run(ctx.on.update_status(), out)
    assert engine.io.writes == writes
    assert again.unit_status == testing.ActiveStatus("Unit is ready")


# -- registry credentials -------------------------------------------------------------------------
