"""The rollout as a pure state machine: the leader's step, each unit's tags, the two actions.

Everything it needs is in the relations: the leader's plan (`UpgradePlanFields`) and each
unit's report (`UpgradeUnitFields`). `lead()` is a function of those, the configured tag, the
member list and the time, so a new leader, or the same one after a charm restart, takes the
plan up exactly where it was, and calling it again with what it returned changes nothing.

A plan goes: stage 0 (every unit pulls the new images) until the operator's go, then each
stage in turn; a stage is done when every member acknowledged it (all-at-once stages) or when
every member has held the lock and passed it on (one-at-a-time stages). `cancel` halts at the
next stage boundary; a new image-tag halts the running plan the same way and then plans the
way to the new tag, which for the previous tag (a rollback) runs only the stages whose
containers had moved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import ops

from . import health
from .fields import ControlPlaneVersionFields, UpgradePlanFields, UpgradeUnitFields
from .stages import Release, Rollout, Stage, StageKind

# A stage that has not moved for this long is reported Blocked, naming who holds it up.
STALL_AFTER = 30 * 60


class Refused(Exception):
    """An action that cannot run now; `str()` says why and what to do."""


@dataclass(frozen=True)
class LeaderView:
    """What the leader reads before its step."""

    rollout: Rollout
    plan: UpgradePlanFields
    target: str  # the configured image-tag
    members: Sequence[str]  # the leader's ordered member list
    units: Mapping[str, Optional[UpgradeUnitFields]]
    now: float
    app: str = ""
    # The automatic-progress option: start once every unit is prepared (never on one unit,
    # where the upgrade is an outage and must be asked for).
    auto: bool = False
    # What the controller publishes (charms that follow it).
    controller: Optional[ControlPlaneVersionFields] = None


@dataclass(frozen=True)
class Step:
    plan: UpgradePlanFields
    status: Optional[ops.StatusBase]  # the application's status; None: nothing to say


# -- the leader's step ---------------------------------------------------------------------


def lead(view: LeaderView) -> Step:
    plan = _recorded(view)
    if plan.upgrade_state == "active":
        plan = _follow_target(view, plan)
    # A stage that completes lets the next one begin in the same step (a one-at-a-time stage
    # grants its lock at once); each pass moves at most one stage, so this ends.
    for _ in range(len(view.rollout.stages) + 1):
        if plan.upgrade_state != "active":
            break
        moved = _progress(view, plan)
        if moved == plan:
            break
        plan = moved
    if plan.upgrade_state in ("idle", "halted"):
        plan = _plan_for_target(view, plan)
    return Step(plan, app_status(view, plan))


def _update(plan: UpgradePlanFields, **changes: object) -> UpgradePlanFields:
    changes = {f"upgrade_{key}": value for key, value in changes.items()}
    return plan.model_copy(update=changes)


def _recorded(view: LeaderView) -> UpgradePlanFields:
    """Every group has a recorded tag; the first time, what is configured runs everywhere."""
    tags = dict(view.plan.upgrade_group_tags)
    missing = [group for group in view.rollout.groups if group not in tags]
    if not missing:
        return view.plan
    base = _common(tags.values()) or view.plan.upgrade_from or view.target
    tags.update({group: base for group in missing})
    return _update(view.plan, group_tags=tags)


def _follow_target(view: LeaderView, plan: UpgradePlanFields) -> UpgradePlanFields:
    """A new image-tag while a plan runs: an untouched plan is dropped, a moving one halts at
    the next stage boundary (then `_plan_for_target` plans the way to the new tag)."""
    if plan.upgrade_to == view.target:
        return plan
    if plan.upgrade_stage == 0:
        return _update(plan, state="idle", go=False, cancel=False, stages=[])
    return _update(plan, cancel=True)


def _plan_for_target(view: LeaderView, plan: UpgradePlanFields) -> UpgradePlanFields:
    if plan.upgrade_state == "halted" and plan.upgrade_to == view.target:
        return plan  # waits for the upgrade action to resume it
    tags = plan.upgrade_group_tags
    needed = [
        number
        for number, stage in enumerate(view.rollout.stages)
        if number and any(tags.get(group) != view.target for group in stage.groups)
    ]
    if not needed:
        if plan.upgrade_state == "halted":
            return _update(plan, state="idle", stages=[], go=False, cancel=False)
        return plan
    fresh = {
        "state": "active",
        "serial": plan.upgrade_serial + 1,
        "from": _from(plan, view.target),
        "to": view.target,
        "stage": 0,
        "stages": [0, *needed],
        "go": False,
        "cancel": False,
        "holder": None,
        "done": [],
        "xmpp_baseline": None,
        "since": view.now,
    }
    return _update(plan, **fresh)


def _from(plan: UpgradePlanFields, target: str) -> str:
    """What the deployment runs, for "upgrade <from>→<to>": the common tag, else (a halted
    plan) the tag it was moving to, else the commonest."""
    tags = list(plan.upgrade_group_tags.values())
    common = _common(tags)
    if common:
        return common
    if plan.upgrade_to in tags and plan.upgrade_to != target:
        return plan.upgrade_to
    return Counter(tags).most_common(1)[0][0]


def _progress(view: LeaderView, plan: UpgradePlanFields) -> UpgradePlanFields:
    stage = view.rollout.stages[plan.upgrade_stage]
    if stage.kind == StageKind.PREPARE:
        if plan.upgrade_cancel:
            return _update(plan, state="halted", go=False, cancel=False)  # nothing moved
        if unprepared(view, plan) or not _go(view, plan):
            return plan
        return _complete(view, plan)
    if stage.kind in (StageKind.STOP_ALL, StageKind.START_ALL):
        if waiting_for(view, plan):
            return plan
        return _complete(view, plan)
    return _one_at_a_time(view, plan, stage)


def _go(view: LeaderView, plan: UpgradePlanFields) -> bool:
    if view.rollout.follows_controller:
        return (
            view.controller is not None and view.controller.controller_version == plan.upgrade_to
        )
    return plan.upgrade_go or (view.auto and len(view.members) > 1)


def _one_at_a_time(view: LeaderView, plan: UpgradePlanFields, stage: Stage) -> UpgradePlanFields:
    done = list(plan.upgrade_done)
    holder = plan.upgrade_holder if plan.upgrade_holder in view.members else None
    if holder is not None:
        if not lock_released(view, plan, stage)[0]:
            return plan
        done.append(holder)
    remaining = [member for member in view.members if member not in done]
    if not remaining:
        return _complete(view, _update(plan, done=done, holder=None))
    baseline = None
    if stage.release == Release.SESSIONS:
        baseline = health.xmpp_sum(_sessions(view, view.members))
    return _update(plan, holder=remaining[0], done=done, xmpp_baseline=baseline, since=view.now)


def _complete(view: LeaderView, plan: UpgradePlanFields) -> UpgradePlanFields:
    """The stage in progress is done everywhere: record what moved, then go on or halt."""
    stage = view.rollout.stages[plan.upgrade_stage]
    tags = dict(plan.upgrade_group_tags)
    if stage.kind in (StageKind.START_ALL, StageKind.ONE_AT_A_TIME):
        tags.update({group: plan.upgrade_to or "" for group in stage.groups})
    later = [number for number in plan.upgrade_stages if number > plan.upgrade_stage]
    base = _update(plan, group_tags=tags, holder=None, done=[], xmpp_baseline=None, since=view.now)
    if not later:
        return _update(base, state="idle", stage=0, stages=[], go=False, cancel=False)
    if plan.upgrade_cancel and stage.may_halt_after:
        return _update(base, state="halted", stage=later[0], go=False, cancel=False)
    return _update(base, stage=later[0])


# -- what the leader reads of the units ------------------------------------------------------


def _unit(view: LeaderView, name: str) -> Optional[UpgradeUnitFields]:
    return view.units.get(name)


def unprepared(view: LeaderView, plan: UpgradePlanFields) -> list[str]:
    """Members without every image of the plan's tag."""
    return [
        member
        for member in view.members
        if (_unit(view, member) or UpgradeUnitFields()).upgrade_prepared != plan.upgrade_to
    ]


