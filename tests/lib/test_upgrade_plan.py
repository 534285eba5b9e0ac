"""The rollout state machine (pure): every stage transition, a leader change mid-stage, a unit
that fails to acknowledge, cancel, rollback, a new tag mid-plan, the charms that follow."""

from __future__ import annotations

import re

import ops
import pytest
from upgrade_cluster import Deployment, healthy_sessions, roundtrip

from contrail_common.upgrade import actions as upgrade_actions
from contrail_common.upgrade import health
from contrail_common.upgrade import plan as upgrade_plan
from contrail_common.upgrade import status as upgrade_status
from contrail_common.upgrade import view as upgrade_view
from contrail_common.upgrade.fields import (
    ControlPlaneVersionFields,
    MemberHealth,
    UpgradePlanFields,
)
from contrail_common.upgrade.stages import (
    ANALYTICS,
    ANALYTICSDB,
    CONTROLLER,
    KUBERNETES_MASTER,
    ROLLOUTS,
    StageKind,
)

OLD, NEW, OTHER = "R24.1-2025-01-10", "R24.1-2025-03-01", "R24.1-2025-04-01"
UNITS = [f"contrail-controller/{n}" for n in range(3)]
GROUPS = {"config", "control", "config-database", "node"}


def _deployment(members=UNITS, rollout=CONTROLLER) -> Deployment:
    return Deployment(rollout, members, OLD)


def _prepared(deployment: Deployment, tag: str = NEW) -> Deployment:
    deployment.target = tag
    deployment.settle()
    return deployment


def _config_api_tags(snapshot) -> set:
    return {tags["config"] for tags in snapshot.values() if tags["config"] is not None}


def _check_invariants(deployment: Deployment) -> None:
    previous = None
    for snapshot in deployment.history:
        # The config API never runs two tags side by side.
        assert len(_config_api_tags(snapshot)) <= 1, snapshot
        if previous is not None:
            for group in ("control", "config-database"):
                moved = [u for u in snapshot if snapshot[u][group] != previous[u][group]]
                assert len(moved) <= 1, (group, moved)
        previous = snapshot


# -- recording and stage 0 -------------------------------------------------------------------


def test_the_first_look_records_what_runs_and_plans_nothing():
    deployment = _deployment()
    assert deployment.plan.upgrade_state == "idle"
    assert deployment.plan.upgrade_group_tags == dict.fromkeys(GROUPS, OLD)
    assert deployment.last_step.status is None
    assert upgrade_plan.unit_tags(CONTROLLER, deployment.plan, UNITS[0], OLD) == dict.fromkeys(
        GROUPS, OLD
    )


def test_a_new_tag_pulls_everywhere_and_moves_nothing_until_the_action():
    deployment = _deployment()
    deployment.target = NEW
    deployment.round()
    plan = deployment.plan
    assert (plan.upgrade_state, plan.upgrade_stage, plan.upgrade_from, plan.upgrade_to) == (
        "active", 0, OLD, NEW,
    )  # fmt: skip
    assert plan.upgrade_stages == [0, 1, 2, 3, 4]
    assert upgrade_plan.pull_tag(plan) == NEW
    status, notes = upgrade_status.unit_status(CONTROLLER, plan, UNITS[1])
    assert status is None and notes == [f"upgrade to {NEW} pending"]
    deployment.settle()
    assert deployment.plan.upgrade_stage == 0
    assert all(tags == dict.fromkeys(GROUPS, OLD) for tags in deployment.running.values())
    status = deployment.last_step.status
    assert isinstance(status, ops.ActiveStatus)
    assert status.message == (
        f"upgrade {OLD}→{NEW} ready on every unit: `juju run contrail-controller/leader "
        "pre-upgrade-check`, then `juju run contrail-controller/leader upgrade`"
    )


