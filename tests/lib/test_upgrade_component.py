"""`StagedUpgrade` through ops.testing: the plan and the acknowledgements in real peer databags,
beside the member list, read back by another unit and by a new leader."""

from __future__ import annotations

import dataclasses
import json
from typing import ClassVar, Optional

import ops
import pytest
from ops import testing

from contrail_common.testing import JUJU_UNIT_KEYS, encode
from contrail_common.upgrade import actions as upgrade_actions
from contrail_common.upgrade.component import StagedUpgrade, UpgradeEvaluation
from contrail_common.upgrade.fields import SessionCounts
from contrail_common.upgrade.stages import CONTROLLER

OLD, NEW = "R24.1-2025-01-10", "R24.1-2025-03-01"
PEER = "controller-cluster"
UNITS = [f"upgrade-probe/{n}" for n in range(3)]
META = {"name": "upgrade-probe", "peers": {PEER: {"interface": "contrail-cluster"}}}
CONFIG = {"options": {"image-tag": {"type": "string", "default": OLD}}}
ACTIONS = {"upgrade": {}, "cancel-upgrade": {}}


class UpgradeProbeCharm(ops.CharmBase):
    """The component alone: every hook evaluates, the leader steps, the unit reports."""

    seen: ClassVar[Optional[UpgradeEvaluation]] = None
    now: ClassVar[float] = 1_000_000.0

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self.upgrade = StagedUpgrade(self, CONTROLLER, PEER, clock=lambda: UpgradeProbeCharm.now)
        framework.observe(self.on.config_changed, self._reconcile)
        framework.observe(self.on[PEER].relation_changed, self._reconcile)
        framework.observe(self.on.upgrade_action, self._on_upgrade)
        framework.observe(self.on.cancel_upgrade_action, self._on_cancel)

    def _members(self) -> list[str]:
        relation = self.model.get_relation(PEER)
        units = {self.unit, *(relation.units if relation else ())}
        return sorted(unit.name for unit in units)

    def _target(self) -> str:
        return str(self.config["image-tag"])

    def _reconcile(self, _event: ops.EventBase) -> None:
        target = self._target()
        if self.unit.is_leader():
            self.upgrade.lead(target, self._members())
        evaluation = self.upgrade.evaluate(target)
        UpgradeProbeCharm.seen = evaluation  # ops.testing may run a subclass
        self.upgrade.report(
            evaluation,
            applied=True,
            prepared=evaluation.pull,
            sessions=SessionCounts(bgp_up=2, bgp_total=2, xmpp_up=4, xmpp_total=4),
        )

    def _on_upgrade(self, event: ops.ActionEvent) -> None:
        try:
            event.set_results({"result": self.upgrade.begin(self._target(), self._members())})
        except upgrade_actions.Refused as refused:
            event.fail(str(refused))

    def _on_cancel(self, event: ops.ActionEvent) -> None:
        try:
            event.set_results({"result": self.upgrade.cancel(self._target(), self._members())})
        except upgrade_actions.Refused as refused:
            event.fail(str(refused))


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(UpgradeProbeCharm, meta=META, config=CONFIG, actions=ACTIONS)


def _peer(app: dict[str, str], units: Optional[dict[int, dict[str, str]]] = None):
    return testing.PeerRelation(PEER, local_app_data=app, peers_data=units or {1: {}, 2: {}})


def _decoded(data) -> dict:
    return {key: json.loads(value) for key, value in data.items() if key not in JUJU_UNIT_KEYS}


def test_the_leader_plans_beside_the_member_list_and_reports_its_own_pull(ctx):
    members = encode(members=[{"unit": u, "address": f"10.0.0.1{n}"} for n, u in enumerate(UNITS)])
    recorded = encode(upgrade_group_tags=dict.fromkeys(CONTROLLER.groups, OLD))
    state = testing.State(
        leader=True, config={"image-tag": NEW}, relations={_peer({**members, **recorded})}
    )
    out = ctx.run(ctx.on.config_changed(), state)
    peer = out.get_relations(PEER)[0]
    app = _decoded(peer.local_app_data)
    assert app["members"] == json.loads(members["members"])  # untouched
    assert (app["upgrade-state"], app["upgrade-stage"], app["upgrade-to"]) == ("active", 0, NEW)
    assert _decoded(peer.local_unit_data)["upgrade-prepared"] == NEW
    assert UpgradeProbeCharm.seen is not None
    assert UpgradeProbeCharm.seen.notes == [f"upgrade to {NEW} pending"]
    assert UpgradeProbeCharm.seen.tag_for("webui") == OLD


