"""A staged upgrade through the controller charm (ops.testing): the leader, unit 0, among three
units whose reports are written as they would write them.

GIVEN three controllers on OLD, WHEN image-tag becomes NEW, THEN each pulls ahead and nothing
moves until the upgrade action; then the config plane stops and starts everywhere, control
and the config database move one unit at a time, each released only once it is back.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Optional

import pytest
from charm import ContrailControllerCharm
from conftest import VERSION, analytics, encode, kubernetes
from controller import ControllerConfig, ControllerInputs, services
from ops import testing

from contrail_common.base_charm import Cluster
from contrail_common.containers import ExecResult
from contrail_common.testing import engine_with_images
from contrail_common.upgrade import status as upgrade_status
from contrail_common.upgrade.stages import CONTROLLER
from contrail_common.upgrade.upgrades import Upgrades

OLD, NEW = "R24.1-2025-01-10", "R24.1-2025-03-01"
PROJECT = "contrail-controller-0"
UNITS = [f"contrail-controller/{n}" for n in range(3)]
ADDRESSES = ["192.0.2.0", "10.0.0.11", "10.0.0.12"]  # unit 0's is ops.testing's binding
MEMBERS = [
    {"unit": u, "address": a, "data-address": a} for u, a in zip(UNITS, ADDRESSES, strict=True)
]
CONFIG_GROUP = {"config-api", "config-schema", "webui-web", "redis"}
RING = "".join(
    f"UN  {a}  1.4 MiB  256  ?  0f5f3ed2-7ed0-4b47-9f5b-1cb2b2a3f0e{n}  rack1\n"
    for n, a in enumerate(ADDRESSES)
)
RABBIT = json.dumps(
    {
        "disk_nodes": [f"contrail@juju-{n}" for n in range(3)],
        "running_nodes": [f"contrail@juju-{n}" for n in range(3)],
        "versions": {},
    }
)
ZK = "Zookeeper version: 3.7.1-a2fb, built on 2022-05-07\nMode: follower\nNode count: 4\n"
HEALTHY = {"bgp_up": 2, "bgp_total": 2, "xmpp_up": 4, "xmpp_total": 4}


def neighbors(peers: list[tuple[str, str]]) -> str:
    """A control node's introspect answer to BgpNeighborReq: (address, encoding) pairs, each
    Established."""
    items = "".join(
        f"<BgpNeighborResp><peer>{a}</peer><peer_address>{a}</peer_address>"
        f"<encoding>{e}</encoding><state>Established</state></BgpNeighborResp>"
        for a, e in peers
    )
    return f'<?xml version="1.0"?><BgpNeighborListResp><neighbors><list>{items}</list>' + (
        "</neighbors></BgpNeighborListResp>"
    )


def image_names(tag: str) -> set[str]:
    config = ControllerConfig.load({"image-tag": tag})
    cluster = Cluster("10.0.0.10", "10.0.0.10", [], 1)
    return {config.image(s.image) for s in services(config, cluster, ControllerInputs())}


@pytest.fixture
def engine():
    """Serves both tags; the databases answer their tools as a healthy cluster."""
    found = engine_with_images(image_names(OLD) | image_names(NEW), VERSION)
    found.script_exec(["nodetool", "status"], ExecResult(0, RING))
    found.script_exec(["rabbitmqctl", "cluster_status"], ExecResult(0, RABBIT))
    return found


@pytest.fixture(autouse=True)
def network(monkeypatch) -> dict[str, Any]:
    """Every control node's introspect lists its two BGP peers and four agents Established;
    every ZooKeeper is a follower. Tests change `pages` to say otherwise."""
    page = neighbors(
        [(a, "BGP") for a in ADDRESSES[1:]] + [(f"10.1.0.{n}", "XMPP") for n in range(4)]
    )
    found: dict[str, Any] = {"page": page, "asked": []}

    def fetch(url: str, timeout: float) -> str:
        found["asked"].append(url)
        return found["page"]

    monkeypatch.setattr(Upgrades, "fetch", staticmethod(fetch))

    def ask(address: str, port: int, word: str, timeout: float) -> str:
        return ZK.replace("follower", "leader") if address == ADDRESSES[0] else ZK

    monkeypatch.setattr(Upgrades, "ask", staticmethod(ask))
    return found


def peer(
    app: dict[str, str], own: Optional[dict[str, str]] = None, **units: dict[str, str]
) -> testing.PeerRelation:
    """The peer relation: the leader's data, this unit's, and units 1 and 2 (their addresses
    plus the upgrade fields given as `u1`, `u2`)."""
    peers = {
        n: {
            **encode(address=ADDRESSES[n], data_address=ADDRESSES[n]),
            **units.get(f"u{n}", {}),
        }
        for n in (1, 2)
    }
    return testing.PeerRelation(
        "controller-cluster",
        local_app_data={"members": json.dumps(MEMBERS), **app},
        local_unit_data=own or {},
        peers_data=peers,
    )


def state(tag: str, relation: testing.PeerRelation, **config: Any) -> testing.State:
    return testing.State(
        leader=True,
        config={"image-tag": tag, **config},
        relations=[relation, analytics(), kubernetes()],
    )


def again(out: testing.State, tag: str = NEW, **units) -> testing.State:
    """The state after `out`, with units 1 and 2 reporting `units` now."""
    (relation,) = [r for r in out.relations if r.endpoint == "controller-cluster"]
    fresh = peer(dict(relation.local_app_data), dict(relation.local_unit_data), **units)
    others = [r for r in out.relations if r.endpoint != "controller-cluster"]
    config = {**out.config, "image-tag": tag}
    return dataclasses.replace(out, relations=[fresh, *others], config=config)


def plan(out: testing.State) -> dict[str, Any]:
    (relation,) = [r for r in out.relations if r.endpoint == "controller-cluster"]
    return {k: json.loads(v) for k, v in relation.local_app_data.items()}


def own(out: testing.State) -> dict[str, Any]:
    (relation,) = [r for r in out.relations if r.endpoint == "controller-cluster"]
    return {k: json.loads(v) for k, v in relation.local_unit_data.items() if k.startswith("up")}


def tags(engine) -> dict[str, str]:
    """Each of the leader's containers -> the tag its image has."""
    return {
        c.spec.name: c.spec.image.rpartition(":")[2]
        for c in engine.containers.values()
        if c.labels.get("contrail-charms.project") == PROJECT
    }