def test_the_leader_says_which_units_still_pull():
    deployment = _deployment()
    deployment.target = NEW
    deployment.lead()
    deployment.pull(UNITS[0])
    status = deployment.lead().status
    assert isinstance(status, ops.MaintenanceStatus)
    assert status.message == (
        f"upgrade to {NEW} pending: images on 1/3 units (pulling on {UNITS[1]}, {UNITS[2]})"
    )


def test_the_action_is_refused_until_every_unit_holds_the_images():
    deployment = _deployment()
    deployment.target = NEW
    deployment.lead()
    deployment.pull(UNITS[0])
    with pytest.raises(upgrade_actions.Refused, match="not on contrail-controller/1, contrail"):
        deployment.begin()


def test_nothing_to_upgrade_is_refused():
    with pytest.raises(
        upgrade_actions.Refused, match=f"nothing to upgrade: every unit runs {OLD}"
    ):
        _deployment().begin()


# -- the whole rollout -----------------------------------------------------------------------


def test_every_stage_in_order_with_no_mixed_config_api_and_one_database_down_at_most():
    deployment = _prepared(_deployment())
    assert deployment.begin() == f"started upgrade {OLD}→{NEW}"
    deployment.settle()
    assert deployment.visited[-6:] == [
        ("active", 0), ("active", 1), ("active", 2), ("active", 3), ("active", 4), ("idle", 0),
    ]  # fmt: skip
    assert deployment.plan.upgrade_group_tags == dict.fromkeys(GROUPS, NEW)
    assert all(tags == dict.fromkeys(GROUPS, NEW) for tags in deployment.running.values())
    assert upgrade_plan.control_plane_version(deployment.plan) == ControlPlaneVersionFields(
        controller_version=NEW
    )
    _check_invariants(deployment)


def test_the_config_plane_stops_everywhere_before_it_starts_anywhere():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.until(lambda d: d.plan.upgrade_stage == 2)
    stopped = [s for s in deployment.history if _config_api_tags(s) == set()]
    assert stopped, "the config plane was never stopped on every unit at once"
    assert all(tags["config"] is None for tags in stopped[0].values()) and all(
        tags["control"] == OLD for tags in stopped[0].values()
    )


def test_control_moves_one_unit_at_a_time_and_waits_for_its_sessions():
    deployment = _prepared(_deployment())
    deployment.begin()
    # The round that grants the lock also restarts the holder's control.
    deployment.until(lambda d: d.plan.upgrade_stage == 3 and d.plan.upgrade_holder is not None)
    assert deployment.plan.upgrade_holder == UNITS[0]
    assert deployment.running[UNITS[0]]["control"] == NEW
    assert {deployment.running[u]["control"] for u in UNITS[1:]} == {OLD}
    # Its BGP peers are not back yet: the lock stays.
    status = deployment.lead().status
    assert deployment.plan.upgrade_holder == UNITS[0]
    assert status == ops.MaintenanceStatus(
        f"upgrade {OLD}→{NEW}, stage 3/4 (control): lock held by {UNITS[0]} "
        "(it knows 0 of 2 BGP peers), 0/3 done"
    )
    deployment.round()  # the sessions come back
    assert deployment.plan.upgrade_holder == UNITS[0]
    deployment.round()  # ... and the lock passes on
    assert deployment.plan.upgrade_holder == UNITS[1]
    assert deployment.plan.upgrade_done == [UNITS[0]]
    assert upgrade_status.unit_status(CONTROLLER, deployment.plan, UNITS[2])[0] == (
        ops.MaintenanceStatus(f"upgrade {OLD}→{NEW}, stage 3/4 (waiting for its turn)")
    )
    assert upgrade_status.unit_status(CONTROLLER, deployment.plan, UNITS[1])[0] == (
        ops.MaintenanceStatus(f"upgrade {OLD}→{NEW}, stage 3/4 (holds the lock)")
    )
    assert upgrade_status.unit_status(CONTROLLER, deployment.plan, UNITS[0])[0] == (
        ops.MaintenanceStatus(f"upgrade {OLD}→{NEW}, stage 3/4 (done)")
    )