def _prepared_plan(**changes) -> dict[str, str]:
    fields = {
        "upgrade_state": "active",
        "upgrade_serial": 1,
        "upgrade_from": OLD,
        "upgrade_to": NEW,
        "upgrade_stage": 0,
        "upgrade_stages": [0, 1, 2, 3, 4],
        "upgrade_since": 1_000_000.0,
        "upgrade_group_tags": dict.fromkeys(CONTROLLER.groups, OLD),
    }
    fields.update(changes)
    return encode(**fields)


def test_the_upgrade_action_starts_a_prepared_plan_and_the_next_step_stops_the_config_plane(ctx):
    prepared = encode(upgrade_prepared=NEW)
    state = testing.State(
        leader=True,
        config={"image-tag": NEW},
        relations={_peer(_prepared_plan(), {1: prepared, 2: prepared})},
    )
    # This unit has not reported its pull yet: refused, naming it.
    with pytest.raises(testing.ActionFailed, match="not on upgrade-probe/0 yet"):
        ctx.run(ctx.on.action("upgrade"), state)
    relation = _peer(_prepared_plan(), {1: prepared, 2: prepared})
    relation = dataclasses.replace(relation, local_unit_data=prepared)
    state = testing.State(leader=True, config={"image-tag": NEW}, relations={relation})
    out = ctx.run(ctx.on.action("upgrade"), state)
    assert ctx.action_results == {"result": f"started upgrade {OLD}→{NEW}"}
    out = ctx.run(ctx.on.config_changed(), out)
    peer = out.get_relations(PEER)[0]
    assert _decoded(peer.local_app_data)["upgrade-stage"] == 1
    seen = UpgradeProbeCharm.seen
    assert seen is not None and seen.tag_for("config") is None and seen.tag_for("control") == OLD
    assert seen.status == ops.MaintenanceStatus(f"upgrade {OLD}→{NEW}, stage 1/4")
    unit = _decoded(peer.local_unit_data)
    assert (unit["upgrade-serial"], unit["upgrade-acked-stage"]) == (1, 1)


def test_a_new_leader_reads_the_lock_and_acknowledgements_and_goes_on(ctx):
    # Unit 0 went first; unit 1 held the lock and acknowledged with its sessions back when
    # the leader changed: unit 0 leads now.
    plan = _prepared_plan(
        upgrade_stage=3,
        upgrade_go=True,
        upgrade_holder=UNITS[1],
        upgrade_done=[UNITS[0]],
        upgrade_xmpp_baseline=12,
        upgrade_group_tags={"config": NEW, "control": OLD, "config-database": OLD, "node": OLD},
    )
    sessions = {"bgp_up": 2, "bgp_total": 2, "xmpp_up": 4, "xmpp_total": 4}
    holder = encode(
        upgrade_serial=1, upgrade_acked_stage=3, upgrade_prepared=NEW, upgrade_sessions=sessions
    )
    waiting = encode(
        upgrade_serial=1, upgrade_acked_stage=2, upgrade_prepared=NEW, upgrade_sessions=sessions
    )
    relation = testing.PeerRelation(
        PEER,
        local_app_data=plan,
        local_unit_data=holder,
        peers_data={1: holder, 2: waiting},
    )
    state = testing.State(leader=True, config={"image-tag": NEW}, relations={relation})
    out = ctx.run(ctx.on.config_changed(), state)
    app = _decoded(out.get_relations(PEER)[0].local_app_data)
    assert app["upgrade-holder"] == UNITS[2]
    assert app["upgrade-done"] == [UNITS[0], UNITS[1]]


def test_cancel_on_the_leader_is_written_and_said(ctx):
    plan = _prepared_plan(upgrade_stage=2, upgrade_go=True)
    state = testing.State(leader=True, config={"image-tag": NEW}, relations={_peer(plan)})
    out = ctx.run(ctx.on.action("cancel-upgrade"), state)
    assert ctx.action_results["result"].startswith(f"upgrade {OLD}→{NEW} halts after this stage")
    assert _decoded(out.get_relations(PEER)[0].local_app_data)["upgrade-cancel"] is True


def test_a_malformed_plan_reads_as_none_until_the_leader_rewrites_it(ctx):
    state = testing.State(
        config={"image-tag": NEW},
        relations={_peer({"upgrade-stage": '"not a number"'})},
    )
    ctx.run(ctx.on.config_changed(), state)
    seen = UpgradeProbeCharm.seen
    assert seen is not None and seen.plan.upgrade_state == "idle"
    assert seen.tag_for("control") == NEW  # nothing recorded: what is configured
