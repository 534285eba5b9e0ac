"""What the leader reads before its step, and its read-only judgments of the units' reports.

Shared by the step (`plan`), the statuses (`status`) and the actions (`actions`); nothing here
changes a plan except `updated`, which returns a new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

from . import health
from .fields import (
    ControlPlaneVersionFields,
    SessionCounts,
    UpgradePlanFields,
    UpgradeUnitFields,
)
from .stages import Release, Rollout, Stage


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


def updated(plan: UpgradePlanFields, **changes: object) -> UpgradePlanFields:
    """The plan with `changes` (field names without their `upgrade_` prefix)."""
    return plan.model_copy(update={f"upgrade_{key}": value for key, value in changes.items()})


def common(tags: Iterable[str]) -> Optional[str]:
    """The one tag all of `tags` are; None when they differ (or there are none)."""
    found = set(tags)
    return found.pop() if len(found) == 1 else None


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


def sessions(view: LeaderView, members: Iterable[str]) -> list[Optional[SessionCounts]]:
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
            sessions(view, view.members),
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