def test_the_lock_waits_for_the_xmpp_agents_to_come_back():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.until(lambda d: d.plan.upgrade_stage == 3 and d.plan.upgrade_holder is not None)
    assert deployment.plan.upgrade_xmpp_baseline == 12  # 4 sessions on each of 3 nodes
    deployment.round()  # the holder's BGP peers are back
    # ... but not every agent has reconnected.
    deployment._set(UNITS[2], sessions=healthy_sessions(3).model_copy(update={"xmpp_up": 1}))
    deployment.lead()
    assert deployment.plan.upgrade_holder == UNITS[0]
    assert "(9/12 XMPP sessions back)" in deployment.message


def test_the_config_database_passes_its_lock_only_to_a_member_again():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.until(lambda d: d.plan.upgrade_stage == 4 and d.plan.upgrade_holder is not None)
    deployment.lead()
    assert deployment.message.endswith(f"lock held by {UNITS[0]} (Cassandra: joining), 0/3 done")
    deployment.round()
    assert deployment.plan.upgrade_holder == UNITS[0]
    deployment.round()
    assert deployment.plan.upgrade_holder == UNITS[1]


# -- a leader change, a charm restart --------------------------------------------------------


def test_a_new_leader_takes_the_plan_up_where_it_was():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.until(lambda d: d.plan.upgrade_stage == 3 and d.plan.upgrade_holder == UNITS[1])
    before = deployment.plan
    # Another unit leads now: its step reads the same databags and changes nothing.
    assert upgrade_plan.lead(deployment.view()).plan == before
    # ... nor does it when it runs twice (a charm restart between hooks).
    again = upgrade_plan.lead(deployment.view())
    assert (
        upgrade_plan.lead(
            upgrade_view.LeaderView(
                **{**deployment.view().__dict__, "plan": roundtrip(again.plan)}
            )
        ).plan
        == before
    )
    deployment.settle()
    assert deployment.plan.upgrade_state == "idle"
    assert deployment.plan.upgrade_group_tags == dict.fromkeys(GROUPS, NEW)
    _check_invariants(deployment)


def test_the_departed_lock_holder_lets_the_next_unit_go():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.until(lambda d: d.plan.upgrade_stage == 3 and d.plan.upgrade_holder == UNITS[1])
    deployment.members.remove(UNITS[1])  # the leader dropped it from its member list
    deployment.lead()
    assert deployment.plan.upgrade_holder == UNITS[2]
    assert deployment.plan.upgrade_done == [UNITS[0]]


# -- a unit that does not acknowledge ------------------------------------------------------


def test_a_unit_that_does_not_acknowledge_holds_the_stage_and_is_named():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.stuck.add(UNITS[2])
    deployment.until(lambda d: d.plan.upgrade_stage == 1)
    for _ in range(3):
        deployment.round()
    assert deployment.plan.upgrade_stage == 1
    status = deployment.lead().status
    assert status == ops.MaintenanceStatus(
        f"upgrade {OLD}→{NEW}, stage 1/4 (config-stop): waiting for {UNITS[2]}"
    )
    deployment.now += upgrade_status.STALL_AFTER
    status = deployment.lead().status
    assert isinstance(status, ops.BlockedStatus)
    assert re.search(rf"no progress for \d+ min: see {UNITS[2]} in juju status", status.message)
    deployment.stuck.clear()
    deployment.settle()
    assert deployment.plan.upgrade_state == "idle"
    _check_invariants(deployment)