def acknowledged(unit: Optional[UpgradeUnitFields], plan: UpgradePlanFields) -> bool:
    """Whether the unit applied the stage in progress of this plan (and runs it)."""
    return (
        unit is not None
        and unit.upgrade_serial == plan.upgrade_serial
        and unit.upgrade_acked_stage is not None
        and unit.upgrade_acked_stage >= plan.upgrade_stage
    )


def waiting_for(view: LeaderView, plan: UpgradePlanFields) -> list[str]:
    """Members that have not acknowledged the all-at-once stage in progress."""
    return [m for m in view.members if not acknowledged(_unit(view, m), plan)]


def _sessions(view: LeaderView, members: Iterable[str]):
    return [(_unit(view, m) or UpgradeUnitFields()).upgrade_sessions for m in members]


def lock_released(view: LeaderView, plan: UpgradePlanFields, stage: Stage) -> tuple[bool, str]:
    """Whether the lock holder is through: it acknowledged, and its release rule holds."""
    holder = plan.upgrade_holder
    unit = _unit(view, holder) if holder else None
    if not acknowledged(unit, plan):
        return False, "restarting on the new tag"
    assert unit is not None
    if stage.release == Release.SESSIONS:
        return health.sessions_back(
            unit.upgrade_sessions,
            _sessions(view, view.members),
            len(view.members),
            plan.upgrade_xmpp_baseline,
        )
    if stage.release == Release.MEMBERSHIP:
        return health.membership_back(unit.upgrade_membership)
    return True, ""