def acked(
    stage: int,
    *,
    serial: int = 1,
    prepared: str = NEW,
    sessions: Optional[dict] = None,
    membership: Optional[dict] = None,
) -> dict[str, str]:
    """A unit's report: it applied `stage` of plan `serial`, with its readings."""
    return encode(
        upgrade_serial=serial,
        upgrade_acked_stage=stage,
        upgrade_prepared=prepared,
        upgrade_sessions=sessions,
        upgrade_membership=membership,
    )


def deployed_on_old(ctx) -> testing.State:
    """Three controllers on OLD, the plan recorded, the leader's containers running."""
    return ctx.run(ctx.on.config_changed(), state(OLD, peer({})))


def prepared(ctx) -> testing.State:
    """image-tag NEW, every unit holds its images."""
    out = ctx.run(ctx.on.config_changed(), again(deployed_on_old(ctx)))
    ready = encode(upgrade_prepared=NEW)
    return ctx.run(ctx.on.config_changed(), again(out, u1=ready, u2=ready))


# -- stage 0 -----------------------------------------------------------------------------------


def test_a_new_tag_pulls_ahead_and_changes_nothing_else(ctx, engine):
    out = deployed_on_old(ctx)
    assert set(tags(engine).values()) == {OLD}
    assert plan(out)["upgrade-group-tags"] == dict.fromkeys(CONTROLLER.groups, OLD)
    before = {c.spec.name: c.spec.spec_hash() for c in engine.containers.values()}

    out = ctx.run(ctx.on.config_changed(), again(out))
    assert {c.spec.name: c.spec.spec_hash() for c in engine.containers.values()} == before
    assert image_names(NEW) <= set(engine.images)  # pulled ahead
    assert (plan(out)["upgrade-state"], plan(out)["upgrade-stage"]) == ("active", 0)
    assert own(out)["upgrade-prepared"] == NEW
    assert out.unit_status == testing.ActiveStatus(f"Unit is ready; upgrade to {NEW} pending")
    assert out.app_status == testing.MaintenanceStatus(
        f"upgrade to {NEW} pending: images on 1/3 units (pulling on {UNITS[1]}, {UNITS[2]})"
    )