def test_a_unit_that_reports_an_error_blocks_the_leader_naming_it():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.until(lambda d: d.plan.upgrade_stage == 1)
    deployment.failing[UNITS[1]] = "pull of opensdn/contrail-controller-config-api failed"
    deployment.until(lambda d: d.plan.upgrade_stage == 2)
    deployment.round()
    status = deployment.lead().status
    assert isinstance(status, ops.BlockedStatus)
    assert status.message == (
        f"upgrade {OLD}→{NEW}, stage 2/4 (config-start): {UNITS[1]}: pull of "
        "opensdn/contrail-controller-config-api failed (the unit retries on its next hook; "
        "`juju run contrail-controller/leader cancel-upgrade` halts at the stage boundary)"
    )
    assert deployment.plan.upgrade_stage == 2
    deployment.failing.clear()
    deployment.settle()
    assert deployment.plan.upgrade_state == "idle"


def test_an_acknowledgement_of_an_earlier_plan_does_not_count():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.until(lambda d: d.plan.upgrade_stage == 2)
    plan = deployment.plan
    stale = deployment.units[UNITS[0]].model_copy(
        update={"upgrade_serial": plan.upgrade_serial - 1, "upgrade_acked_stage": 4}
    )
    assert not upgrade_view.acknowledged(stale, plan)


# -- cancel and rollback -----------------------------------------------------------------------


def test_cancel_halts_at_the_end_of_the_stage_and_upgrade_resumes():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.until(lambda d: d.plan.upgrade_stage == 3 and d.plan.upgrade_holder == UNITS[1])
    message = deployment.cancel()
    assert message == (
        f"upgrade {OLD}→{NEW} halts after this stage (stage 3/4 (control)); `juju run "
        f"contrail-controller/leader upgrade` resumes it, image-tag={OLD} rolls back"
    )
    deployment.settle()
    plan = deployment.plan
    assert (plan.upgrade_state, plan.upgrade_stage) == ("halted", 4)
    assert plan.upgrade_group_tags == {
        "config": NEW, "control": NEW, "config-database": OLD, "node": OLD,
    }  # fmt: skip
    status = deployment.last_step.status
    assert status == ops.BlockedStatus(
        f"upgrade {OLD}→{NEW} halted before stage 4/4 (config-database): `juju run "
        f"contrail-controller/leader upgrade` resumes it, image-tag={OLD} rolls back"
    )
    assert upgrade_status.unit_status(CONTROLLER, plan, UNITS[0]) == (
        None,
        [f"upgrade {OLD}→{NEW} halted before stage 4/4 (config-database)"],
    )
    assert upgrade_plan.control_plane_version(plan).controller_version is None
    assert deployment.begin() == f"resumed upgrade {OLD}→{NEW} at stage 4/4 (config-database)"
    deployment.settle()
    assert deployment.plan.upgrade_state == "idle"
    assert deployment.plan.upgrade_group_tags == dict.fromkeys(GROUPS, NEW)
    _check_invariants(deployment)


def test_cancel_during_the_config_stop_halts_only_once_the_config_plane_runs_again():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.until(lambda d: d.plan.upgrade_stage == 1)
    assert "halts after the next stage" in deployment.cancel()
    deployment.settle()
    assert (deployment.plan.upgrade_state, deployment.plan.upgrade_stage) == ("halted", 3)
    assert all(tags["config"] == NEW for tags in deployment.running.values())


def test_cancel_before_anything_moved_halts_at_once():
    deployment = _prepared(_deployment())
    assert deployment.cancel() == f"upgrade {OLD}→{NEW} cancelled before anything moved"
    deployment.settle()
    assert deployment.plan.upgrade_state == "halted"
    assert all(tags == dict.fromkeys(GROUPS, OLD) for tags in deployment.running.values())
    with pytest.raises(upgrade_actions.Refused, match="no upgrade is running"):
        deployment.cancel()