def errors(view: LeaderView, plan: UpgradePlanFields) -> dict[str, str]:
    """What units of this plan reported they could not do."""
    found = {}
    for member in view.members:
        unit = _unit(view, member)
        if unit and unit.upgrade_error and unit.upgrade_serial == plan.upgrade_serial:
            found[member] = unit.upgrade_error
    return found


# -- each unit -------------------------------------------------------------------------------


def unit_tags(
    rollout: Rollout, plan: UpgradePlanFields, unit: str, target: str
) -> dict[str, Optional[str]]:
    """The tag each group of containers runs on `unit` now; None: the group is stopped."""
    tags: dict[str, Optional[str]] = {
        group: plan.upgrade_group_tags.get(group) or target for group in rollout.groups
    }
    if plan.upgrade_state != "active":
        return tags
    stage = rollout.stages[plan.upgrade_stage]
    for group in stage.groups:
        if stage.kind == StageKind.STOP_ALL:
            tags[group] = None
        elif stage.kind == StageKind.START_ALL:
            tags[group] = plan.upgrade_to
        elif unit == plan.upgrade_holder or unit in plan.upgrade_done:
            tags[group] = plan.upgrade_to
    return tags


def pull_tag(plan: UpgradePlanFields) -> Optional[str]:
    """The tag whose images the unit pulls ahead (stage 0 onwards), beside what it runs."""
    return plan.upgrade_to if plan.upgrade_state == "active" else None


def stage_to_acknowledge(rollout: Rollout, plan: UpgradePlanFields, unit: str) -> Optional[int]:
    """The stage the unit acknowledges once its containers match `unit_tags` and run;
    None: it has nothing to acknowledge now (stage 0 is acknowledged by `upgrade_prepared`)."""
    if plan.upgrade_state != "active" or plan.upgrade_stage == 0:
        return None
    stage = rollout.stages[plan.upgrade_stage]
    if stage.kind == StageKind.ONE_AT_A_TIME and unit != plan.upgrade_holder:
        return None
    return plan.upgrade_stage


def control_plane_version(plan: UpgradePlanFields) -> ControlPlaneVersionFields:
    """What the controller leader publishes: the tag every group runs, or the move under way."""
    return ControlPlaneVersionFields(
        controller_version=_common(plan.upgrade_group_tags.values()),
        controller_upgrading_to=plan.upgrade_to if plan.upgrade_state == "active" else None,
    )


def _common(tags: Iterable[str]) -> Optional[str]:
    found = set(tags)
    return found.pop() if len(found) == 1 else None


# -- the actions ---------------------------------------------------------------------------


def begin(view: LeaderView) -> tuple[UpgradePlanFields, str]:
    """The `upgrade` action: start (or resume) the prepared plan."""
    plan, app = view.plan, view.app or view.rollout.charm
    if plan.upgrade_state == "idle":
        raise Refused(f"nothing to upgrade: every unit runs {view.target}")
    if view.rollout.follows_controller:
        raise Refused(
            f"{app} follows the controller: it moves to {plan.upgrade_to} by itself once "
            "contrail-controller runs it"
        )
    if plan.upgrade_to != view.target:
        raise Refused(
            f"image-tag is now {view.target}, not {plan.upgrade_to}: the leader plans the way "
            "there on its next hook; run this again then"
        )
    if plan.upgrade_state == "halted":
        resumed = _update(plan, state="active", go=True, cancel=False, since=view.now)
        return resumed, f"resumed {_moving(plan)} at stage {_of(view.rollout, plan)}"
    if plan.upgrade_stage > 0:
        if plan.upgrade_cancel:
            return _update(plan, cancel=False), f"{_moving(plan)} goes on: the halt is called off"
        raise Refused(f"{_moving(plan)} is already at stage {_of(view.rollout, plan)}")
    missing = unprepared(view, plan)
    if missing:
        raise Refused(
            f"the images of {plan.upgrade_to} are not on {', '.join(missing)} yet "
            "(see juju status); run this again once they are"
        )
    return _update(plan, go=True), f"started {_moving(plan)}"


def cancel(view: LeaderView) -> tuple[UpgradePlanFields, str]:
    """The `cancel-upgrade` action: halt at the next stage boundary."""
    plan, app = view.plan, view.app or view.rollout.charm
    if plan.upgrade_state != "active":
        raise Refused("no upgrade is running")
    if plan.upgrade_stage == 0:
        halted = _update(plan, state="halted", go=False, cancel=False)
        return halted, f"{_moving(plan)} cancelled before anything moved"
    stage = view.rollout.stages[plan.upgrade_stage]
    boundary = "after the next stage" if not stage.may_halt_after else "after this stage"
    return _update(plan, cancel=True), (
        f"{_moving(plan)} halts {boundary} (stage {_of(view.rollout, plan)}); "
        f"`juju run {app}/leader upgrade` resumes it, image-tag={plan.upgrade_from} rolls back"
    )