def test_once_every_unit_holds_the_images_the_leader_asks_for_the_action(ctx):
    out = prepared(ctx)
    assert out.app_status == testing.ActiveStatus(
        f"upgrade {OLD}→{NEW} ready on every unit: `juju run contrail-controller/leader "
        "pre-upgrade-check`, then `juju run contrail-controller/leader upgrade`"
    )
    assert plan(out)["upgrade-stage"] == 0


def test_a_single_controller_says_it_will_be_an_outage_and_waits_for_the_action(ctx, engine):
    engine.script_exec(["nodetool", "status"], ExecResult(0, RING.splitlines()[0]))
    one = {"disk_nodes": ["contrail@juju-0"], "running_nodes": ["contrail@juju-0"]}
    engine.script_exec(["rabbitmqctl", "cluster_status"], ExecResult(0, json.dumps(one)))
    alone = testing.PeerRelation(
        "controller-cluster", local_app_data={"members": json.dumps(MEMBERS[:1])}
    )
    out = ctx.run(ctx.on.config_changed(), state(OLD, alone))
    out = ctx.run(ctx.on.config_changed(), dataclasses.replace(out, config={"image-tag": NEW}))
    assert "with one unit it is an outage" in out.app_status.message
    assert "`juju run contrail-controller/leader upgrade` starts it" in out.app_status.message
    # Even with automatic progress: one unit never starts by itself.
    out = ctx.run(
        ctx.on.config_changed(),
        dataclasses.replace(out, config={"image-tag": NEW, "auto-upgrade": True}),
    )
    assert plan(out)["upgrade-stage"] == 0 and set(tags(engine).values()) == {OLD}
    # The action runs it through, the leader's own acknowledgements moving it on.
    out = ctx.run(ctx.on.action("upgrade"), out)
    assert ctx.action_results == {"result": f"started upgrade {OLD}→{NEW}"}
    assert set(tags(engine).values()) == {NEW}
    assert plan(out)["upgrade-state"] == "idle"
    assert plan(out)["upgrade-group-tags"] == dict.fromkeys(CONTROLLER.groups, NEW)


def test_automatic_progress_starts_once_every_unit_is_prepared(ctx, engine):
    out = prepared(ctx)
    ready = encode(upgrade_prepared=NEW)
    auto = dataclasses.replace(again(out, u1=ready, u2=ready), config={"image-tag": NEW})
    auto = dataclasses.replace(auto, config={"image-tag": NEW, "auto-upgrade": True})
    out = ctx.run(ctx.on.config_changed(), auto)
    assert plan(out)["upgrade-stage"] == 1
    assert not CONFIG_GROUP & set(tags(engine))


# -- the stages --------------------------------------------------------------------------------