def test_rollback_of_a_halted_upgrade_moves_back_only_what_moved():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.until(lambda d: d.plan.upgrade_stage == 3 and d.plan.upgrade_holder == UNITS[0])
    deployment.cancel()
    deployment.settle()
    assert deployment.plan.upgrade_state == "halted"
    deployment.target = OLD  # the operator sets the previous tag back
    deployment.settle()
    plan = deployment.plan
    assert (plan.upgrade_state, plan.upgrade_from, plan.upgrade_to) == ("active", NEW, OLD)
    assert plan.upgrade_stages == [0, 1, 2, 3]  # the config database never moved
    assert deployment.begin() == f"started upgrade {NEW}→{OLD}"
    deployment.settle()
    assert deployment.plan.upgrade_state == "idle"
    assert all(tags == dict.fromkeys(GROUPS, OLD) for tags in deployment.running.values())
    assert deployment.visited[-5:] == [
        ("active", 0), ("active", 1), ("active", 2), ("active", 3), ("idle", 0),
    ]  # fmt: skip
    _check_invariants(deployment)


def test_rollback_after_a_finished_upgrade_takes_the_same_path():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.settle()
    deployment.target = OLD
    deployment.settle()
    assert deployment.plan.upgrade_stages == [0, 1, 2, 3, 4]
    assert deployment.plan.upgrade_serial == 2
    deployment.begin()
    deployment.settle()
    assert all(tags == dict.fromkeys(GROUPS, OLD) for tags in deployment.running.values())
    _check_invariants(deployment)


def test_a_new_tag_mid_plan_halts_at_the_boundary_then_plans_for_it():
    deployment = _prepared(_deployment())
    deployment.begin()
    deployment.until(lambda d: d.plan.upgrade_stage == 3 and d.plan.upgrade_holder == UNITS[1])
    deployment.target = OTHER
    deployment.round()
    assert deployment.plan.upgrade_cancel
    assert deployment.message.endswith("; halting at the stage boundary")
    deployment.settle()
    plan = deployment.plan
    assert (plan.upgrade_state, plan.upgrade_from, plan.upgrade_to) == ("active", NEW, OTHER)
    assert plan.upgrade_stage == 0 and not plan.upgrade_go


def test_a_tag_set_back_before_the_action_drops_the_plan():
    deployment = _prepared(_deployment())
    deployment.target = OLD
    deployment.settle()
    assert deployment.plan.upgrade_state == "idle"
    assert deployment.last_step.status is None


# -- one unit, automatic progress ----------------------------------------------------------------


def test_one_controller_says_plainly_it_is_an_outage_and_waits_for_the_action():
    deployment = _deployment(members=UNITS[:1])
    deployment.auto = True  # never automatic on one unit
    _prepared(deployment)
    assert deployment.plan.upgrade_stage == 0
    status = deployment.last_step.status
    assert status == ops.ActiveStatus(
        f"upgrade {OLD}→{NEW} ready; with one unit it is an outage (config API, control and "
        "databases stop): `juju run contrail-controller/leader upgrade` starts it"
    )
    deployment.begin()
    deployment.settle()
    assert deployment.running[UNITS[0]] == dict.fromkeys(GROUPS, NEW)


def test_automatic_progress_starts_once_every_unit_is_prepared():
    deployment = _deployment()
    deployment.auto = True
    _prepared(deployment)
    assert deployment.plan.upgrade_state == "idle"
    assert deployment.plan.upgrade_group_tags == dict.fromkeys(GROUPS, NEW)
    _check_invariants(deployment)


# -- the charms that follow the controller ------------------------------------------------------


@pytest.mark.parametrize("rollout", [ANALYTICS, ANALYTICSDB, KUBERNETES_MASTER])
def test_followers_wait_for_the_controller_to_run_the_tag(rollout):
    units = [f"{rollout.charm}/{n}" for n in range(3)]
    deployment = Deployment(rollout, units, OLD)
    deployment.controller = ControlPlaneVersionFields(
        controller_version=OLD, controller_upgrading_to=NEW
    )
    _prepared(deployment)
    assert deployment.plan.upgrade_stage == 0
    assert deployment.last_step.status == ops.WaitingStatus(
        f"upgrade to {NEW} pending: waiting for contrail-controller to run it"
    )
    with pytest.raises(upgrade_actions.Refused, match="follows the controller"):
        deployment.begin()
    deployment.controller = ControlPlaneVersionFields(controller_version=NEW)
    deployment.settle()
    assert deployment.plan.upgrade_state == "idle"
    assert all(set(tags.values()) == {NEW} for tags in deployment.running.values())
    if rollout is ANALYTICSDB:
        _check_one_at_a_time(deployment, "database")