# -- what the statuses say -----------------------------------------------------------------


def _moving(plan: UpgradePlanFields) -> str:
    return f"upgrade {plan.upgrade_from}→{plan.upgrade_to}"


def _of(rollout: Rollout, plan: UpgradePlanFields) -> str:
    stage = rollout.stages[plan.upgrade_stage]
    return f"{plan.upgrade_stage}/{rollout.last} ({stage.name})"


def unit_status(
    rollout: Rollout, plan: UpgradePlanFields, unit: str
) -> tuple[Optional[ops.StatusBase], list[str]]:
    """This unit's upgrade status and notes for its active message."""
    if plan.upgrade_state == "halted":
        return None, [f"{_moving(plan)} halted before stage {_of(rollout, plan)}"]
    if plan.upgrade_state != "active":
        return None, []
    if plan.upgrade_stage == 0:
        return None, [f"upgrade to {plan.upgrade_to} pending"]
    text = f"{_moving(plan)}, stage {plan.upgrade_stage}/{rollout.last}"
    stage = rollout.stages[plan.upgrade_stage]
    if stage.kind == StageKind.ONE_AT_A_TIME:
        if unit == plan.upgrade_holder:
            text += " (holds the lock)"
        elif unit in plan.upgrade_done:
            text += " (done)"
        else:
            text += " (waiting for its turn)"
    return ops.MaintenanceStatus(text), []


def app_status(view: LeaderView, plan: UpgradePlanFields) -> Optional[ops.StatusBase]:
    """The leader's application status while a plan exists."""
    app = view.app or view.rollout.charm
    if plan.upgrade_state == "idle":
        return None
    if plan.upgrade_state == "halted":
        return ops.BlockedStatus(
            f"{_moving(plan)} halted before stage {_of(view.rollout, plan)}: "
            f"`juju run {app}/leader upgrade` resumes it, image-tag={plan.upgrade_from} "
            "rolls back"
        )
    if plan.upgrade_stage == 0:
        return _prepare_status(view, plan, app)
    text = f"{_moving(plan)}, stage {_of(view.rollout, plan)}"
    failed = errors(view, plan)
    if failed:
        listed = "; ".join(f"{unit}: {error}" for unit, error in failed.items())
        return ops.BlockedStatus(
            f"{text}: {listed} (the unit retries on its next hook; "
            f"`juju run {app}/leader cancel-upgrade` halts at the stage boundary)"
        )
    stage = view.rollout.stages[plan.upgrade_stage]
    if stage.kind == StageKind.ONE_AT_A_TIME:
        done = len(plan.upgrade_done)
        lagging = [plan.upgrade_holder] if plan.upgrade_holder else []
        why = lock_released(view, plan, stage)[1] or "releasing"
        text += f": lock held by {plan.upgrade_holder} ({why}), {done}/{len(view.members)} done"
    else:
        lagging = waiting_for(view, plan)
        text += f": waiting for {', '.join(lagging)}" if lagging else ""
    if plan.upgrade_cancel:
        text += "; halting at the stage boundary"
    since = plan.upgrade_since
    if lagging and since is not None and view.now - since > STALL_AFTER:
        minutes = int((view.now - since) // 60)
        return ops.BlockedStatus(
            f"{text}; no progress for {minutes} min: see {', '.join(lagging)} in juju status "
            "and its logs (a unit that is gone must be removed to let the stage finish)"
        )
    return ops.MaintenanceStatus(text)


def _prepare_status(view: LeaderView, plan: UpgradePlanFields, app: str) -> ops.StatusBase:
    missing = unprepared(view, plan)
    if missing:
        have = len(view.members) - len(missing)
        return ops.MaintenanceStatus(
            f"upgrade to {plan.upgrade_to} pending: images on {have}/{len(view.members)} "
            f"units (pulling on {', '.join(missing)})"
        )
    if view.rollout.follows_controller:
        return ops.WaitingStatus(
            f"upgrade to {plan.upgrade_to} pending: waiting for contrail-controller to run it"
        )
    if len(view.members) == 1:
        return ops.ActiveStatus(
            f"{_moving(plan)} ready; with one unit it is an outage (config API, control and "
            f"databases stop): `juju run {app}/leader upgrade` starts it"
        )
    return ops.ActiveStatus(
        f"{_moving(plan)} ready on every unit: `juju run {app}/leader pre-upgrade-check`, "
        f"then `juju run {app}/leader upgrade`"
    )
