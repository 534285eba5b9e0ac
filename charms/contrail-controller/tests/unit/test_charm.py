"""The controller charm through ops.testing: every event path, relation order and bad input."""

from __future__ import annotations

import dataclasses
import itertools
import json
import stat

import pytest
from conftest import (
    TAG,
    VERSION,
    agents,
    analytics,
    analyticsdb,
    app_data,
    cookie_secret,
    encode,
    kubernetes,
    peer,
    ready_state,
    webui_secret,
)
from ops import testing

from contrail_common.containers import ContainerState
from contrail_common.testing import MALFORMED_SECRET_URI, juju_delivers, read_env_file

ALL_CONTAINERS = {
    "node-init", "config-nodemgr", "config-provisioner", "config-api", "config-svcmonitor",
    "config-schema", "config-devicemgr", "config-dnsmasq", "configdb-nodemgr",
    "configdb-provisioner", "configdb-cassandra", "configdb-zookeeper", "configdb-rabbitmq",
    "control-nodemgr", "control-provisioner", "control-control", "control-named", "control-dns",
    "webui-web", "webui-job", "redis",
}  # fmt: skip
PROJECT = "contrail-controller-0"
THIRD_PARTY = {"configdb-cassandra", "configdb-zookeeper", "configdb-rabbitmq", "redis"}


def env_of(host, name: str) -> dict[str, str]:
    return read_env_file(host, PROJECT, name)


def test_single_leader_with_all_relations_goes_active(ctx, engine, host):
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == ALL_CONTAINERS
    assert out.workload_version == VERSION
    assert {p.port for p in out.opened_ports} == {8082, 8143}
    api = engine.containers[f"{PROJECT}-config-api"]
    assert api.spec.image == f"opensdn/contrail-controller-config-api:{TAG}"
    assert api.labels["net.juniper.contrail"] == "config"
    assert api.labels["net.juniper.node"] == "controller"
    assert api.spec.network_mode == "host"
    env = env_of(host, "config-api")
    assert env["CONTROLLER_NODES"] == "192.0.2.0"  # the binding address of ops.testing
    assert env["ANALYTICS_NODES"] == "10.0.1.1"
    assert env["CLOUD_ORCHESTRATOR"] == "kubernetes"
    assert env["ANALYTICSDB_ENABLE"] == "false"
    for path in host.path(f"/etc/contrail/{PROJECT}").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_leader_publishes_cluster_data_everywhere(ctx):
    state = ready_state(relations=[peer(), analytics(), analyticsdb(), kubernetes(), agents()])
    out = ctx.run(ctx.on.config_changed(), state)
    (provided, _) = app_data(out, "contrail-controller")
    assert provided["controller-ips"] == ["192.0.2.0"]
    assert provided["controller-data-ips"] == ["192.0.2.0"]
    assert provided["analytics-ips"] == ["10.0.1.1"]
    assert provided["analyticsdb-ips"] == ["10.0.2.1"]
    assert provided["auth-mode"] == "rbac"
    assert provided["kubernetes-clusters"] == {
        "k8s": {"pod-subnets": ["10.32.0.0/12"], "api-server": None, "api-port": None}
    }
    (north,) = app_data(out, "contrail-analytics")
    assert north["controller-ips"] == ["192.0.2.0"] and north["cloud-orchestrator"] == "kubernetes"
    (to_db,) = app_data(out, "contrail-analyticsdb")
    assert to_db["unit-type"] == "controller"
    (peer_data,) = app_data(out, "controller-cluster")
    assert peer_data["members"] == [
        {
            "unit": "contrail-controller/0", "address": "192.0.2.0", "data-address": "192.0.2.0",
            "id": 1, "hostname": "juju-c0ffee-0", "departed": False,
        }
    ]  # fmt: skip


def test_every_missing_prerequisite_is_listed(ctx, engine):
    state = testing.State(leader=True, config={"image-tag": TAG}, relations=[peer()])
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status.name == "blocked"
    assert "missing relation: contrail-analytics" in out.unit_status.message
    assert "no orchestrator: relate contrail-kubernetes-master" in out.unit_status.message
    assert engine.containers == {}