def _check_one_at_a_time(deployment: Deployment, group: str) -> None:
    previous = None
    for snapshot in deployment.history:
        if previous is not None:
            moved = [u for u in snapshot if snapshot[u][group] != previous[u][group]]
            assert len(moved) <= 1
        previous = snapshot


def test_unit_tags_follow_the_stage_in_progress():
    plan = UpgradePlanFields(
        upgrade_state="active",
        upgrade_serial=3,
        upgrade_from=OLD,
        upgrade_to=NEW,
        upgrade_stage=3,
        upgrade_stages=[0, 1, 2, 3, 4],
        upgrade_holder=UNITS[1],
        upgrade_done=[UNITS[0]],
        upgrade_group_tags={"config": NEW, "control": OLD, "config-database": OLD, "node": OLD},
    )
    tags = {unit: upgrade_plan.unit_tags(CONTROLLER, plan, unit, NEW)["control"] for unit in UNITS}
    assert tags == {UNITS[0]: NEW, UNITS[1]: NEW, UNITS[2]: OLD}
    assert upgrade_plan.stage_to_acknowledge(CONTROLLER, plan, UNITS[1]) == 3
    assert upgrade_plan.stage_to_acknowledge(CONTROLLER, plan, UNITS[2]) is None
    stopping = plan.model_copy(update={"upgrade_stage": 1, "upgrade_holder": None})
    assert upgrade_plan.unit_tags(CONTROLLER, stopping, UNITS[2], NEW)["config"] is None
    assert upgrade_plan.stage_to_acknowledge(CONTROLLER, stopping, UNITS[2]) == 1


def test_membership_is_reported_by_the_unit_not_guessed():
    assert health.membership_back(None) == (
        False, "it has not reported its membership yet",
    )  # fmt: skip
    assert health.membership_back(MemberHealth(ok=True)) == (True, "")


def test_a_one_at_a_time_stage_grants_its_lock_in_the_step_that_begins_it():
    deployment = _prepared(_deployment())
    deployment.begin()
    for _ in range(40):
        deployment.round()
        plan = deployment.plan
        if plan.upgrade_state == "active" and plan.upgrade_stage in (3, 4):
            assert plan.upgrade_holder is not None, plan
            assert "lock held by None" not in deployment.message
        if plan.upgrade_state == "idle":
            break
    assert deployment.plan.upgrade_state == "idle"


def test_the_action_waits_for_the_leader_to_plan_a_changed_tag():
    deployment = _prepared(_deployment())
    deployment.target = OTHER
    with pytest.raises(upgrade_actions.Refused, match=f"image-tag is now {OTHER}, not {NEW}"):
        deployment.begin()


@pytest.mark.parametrize("rollout", list(ROLLOUTS.values()), ids=list(ROLLOUTS))
def test_every_group_is_moved_by_exactly_one_stage_after_prepare(rollout):
    assert rollout.stages[0].kind == StageKind.PREPARE
    for group in rollout.groups:
        moving = [
            stage.name
            for stage in rollout.stages
            if group in stage.groups and stage.kind != StageKind.STOP_ALL
        ]
        assert len(moving) == 1, (rollout.charm, group, moving)
    # A stop is always followed by the start of the same groups.
    for number, stage in enumerate(rollout.stages):
        if stage.kind == StageKind.STOP_ALL:
            following = rollout.stages[number + 1]
            assert (following.kind, following.groups) == (StageKind.START_ALL, stage.groups)
    with pytest.raises(KeyError, match="no upgrade group for container role 'nope'"):
        rollout.group("nope")