def test_every_stage_in_order_with_the_lock_released_only_once_a_unit_is_back(
    ctx, engine, network
):
    out = prepared(ctx)
    out = ctx.run(ctx.on.action("upgrade"), out)
    # Stage 1: the config plane (web UI and redis with it) stops here, nothing else moves.
    assert plan(out)["upgrade-stage"] == 1
    assert not CONFIG_GROUP & set(tags(engine))
    assert tags(engine)["control-control"] == OLD
    assert out.unit_status == testing.MaintenanceStatus(f"upgrade {OLD}→{NEW}, stage 1/4")
    assert own(out)["upgrade-acked-stage"] == 1
    stopped = [s for s in engine.stops if s.name == "config-api"]
    assert stopped and stopped[-1].signal == "SIGTERM"

    # Stage 2 once the others have stopped theirs: the config plane on NEW.
    out = ctx.run(ctx.on.config_changed(), again(out, u1=acked(1), u2=acked(1)))
    assert plan(out)["upgrade-stage"] == 2
    assert tags(engine)["config-api"] == NEW and tags(engine)["control-control"] == OLD

    # Stage 3: control one unit at a time, the leader first; its sessions are back at once
    # here, so the lock passes to unit 1 in the same hook.
    out = ctx.run(
        ctx.on.config_changed(),
        again(out, u1=acked(2, sessions=HEALTHY), u2=acked(2, sessions=HEALTHY)),
    )
    assert plan(out)["upgrade-stage"] == 3
    assert tags(engine)["control-control"] == NEW
    assert (plan(out)["upgrade-holder"], plan(out)["upgrade-done"]) == (UNITS[1], [UNITS[0]])
    assert tags(engine)["configdb-cassandra"] == OLD

    # Unit 1 restarted but its BGP peers are not back: it keeps the lock.
    down = {**HEALTHY, "bgp_up": 0}
    out = ctx.run(
        ctx.on.config_changed(),
        again(out, u1=acked(3, sessions=down), u2=acked(2, sessions=HEALTHY)),
    )
    assert plan(out)["upgrade-holder"] == UNITS[1]
    assert "lock held by contrail-controller/1 (0/2 BGP peers Established)" in (
        out.app_status.message
    )
    out = ctx.run(
        ctx.on.config_changed(),
        again(out, u1=acked(3, sessions=HEALTHY), u2=acked(2, sessions=HEALTHY)),
    )
    assert plan(out)["upgrade-holder"] == UNITS[2]
    out = ctx.run(
        ctx.on.config_changed(),
        again(out, u1=acked(3, sessions=HEALTHY), u2=acked(3, sessions=HEALTHY)),
    )
    # Stage 4: the config database, the leader first; its membership reads back healthy.
    assert plan(out)["upgrade-stage"] == 4
    assert tags(engine)["configdb-cassandra"] == NEW
    assert plan(out)["upgrade-holder"] == UNITS[1]

    joining = {"ok": False, "detail": "Cassandra: 10.0.0.11 is UJ"}
    member = {"ok": True, "detail": ""}
    out = ctx.run(
        ctx.on.config_changed(), again(out, u1=acked(4, membership=joining), u2=acked(3))
    )
    assert plan(out)["upgrade-holder"] == UNITS[1]
    assert "Cassandra: 10.0.0.11 is UJ" in out.app_status.message
    out = ctx.run(ctx.on.config_changed(), again(out, u1=acked(4, membership=member), u2=acked(3)))
    assert plan(out)["upgrade-holder"] == UNITS[2]
    out = ctx.run(
        ctx.on.config_changed(),
        again(out, u1=acked(4, membership=member), u2=acked(4, membership=member)),
    )
    assert plan(out)["upgrade-state"] == "idle"
    assert plan(out)["upgrade-group-tags"] == dict.fromkeys(CONTROLLER.groups, NEW)
    assert set(tags(engine).values()) == {NEW}
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    (published,) = [
        {k: json.loads(v) for k, v in r.local_app_data.items()}
        for r in out.relations
        if r.endpoint == "contrail-analytics"
    ]
    assert (published["controller-version"], published["controller-upgrading-to"]) == (NEW, None)


def test_while_it_moves_the_controller_says_so_to_those_that_follow(ctx):
    """Analytics waits for controller-version to become the new tag; agents are refused while
    controller-upgrading-to is set."""
    out = ctx.run(ctx.on.action("upgrade"), prepared(ctx))
    for endpoint in ("contrail-analytics", "contrail-controller"):
        (published,) = [
            {k: json.loads(v) for k, v in r.local_app_data.items()}
            for r in out.relations
            if r.endpoint == endpoint
        ]
        assert published["controller-version"] == OLD
        assert published["controller-upgrading-to"] == NEW