def test_unset_image_tag_blocks_and_deploys_nothing(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state(config={}))
    assert out.unit_status.name == "blocked"
    assert "image-tag: set the Contrail release" in out.unit_status.message
    assert engine.containers == {}


@pytest.mark.parametrize(
    "option, value",
    [
        ("log-level", "DEBUG"),
        ("control-network", "10.0.0.0/33"),
        ("data-network", "not-a-cidr"),
        ("min-cluster-size", 0),
        ("auth-mode", "keystone"),
        ("bgp-asn", 0),
        ("bgp-asn", 4294967296),
        ("encap-priority", "MPLSoUDP,GRE"),
        ("encap-priority", "VXLAN,VXLAN"),
        ("vxlan-vn-id-mode", "manual"),
        ("config-api-worker-count", 0),
        ("config-api-worker-count", 65),
        ("cassandra-minimum-diskgb", 0),
        ("cassandra-jvm-extra-opts", "Xmx2g"),
        ("container-runtime", "podman"),
        ("registry-credentials", MALFORMED_SECRET_URI),
        ("http-proxy", "proxy:3128"),
        ("https-proxy", "ftp://proxy"),
        ("docker-registry", "a\nb"),
        ("cloud-admin-role", "x\ny"),
    ],
)
def test_invalid_option_blocks_naming_it(ctx, engine, option, value, monkeypatch):
    juju_delivers(monkeypatch, value)
    state = ready_state(config={"image-tag": TAG, option: value})
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("invalid config: ")
    assert option in out.unit_status.message
    assert engine.containers == {}


def test_asn_above_16_bits_needs_4byte_as(ctx):
    out = ctx.run(
        ctx.on.config_changed(), ready_state(config={"image-tag": TAG, "bgp-asn": 4200000000})
    )
    assert "needs enable-4byte-as" in out.unit_status.message
    config = {"image-tag": TAG, "bgp-asn": 4200000000, "enable-4byte-as": True}
    assert (
        ctx.run(ctx.on.config_changed(), ready_state(config=config)).unit_status.name == "active"
    )


def test_min_cluster_size_holds_everything_back(ctx, engine):
    out = ctx.run(
        ctx.on.config_changed(), ready_state(config={"image-tag": TAG, "min-cluster-size": 3})
    )
    assert out.unit_status == testing.WaitingStatus(
        "waiting for 2 more contrail-controller unit(s) (min-cluster-size 3)"
    )
    assert engine.containers == {}
    (provided,) = app_data(out, "contrail-controller")
    assert provided["controller-ips"] == [] and provided["controller-data-ips"] == []
    (north,) = app_data(out, "contrail-analytics")
    assert north["controller-ips"] == []


def three_unit_peer(members=None, cookie=None) -> testing.PeerRelation:
    return peer(
        members=members,
        cookie=cookie,
        peers_data={
            1: encode(address="10.0.0.11", data_address="10.1.0.11"),
            2: encode(address="10.0.0.12", data_address="10.1.0.12"),
        },
    )


def test_three_units_publish_ordered_lists(ctx, engine):
    config = {"image-tag": TAG, "min-cluster-size": 3, "data-network": "192.168.1.0/24"}
    out = ctx.run(
        ctx.on.config_changed(),
        ready_state(config=config, relations=[three_unit_peer(), analytics(), kubernetes()]),
    )
    assert out.unit_status.name == "active"
    (provided,) = app_data(out, "contrail-controller")
    assert provided["controller-ips"] == ["192.0.2.0", "10.0.0.11", "10.0.0.12"]
    assert provided["controller-data-ips"] == ["192.168.1.10", "10.1.0.11", "10.1.0.12"]
    assert engine.containers[f"{PROJECT}-configdb-cassandra"].spec.env_file is not None


