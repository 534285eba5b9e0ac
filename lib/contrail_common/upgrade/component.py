"""`StagedUpgrade`: the plan on the peer relation, as a component the base charm composes.

It owns the upgrade fields of the peer databags (`fields.py`) and nothing else there: ops'
`Relation.save` writes only a model's own fields, so these sit beside the member list the base
keeps, and the `contrail-cluster` schemas can take them in by inheritance. The base calls, on
every reconcile:

1. `evaluate(target)`, which only reads: the plan, the tag each container group runs on this
   unit now (`tag_for(role)`; None: stopped), the tag to pull ahead, the status and notes.
2. `lead(...)`, on the leader, after the member list: one step of the plan, written back.
3. after its deploy, `report(...)`: what this unit pulled and applied (its acknowledgement),
   its error, its sessions or membership.

The actions are `begin` (`upgrade`) and `cancel` (`cancel-upgrade`) on the leader. No
StoredState: everything is in the relation, so a new leader or a restarted charm resumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Optional

import ops

from ..databag import MalformedDatabagError, read_databag, write_databag
from . import actions as upgrade_actions
from . import plan as upgrade_plan
from . import status as upgrade_status
from . import view as upgrade_view
from .fields import (
    ControlPlaneVersionFields,
    MemberHealth,
    SessionCounts,
    UpgradePlanFields,
    UpgradeUnitFields,
)
from .stages import Rollout


@dataclass(frozen=True)
class UpgradeEvaluation:
    """One look at the plan from this unit."""

    rollout: Rollout
    plan: UpgradePlanFields
    tags: dict[str, Optional[str]]  # container group -> the tag it runs now (None: stopped)
    pull: Optional[str]  # the tag whose images to pull ahead
    acknowledge: Optional[int]  # the stage to acknowledge once the containers run
    status: Optional[ops.StatusBase]
    notes: list[str] = field(default_factory=list)
    # This unit's own fields as this hook found them, before anything wrote the databag: the
    # report starts from them (a write of the whole peer schema earlier in the hook would
    # have reset them).
    own: UpgradeUnitFields = field(default_factory=UpgradeUnitFields)

    def tag_for(self, role: str) -> Optional[str]:
        """The tag a container of this role runs now; None: it does not run now."""
        return self.tags[self.rollout.group(role)]


class StagedUpgrade(ops.Object):
    def __init__(
        self,
        charm: ops.CharmBase,
        rollout: Rollout,
        peer_endpoint: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(charm, "staged-upgrade")
        self.rollout = rollout
        self.peer_endpoint = peer_endpoint
        self.clock = clock

    @property
    def _peer(self) -> Optional[ops.Relation]:
        return self.model.get_relation(self.peer_endpoint)

    # -- reading ---------------------------------------------------------------------------

    def plan(self) -> UpgradePlanFields:
        """The leader's plan; an empty one before it first wrote (or when unreadable: the
        leader rewrites it on its next step)."""
        peer = self._peer
        if peer is None:
            return UpgradePlanFields()
        try:
            return read_databag(peer, self.model.app, UpgradePlanFields) or UpgradePlanFields()
        except MalformedDatabagError:
            return UpgradePlanFields()

    def units(self) -> dict[str, Optional[UpgradeUnitFields]]:
        """Every unit's report (this one's included); None for one that is unreadable."""
        peer = self._peer
        if peer is None:
            return {}
        found: dict[str, Optional[UpgradeUnitFields]] = {}
        for unit in {self.model.unit, *peer.units}:
            try:
                found[unit.name] = read_databag(peer, unit, UpgradeUnitFields)
            except MalformedDatabagError:
                found[unit.name] = None
        return found

    def evaluate(self, target: str) -> UpgradeEvaluation:
        plan = self.plan()
        unit = self.model.unit.name
        status, notes = upgrade_status.unit_status(self.rollout, plan, unit)
        own = self.units().get(unit) or UpgradeUnitFields()
        return UpgradeEvaluation(
            own=own,
            rollout=self.rollout,
            plan=plan,
            tags=upgrade_plan.unit_tags(self.rollout, plan, unit, target),
            pull=upgrade_plan.pull_tag(plan),
            acknowledge=upgrade_plan.stage_to_acknowledge(self.rollout, plan, unit),
            status=status,
            notes=notes,
        )

    def view(
        self,
        target: str,
        members: Sequence[str],
        auto: bool = False,
        controller: Optional[ControlPlaneVersionFields] = None,
    ) -> upgrade_view.LeaderView:
        return upgrade_view.LeaderView(
            rollout=self.rollout,
            plan=self.plan(),
            target=target,
            members=list(members),
            units=self.units(),
            now=self.clock(),
            app=self.model.app.name,
            auto=auto,
            controller=controller,
        )

    # -- writing ---------------------------------------------------------------------------

    def lead(
        self,
        target: str,
        members: Sequence[str],
        auto: bool = False,
        controller: Optional[ControlPlaneVersionFields] = None,
    ) -> upgrade_plan.Step:
        """Leader only: one step of the plan, written when it changed."""
        view = self.view(target, members, auto, controller)
        step = upgrade_plan.lead(view)
        self._write_plan(view.plan, step.plan)
        return step

    def report(
        self,
        evaluation: UpgradeEvaluation,
        *,
        applied: bool,
        prepared: Optional[str] = None,
        error: Optional[str] = None,
        sessions: Optional[SessionCounts] = None,
        membership: Optional[MemberHealth] = None,
    ) -> None:
        """This unit's facts after its deploy: `applied` when its containers match
        `evaluation.tags` and run; `prepared` the tag whose images it holds."""
        peer = self._peer
        if peer is None:
            return
        own = evaluation.own
        changes: dict[str, object] = {
            "upgrade_prepared": prepared,
            "upgrade_error": error,
            "upgrade_sessions": sessions,
            "upgrade_membership": membership,
        }
        if error is not None:
            changes["upgrade_serial"] = evaluation.plan.upgrade_serial
        elif applied and evaluation.acknowledge is not None:
            changes["upgrade_serial"] = evaluation.plan.upgrade_serial
            changes["upgrade_acked_stage"] = evaluation.acknowledge
        updated = own.model_copy(update=changes)
        if updated != self.units().get(self.model.unit.name):
            write_databag(peer, self.model.unit, updated)

    def begin(self, target: str, members: Sequence[str]) -> str:
        """The `upgrade` action (leader); raises `plan.Refused` with what to do."""
        view = self.view(target, members)
        new, message = upgrade_actions.begin(view)
        self._write_plan(view.plan, new)
        return message

    def cancel(self, target: str, members: Sequence[str]) -> str:
        """The `cancel-upgrade` action (leader); raises `plan.Refused` with what to do."""
        view = self.view(target, members)
        new, message = upgrade_actions.cancel(view)
        self._write_plan(view.plan, new)
        return message

    def _write_plan(self, old: UpgradePlanFields, new: UpgradePlanFields) -> None:
        peer = self._peer
        if peer is not None and new != old:
            write_databag(peer, self.model.app, new)