def test_a_unit_that_does_not_acknowledge_holds_the_stage_and_is_named(ctx, engine):
    out = ctx.run(ctx.on.action("upgrade"), prepared(ctx))
    out = ctx.run(ctx.on.config_changed(), again(out, u1=acked(1), u2=acked(0)))
    assert plan(out)["upgrade-stage"] == 1
    assert out.app_status.message.endswith(f"waiting for {UNITS[2]}")
    # Half an hour later the leader says it is stuck, and on whom.
    later = again(out, u1=acked(1), u2=acked(0))
    (relation,) = [r for r in later.relations if r.endpoint == "controller-cluster"]
    since = plan(out)["upgrade-since"] - upgrade_status.STALL_AFTER - 60
    stale = dataclasses.replace(
        relation, local_app_data={**relation.local_app_data, "upgrade-since": json.dumps(since)}
    )
    others = [r for r in later.relations if r.endpoint != "controller-cluster"]
    out = ctx.run(ctx.on.update_status(), dataclasses.replace(later, relations=[stale, *others]))
    assert out.app_status.name == "blocked"
    assert f"no progress for 31 min: see {UNITS[2]}" in out.app_status.message


def test_a_unit_that_reports_an_error_blocks_the_stage_naming_it(ctx):
    out = ctx.run(ctx.on.action("upgrade"), prepared(ctx))
    error = encode(
        upgrade_serial=1, upgrade_error="cannot pull config-api: 401", upgrade_prepared=NEW
    )
    out = ctx.run(ctx.on.config_changed(), again(out, u1=acked(1), u2=error))
    assert out.app_status.name == "blocked"
    assert f"{UNITS[2]}: cannot pull config-api: 401" in out.app_status.message


def test_a_new_leader_takes_the_lock_up_from_the_relation(ctx, engine):
    """Unit 1 becomes leader while unit 0 holds the control lock, back with its sessions."""
    recorded = encode(
        upgrade_state="active", upgrade_serial=1, upgrade_from=OLD, upgrade_to=NEW,
        upgrade_stage=3, upgrade_stages=[0, 1, 2, 3, 4], upgrade_go=True,
        upgrade_holder=UNITS[0], upgrade_done=[], upgrade_xmpp_baseline=12,
        upgrade_since=1_000_000.0,
        upgrade_group_tags={"config": NEW, "control": OLD, "config-database": OLD, "node": OLD},
    )  # fmt: skip
    members = [{**m, "address": m["address"]} for m in MEMBERS]
    relation = testing.PeerRelation(
        "controller-cluster",
        local_app_data={"members": json.dumps(members), **recorded},
        local_unit_data=encode(address=ADDRESSES[1], data_address=ADDRESSES[1], **acked(2)),
        peers_data={
            0: {
                **encode(address=ADDRESSES[0], data_address=ADDRESSES[0]),
                **acked(3, sessions=HEALTHY),
            },
            2: {
                **encode(address=ADDRESSES[2], data_address=ADDRESSES[2]),
                **acked(2, sessions=HEALTHY),
            },
        },
    )
    new_leader = testing.Context(ContrailControllerCharm, unit_id=1)
    out = new_leader.run(
        new_leader.on.leader_elected(),
        testing.State(
            leader=True,
            config={"image-tag": NEW},
            relations=[relation, analytics(), kubernetes()],
        ),
    )
    # Unit 1 took the lock, restarted its control node and, back at once here, passed it on.
    assert plan(out)["upgrade-holder"] == UNITS[2]
    assert plan(out)["upgrade-done"] == [UNITS[0], UNITS[1]]
    assert tags(engine).get("control-control") is None  # another project: unit 1's
    unit1_tags = {
        c.spec.name: c.spec.image.rpartition(":")[2]
        for c in engine.containers.values()
        if c.labels.get("contrail-charms.project") == "contrail-controller-1"
    }
    assert unit1_tags["control-control"] == NEW and unit1_tags["config-api"] == NEW
    assert unit1_tags["configdb-cassandra"] == OLD


# -- actions -------------------------------------------------------------------------------------