def test_new_leader_keeps_member_ids_and_marks_the_departed_for_removal(ctx):
    """Members of a databag written before ids keep their position as their id; the one no
    longer on the relation stays (departed) until the leader removed it from the services."""
    members = [
        {"unit": "contrail-controller/2", "address": "10.0.0.12", "data-address": None},
        {"unit": "contrail-controller/0", "address": "10.0.0.10", "data-address": None},
        {"unit": "contrail-controller/1", "address": "10.0.0.11", "data-address": None},
    ]
    relation = peer(
        members=members,
        cookie=cookie_secret(),
        peers_data={2: encode(address="10.0.0.12", data_address="10.0.0.12")},
    )
    state = ready_state(relations=[relation, analytics(), kubernetes()], secrets=[cookie_secret()])
    out = ctx.run(ctx.on.leader_elected(), state)
    (peer_data,) = app_data(out, "controller-cluster")
    assert [(m["unit"], m["id"], m["departed"]) for m in peer_data["members"]] == [
        ("contrail-controller/2", 1, False),
        ("contrail-controller/0", 2, False),
        ("contrail-controller/1", 3, True),
    ]
    assert peer_data["members"][1]["address"] == "192.0.2.0", "this unit's new address, in place"
    assert [r["member"] for r in peer_data["removals"]] == [3]


