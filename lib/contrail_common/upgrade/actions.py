"""The leader's two actions: `upgrade` (start or resume the prepared plan) and
`cancel-upgrade` (halt at the next stage boundary). Each returns the new plan and what to say,
or raises `Refused` saying why not and what to do."""

from __future__ import annotations

from .fields import UpgradePlanFields
from .status import moving, stage_label
from .view import LeaderView, unprepared, updated


class Refused(Exception):
    """An action that cannot run now; `str()` says why and what to do."""


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
        resumed = updated(plan, state="active", go=True, cancel=False, since=view.now)
        return resumed, f"resumed {moving(plan)} at stage {stage_label(view.rollout, plan)}"
    if plan.upgrade_stage > 0:
        if plan.upgrade_cancel:
            return updated(plan, cancel=False), f"{moving(plan)} goes on: the halt is called off"
        raise Refused(f"{moving(plan)} is already at stage {stage_label(view.rollout, plan)}")
    missing = unprepared(view, plan)
    if missing:
        raise Refused(
            f"the images of {plan.upgrade_to} are not on {', '.join(missing)} yet "
            "(see juju status); run this again once they are"
        )
    return updated(plan, go=True), f"started {moving(plan)}"


def cancel(view: LeaderView) -> tuple[UpgradePlanFields, str]:
    """The `cancel-upgrade` action: halt at the next stage boundary."""
    plan, app = view.plan, view.app or view.rollout.charm
    if plan.upgrade_state != "active":
        raise Refused("no upgrade is running")
    if plan.upgrade_stage == 0:
        halted = updated(plan, state="halted", go=False, cancel=False)
        return halted, f"{moving(plan)} cancelled before anything moved"
    stage = view.rollout.stages[plan.upgrade_stage]
    boundary = "after the next stage" if not stage.may_halt_after else "after this stage"
    return updated(plan, cancel=True), (
        f"{moving(plan)} halts {boundary} (stage {stage_label(view.rollout, plan)}); "
        f"`juju run {app}/leader upgrade` resumes it, image-tag={plan.upgrade_from} rolls back"
    )
