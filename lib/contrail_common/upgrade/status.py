"""What the statuses say while a plan exists: each unit's, and the leader's for the application.

The unit's text is the one the issue asks for, `upgrade <from>→<to>, stage <n>/<m>`, with its
place in a one-at-a-time stage; the leader's adds who holds the lock and why it is not passed
on yet, who has not acknowledged, and what to run.
"""

from __future__ import annotations

from typing import Optional

import ops

from .fields import UpgradePlanFields
from .stages import Rollout, StageKind
from .view import LeaderView, errors, lock_released, unprepared, waiting_for

# A stage that has not moved for this long is reported Blocked, naming who holds it up.
STALL_AFTER = 30 * 60


def moving(plan: UpgradePlanFields) -> str:
    return f"upgrade {plan.upgrade_from}→{plan.upgrade_to}"


def stage_label(rollout: Rollout, plan: UpgradePlanFields) -> str:
    stage = rollout.stages[plan.upgrade_stage]
    return f"{plan.upgrade_stage}/{rollout.last} ({stage.name})"


def unit_status(
    rollout: Rollout, plan: UpgradePlanFields, unit: str
) -> tuple[Optional[ops.StatusBase], list[str]]:
    """This unit's upgrade status and notes for its active message."""
    if plan.upgrade_state == "halted":
        return None, [f"{moving(plan)} halted before stage {stage_label(rollout, plan)}"]
    if plan.upgrade_state != "active":
        return None, []
    if plan.upgrade_stage == 0:
        return None, [f"upgrade to {plan.upgrade_to} pending"]
    text = f"{moving(plan)}, stage {plan.upgrade_stage}/{rollout.last}"
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
            f"{moving(plan)} halted before stage {stage_label(view.rollout, plan)}: "
            f"`juju run {app}/leader upgrade` resumes it, image-tag={plan.upgrade_from} "
            "rolls back"
        )
    if plan.upgrade_stage == 0:
        return _prepare_status(view, plan, app)
    text = f"{moving(plan)}, stage {stage_label(view.rollout, plan)}"
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
            f"{moving(plan)} ready; with one unit it is an outage (config API, control and "
            f"databases stop): `juju run {app}/leader upgrade` starts it"
        )
    return ops.ActiveStatus(
        f"{moving(plan)} ready on every unit: `juju run {app}/leader pre-upgrade-check`, "
        f"then `juju run {app}/leader upgrade`"
    )