def test_non_leader_waits_for_the_leader_then_deploys(ctx, engine):
    secret, webui = cookie_secret(), webui_secret()
    state = ready_state(
        leader=False,
        secrets=[secret, webui],
        relations=[peer(cookie=secret, webui=webui), analytics(), kubernetes()],
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == testing.WaitingStatus("waiting for the leader to add this unit")
    (own,) = [r.local_unit_data for r in out.relations if r.endpoint == "controller-cluster"]
    assert json.loads(own["address"]) == "192.0.2.0"
    assert engine.containers == {}
    members = [
        {"unit": "contrail-controller/0", "address": "192.0.2.0", "data-address": "192.0.2.0"}
    ]
    state = dataclasses.replace(
        out,
        relations=[peer(members=members, cookie=secret, webui=webui), analytics(), kubernetes()],
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status.name == "active"
    assert env_of_engine(engine, "configdb-rabbitmq") == "c00k1e"


def env_of_engine(engine, name: str) -> str:
    return engine.containers[f"{PROJECT}-{name}"].spec.resolved_env()["RABBITMQ_ERLANG_COOKIE"]


def test_leader_generates_the_cookie_and_webui_password_once_as_secrets(ctx, engine, host):
    out = ctx.run(ctx.on.install(), ready_state())
    secrets = {s.label: s for s in out.secrets}
    assert set(secrets) == {"rabbitmq-erlang-cookie", "webui-admin-password"}
    cookie = secrets["rabbitmq-erlang-cookie"].tracked_content["cookie"]
    password = secrets["webui-admin-password"].tracked_content["password"]
    assert len(cookie) >= 32 and len(password) >= 32 and password != "contrail123"
    (peer_data,) = app_data(out, "controller-cluster")
    assert peer_data["erlang-cookie-secret"] == secrets["rabbitmq-erlang-cookie"].id
    assert peer_data["webui-password-secret"] == secrets["webui-admin-password"].id
    assert env_of(host, "configdb-rabbitmq")["RABBITMQ_ERLANG_COOKIE"] == cookie
    for container in ("webui-web", "webui-job"):
        env = env_of(host, container)
        assert env["WEBUI_STATIC_AUTH_USER"] == "admin"
        assert env["WEBUI_STATIC_AUTH_PASSWORD"] == password
    again = ctx.run(ctx.on.config_changed(), out)
    assert sorted(s.id for s in again.secrets) == sorted(s.id for s in out.secrets)
    for relation in again.relations:
        for bag in (relation.local_app_data, relation.local_unit_data):
            assert all(cookie not in v and password not in v for v in bag.values()), (
                "a generated secret leaked into a databag"
            )


def test_upgraded_leader_adds_the_webui_password_beside_the_old_cookie(ctx, host):
    """A deployment from before the web UI password keeps its cookie and gains a password."""
    cookie = cookie_secret()
    out = ctx.run(
        ctx.on.upgrade_charm(),
        ready_state(secrets=[cookie], relations=[peer(cookie=cookie), analytics(), kubernetes()]),
    )
    (peer_data,) = app_data(out, "controller-cluster")
    assert peer_data["erlang-cookie-secret"] == cookie.id
    password = next(s for s in out.secrets if s.label == "webui-admin-password")
    assert (
        env_of(host, "webui-web")["WEBUI_STATIC_AUTH_PASSWORD"]
        == (password.tracked_content["password"])
    )


def test_webui_password_action_shows_the_login(ctx):
    cookie, webui = cookie_secret(), webui_secret()
    state = ready_state(
        secrets=[cookie, webui],
        relations=[peer(cookie=cookie, webui=webui), analytics(), kubernetes()],
    )
    ctx.run(ctx.on.action("webui-password"), state)
    assert ctx.action_results == {"username": "admin", "password": "w3bui-pw"}


def test_webui_password_action_fails_before_the_leader_made_one(ctx):
    with pytest.raises(testing.ActionFailed, match="not generated the web UI password"):
        ctx.run(ctx.on.action("webui-password"), ready_state(leader=False))


@pytest.mark.parametrize(
    "option, value, recreated",
    [
        ("config-api-worker-count", 4, {"config-api"}),
        ("huge-scale", True, {"configdb-zookeeper"}),
        ("cassandra-jvm-extra-opts", "-Xms1g -Xmx2g", {"configdb-cassandra"}),
        ("cassandra-minimum-diskgb", 50, {"configdb-nodemgr"}),
        ("bgp-asn", 64513, {"config-provisioner", "control-provisioner"}),
        ("log-level", "SYS_DEBUG", ALL_CONTAINERS - THIRD_PARTY),
    ],
)
def test_config_change_recreates_only_affected_containers(ctx, engine, option, value, recreated):
    out = ctx.run(ctx.on.install(), ready_state())
    before = {name: c.spec.spec_hash() for name, c in engine.containers.items()}
    changed = dataclasses.replace(out, config={"image-tag": TAG, option: value})
    ctx.run(ctx.on.config_changed(), changed)
    after = {name: c.spec.spec_hash() for name, c in engine.containers.items()}
    differing = {name.removeprefix(f"{PROJECT}-") for name in after if after[name] != before[name]}
    assert differing == recreated


def test_adding_agent_units_recreates_nothing(ctx, engine):
    out = ctx.run(
        ctx.on.install(), ready_state(relations=[peer(), analytics(), kubernetes(), agents(2)])
    )
    writes = engine.io.writes
    relation = out.get_relations("contrail-controller")[1]
    grown = dataclasses.replace(
        relation, remote_units_data={i: encode(dpdk=False) for i in range(5)}
    )
    state = dataclasses.replace(
        out, relations=[*[r for r in out.relations if r.id != relation.id], grown]
    )
    ctx.run(ctx.on.relation_joined(grown, remote_unit=4), state)
    assert engine.io.writes == writes


@pytest.mark.parametrize(
    "relation, message",
    [
        (
            testing.Relation(
                "contrail-analytics",
                remote_app_name="contrail-analytics",
                remote_app_data={"analytics-ips": '["not-an-ip"]'},
            ),
            "contrail-analytics data from contrail-analytics is malformed (analytics-ips)",
        ),
        (
            testing.Relation(
                "contrail-analytics",
                remote_app_name="contrail-analytics",
                remote_app_data={"analytics-ips": "{{"},
            ),
            "contrail-analytics data from contrail-analytics is malformed",
        ),
    ],
)
def test_malformed_remote_data_blocks_without_error(ctx, engine, relation, message):
    out = ctx.run(
        ctx.on.relation_changed(relation), ready_state(relations=[peer(), relation, kubernetes()])
    )
    assert out.unit_status.name == "blocked"
    assert message in out.unit_status.message
    assert engine.containers == {}


def test_partial_remote_data_waits(ctx, engine):
    empty = testing.Relation("contrail-analytics", remote_app_name="contrail-analytics")
    out = ctx.run(
        ctx.on.relation_joined(empty), ready_state(relations=[peer(), empty, kubernetes()])
    )
    assert out.unit_status == testing.WaitingStatus(
        "waiting for contrail-analytics to publish its addresses"
    )


def test_malformed_orchestrator_data_is_named(ctx):
    broken = testing.Relation(
        "contrail-controller", remote_app_name="k8s-a", remote_app_data={"unit-type": '"mesos"'}
    )
    out = ctx.run(
        ctx.on.relation_changed(broken),
        ready_state(relations=[peer(), analytics(), kubernetes(), broken]),
    )
    assert (
        "contrail-controller data from k8s-a is malformed (unit-type)" in out.unit_status.message
    )


def test_several_kubernetes_clusters_share_the_controller(ctx):
    relations = [
        peer(),
        analytics(),
        kubernetes("blue", "k8s-blue"),
        kubernetes("green", "k8s-green", ("10.40.0.0/16",)),
    ]
    out = ctx.run(ctx.on.config_changed(), ready_state(relations=relations))
    assert out.unit_status.name == "active"
    provided = app_data(out, "contrail-controller")
    assert provided[0] == provided[1]
    assert set(provided[0]["kubernetes-clusters"]) == {"blue", "green"}
    assert provided[0]["kubernetes-clusters"]["green"]["pod-subnets"] == ["10.40.0.0/16"]


def test_duplicate_cluster_names_block(ctx):
    relations = [peer(), analytics(), kubernetes("k8s", "k8s-a"), kubernetes("k8s", "k8s-b")]
    out = ctx.run(ctx.on.config_changed(), ready_state(relations=relations))
    assert "kubernetes cluster name k8s is used by both k8s-a and k8s-b" in out.unit_status.message


def test_apply_defaults_recreates_the_provisioners(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state())
    ctx.run(ctx.on.action("apply-defaults"), out)
    assert ctx.action_results == {"recreated": "config-provisioner,control-provisioner"}


def test_apply_defaults_on_a_unit_that_is_not_ready_fails(ctx):
    with pytest.raises(testing.ActionFailed, match="not ready"):
        ctx.run(ctx.on.action("apply-defaults"), ready_state(config={}))


def test_analyticsdb_enables_the_analytics_extras(ctx, host):
    ctx.run(
        ctx.on.config_changed(),
        ready_state(relations=[peer(), analytics(), analyticsdb(), kubernetes()]),
    )
    env = env_of(host, "config-api")
    assert env["ANALYTICSDB_ENABLE"] == "true"
    assert env["ANALYTICSDB_NODES"] == "10.0.2.1"


RELATIONS = {
    "analytics": analytics,
    "analyticsdb": analyticsdb,
    "kubernetes": kubernetes,
    "agents": agents,
}


@pytest.mark.parametrize("order", list(itertools.permutations(RELATIONS)))
def test_any_relation_order_converges_to_the_same_deployment(ctx, engine, order):
    state = testing.State(leader=True, config={"image-tag": TAG}, relations=[peer()])
    state = ctx.run(ctx.on.install(), state)
    for name in order:
        relation = RELATIONS[name]()
        state = dataclasses.replace(state, relations=[*state.relations, relation])
        state = ctx.run(ctx.on.relation_created(relation), state)
        state = ctx.run(ctx.on.relation_changed(state.get_relation(relation.id)), state)
    assert state.unit_status.name == "active"
    assert set(engine.status(PROJECT)) == ALL_CONTAINERS
    assert all(s.state == ContainerState.RUNNING for s in engine.status(PROJECT).values())
    provided = app_data(state, "contrail-controller")
    assert provided[0]["analyticsdb-ips"] == ["10.0.2.1"]


def test_relation_broken_keeps_running_and_says_what_is_missing(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state())
    relation = out.get_relations("contrail-analytics")[0]
    broken = ctx.run(ctx.on.relation_broken(relation), out)
    assert "missing relation: contrail-analytics" in broken.unit_status.message
    assert len(engine.status(PROJECT)) == len(ALL_CONTAINERS), "a lost relation does not tear down"
