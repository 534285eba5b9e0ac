"""The rollout as a pure state machine: the leader's step, and each unit's tags.

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
from dataclasses import dataclass
from typing import Optional

import ops

from . import health
from .fields import ControlPlaneVersionFields, UpgradePlanFields
from .stages import Release, Rollout, Stage, StageKind
from .status import app_status
from .view import LeaderView, common, lock_released, sessions, unprepared, updated, waiting_for


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


def _recorded(view: LeaderView) -> UpgradePlanFields:
    """Every group has a recorded tag; the first time, what is configured runs everywhere."""
    tags = dict(view.plan.upgrade_group_tags)
    missing = [group for group in view.rollout.groups if group not in tags]
    if not missing:
        return view.plan
    base = common(tags.values()) or view.plan.upgrade_from or view.target
    tags.update({group: base for group in missing})
    return updated(view.plan, group_tags=tags)


def _follow_target(view: LeaderView, plan: UpgradePlanFields) -> UpgradePlanFields:
    """A new image-tag while a plan runs: an untouched plan is dropped, a moving one halts at
    the next stage boundary (then `_plan_for_target` plans the way to the new tag)."""
    if plan.upgrade_to == view.target:
        return plan
    if plan.upgrade_stage == 0:
        return updated(plan, state="idle", go=False, cancel=False, stages=[])
    return updated(plan, cancel=True)


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
            return updated(plan, state="idle", stages=[], go=False, cancel=False)
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
    return updated(plan, **fresh)


def _from(plan: UpgradePlanFields, target: str) -> str:
    """What the deployment runs, for "upgrade <from>→<to>": the common tag, else (a halted
    plan) the tag it was moving to, else the commonest."""
    tags = list(plan.upgrade_group_tags.values())
    shared = common(tags)
    if shared:
        return shared
    if plan.upgrade_to in tags and plan.upgrade_to != target:
        return plan.upgrade_to
    return Counter(tags).most_common(1)[0][0]


def _progress(view: LeaderView, plan: UpgradePlanFields) -> UpgradePlanFields:
    stage = view.rollout.stages[plan.upgrade_stage]
    if stage.kind == StageKind.PREPARE:
        if plan.upgrade_cancel:
            return updated(plan, state="halted", go=False, cancel=False)  # nothing moved
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
        return _complete(view, updated(plan, done=done, holder=None))
    baseline = None
    if stage.release == Release.SESSIONS:
        baseline = health.xmpp_sum(sessions(view, view.members))
    return updated(plan, holder=remaining[0], done=done, xmpp_baseline=baseline, since=view.now)


def _complete(view: LeaderView, plan: UpgradePlanFields) -> UpgradePlanFields:
    """The stage in progress is done everywhere: record what moved, then go on or halt."""
    stage = view.rollout.stages[plan.upgrade_stage]
    tags = dict(plan.upgrade_group_tags)
    if stage.kind in (StageKind.START_ALL, StageKind.ONE_AT_A_TIME):
        tags.update({group: plan.upgrade_to or "" for group in stage.groups})
    later = [number for number in plan.upgrade_stages if number > plan.upgrade_stage]
    base = updated(plan, group_tags=tags, holder=None, done=[], xmpp_baseline=None, since=view.now)
    if not later:
        return updated(base, state="idle", stage=0, stages=[], go=False, cancel=False)
    if plan.upgrade_cancel and stage.may_halt_after:
        return updated(base, state="halted", stage=later[0], go=False, cancel=False)
    return updated(base, stage=later[0])


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
        controller_version=common(plan.upgrade_group_tags.values()),
        controller_upgrading_to=plan.upgrade_to if plan.upgrade_state == "active" else None,
    )