def test_cancel_halts_at_the_stage_boundary_and_upgrade_resumes(ctx, engine):
    out = ctx.run(ctx.on.action("upgrade"), prepared(ctx))
    out = ctx.run(ctx.on.action("cancel-upgrade"), again(out, u1=acked(0), u2=acked(0)))
    assert ctx.action_results["result"].startswith(f"upgrade {OLD}→{NEW} halts after the next")
    out = ctx.run(ctx.on.config_changed(), again(out, u1=acked(1), u2=acked(1)))
    assert plan(out)["upgrade-stage"] == 2  # never halted between the stop and its start
    out = ctx.run(ctx.on.config_changed(), again(out, u1=acked(2), u2=acked(2)))
    assert plan(out)["upgrade-state"] == "halted"
    assert plan(out)["upgrade-stage"] == 3
    assert out.app_status.name == "blocked"
    assert "halted before stage 3/4 (control)" in out.app_status.message
    assert tags(engine)["control-control"] == OLD
    out = ctx.run(ctx.on.action("upgrade"), out)
    assert ctx.action_results["result"] == f"resumed upgrade {OLD}→{NEW} at stage 3/4 (control)"
    assert tags(engine)["control-control"] == NEW


def test_rollback_moves_back_only_what_moved(ctx, engine):
    out = ctx.run(ctx.on.action("upgrade"), prepared(ctx))
    out = ctx.run(ctx.on.config_changed(), again(out, u1=acked(1), u2=acked(1)))
    assert tags(engine)["config-api"] == NEW
    # image-tag back to OLD while the config plane starts on NEW: the stage ends, then halts.
    out = ctx.run(ctx.on.config_changed(), again(out, OLD, u1=acked(1), u2=acked(1)))
    assert plan(out)["upgrade-cancel"] is True
    out = ctx.run(ctx.on.config_changed(), again(out, OLD, u1=acked(2), u2=acked(2)))
    # The way back: a new plan to OLD, only the config plane's stages (control never moved).
    assert (plan(out)["upgrade-to"], plan(out)["upgrade-stages"]) == (OLD, [0, 1, 2])
    assert plan(out)["upgrade-serial"] == 2
    old_ready = encode(upgrade_prepared=OLD)
    out = ctx.run(ctx.on.config_changed(), again(out, OLD, u1=old_ready, u2=old_ready))
    out = ctx.run(ctx.on.action("upgrade"), out)
    assert not CONFIG_GROUP & set(tags(engine))
    out = ctx.run(
        ctx.on.config_changed(),
        again(out, OLD, u1=acked(1, serial=2, prepared=OLD), u2=acked(1, serial=2, prepared=OLD)),
    )
    out = ctx.run(
        ctx.on.config_changed(),
        again(out, OLD, u1=acked(2, serial=2, prepared=OLD), u2=acked(2, serial=2, prepared=OLD)),
    )
    assert plan(out)["upgrade-state"] == "idle"
    assert set(tags(engine).values()) == {OLD}


def test_the_actions_run_on_the_leader_only(ctx):
    out = prepared(ctx)
    with pytest.raises(testing.ActionFailed, match="run this on the leader"):
        ctx.run(ctx.on.action("upgrade"), dataclasses.replace(out, leader=False))


def test_pre_upgrade_check_reports_each_item_with_its_fix(ctx, network):
    out = prepared(ctx)
    ctx.run(ctx.on.action("pre-upgrade-check"), out)
    results = ctx.action_results
    assert results["result"] == "passed", results
    items = results["items"]
    assert items["units"] == "ok: 3 contrail-controller units: one can restart at a time"
    assert items["cassandra"] == "ok: 3 nodes Up and Normal"
    assert items["bgp"] == "ok: 6 BGP sessions Established"
    assert items["images"].startswith("ok: ")
    assert sorted(network["asked"])[0].startswith("http://10.0.0.11:8083/")
    # A control node whose introspect does not answer fails the check, naming the fix.
    network["page"] = "not xml <"
    ctx.run(ctx.on.action("pre-upgrade-check"), out)
    assert ctx.action_results["result"] == "failed"
    assert "introspect 8083 gave no answer" in ctx.action_results["items"]["bgp"]
    assert "fix: each control node must have its BGP peers" in ctx.action_results["items"]["bgp"]
