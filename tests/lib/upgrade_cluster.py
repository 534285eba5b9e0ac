"""A deployment driven by the pure upgrade state machine, for the plan tests.

Every round: each unit pulls what the plan asks, the leader takes its step from the databags
as they would read back from Juju (JSON round trip), then each unit applies the tags the plan
gives it and acknowledges. A unit whose control or config-database containers just restarted
reports its sessions or membership as not back yet; one round later they are back. What every
unit runs is recorded after each round, for the invariants.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Optional, TypeVar

from pydantic import BaseModel

from contrail_common.upgrade import actions as upgrade_actions
from contrail_common.upgrade import plan as upgrade_plan
from contrail_common.upgrade import view as upgrade_view
from contrail_common.upgrade.fields import (
    ControlPlaneVersionFields,
    MemberHealth,
    SessionCounts,
    UpgradePlanFields,
    UpgradeUnitFields,
)
from contrail_common.upgrade.stages import Rollout

ModelT = TypeVar("ModelT", bound=BaseModel)


def roundtrip(model: ModelT) -> ModelT:
    """The model as a reader gets it back from a databag (each value JSON, keys aliased)."""
    raw = {
        key: json.dumps(value)
        for key, value in model.model_dump(mode="json", by_alias=True).items()
    }
    return type(model).model_validate({key: json.loads(value) for key, value in raw.items()})


def healthy_sessions(members: int) -> SessionCounts:
    # Each control node peers with the others; every agent holds two XMPP sessions.
    return SessionCounts(bgp_up=members - 1, bgp_total=members - 1, xmpp_up=4, xmpp_total=4)


class Deployment:
    def __init__(
        self, rollout: Rollout, members: Sequence[str], tag: str, now: float = 1_000_000.0
    ) -> None:
        self.rollout = rollout
        self.members = list(members)
        self.target = tag
        self.now = now
        self.auto = False
        self.controller: Optional[ControlPlaneVersionFields] = None
        self.plan = UpgradePlanFields()
        self.units = {m: UpgradeUnitFields() for m in self.members}
        self.running: dict[str, dict[str, Optional[str]]] = {
            m: {g: tag for g in rollout.groups} for m in self.members
        }
        self.restarted: dict[str, set[str]] = {m: set() for m in self.members}
        self.history: list[dict[str, dict[str, Optional[str]]]] = []
        self.visited: list[tuple[str, int]] = []
        # Units that never acknowledge (stuck) and those that report an error.
        self.stuck: set[str] = set()
        self.failing: dict[str, str] = {}
        self.last_step = upgrade_plan.Step(self.plan, None)
        self.lead()

    # -- one unit ------------------------------------------------------------------------

    def _set(self, unit: str, **changes: object) -> None:
        update = {f"upgrade_{key}": value for key, value in changes.items()}
        self.units[unit] = self.units[unit].model_copy(update=update)

    def pull(self, unit: str) -> None:
        tag = upgrade_plan.pull_tag(self.plan)
        if tag is not None:
            self._set(unit, prepared=tag)

    def apply(self, unit: str) -> None:
        if unit in self.stuck:
            return
        if unit in self.failing:
            self._set(unit, serial=self.plan.upgrade_serial, error=self.failing[unit])
            return
        tags = upgrade_plan.unit_tags(self.rollout, self.plan, unit, self.target)
        changed = {g for g, tag in tags.items() if self.running[unit].get(g) != tag}
        self.running[unit] = tags
        # A unit's sessions and membership come back one round after its restart.
        settling = changed & {"control", "config-database", "database"}
        members = len(self.members)
        sessions = healthy_sessions(members)
        if "control" in settling:
            sessions = SessionCounts()
        membership = MemberHealth(ok=True)
        if settling & {"config-database", "database"}:
            membership = MemberHealth(ok=False, detail="Cassandra: joining")
        self._set(unit, sessions=sessions, membership=membership, error=None)
        ack = upgrade_plan.stage_to_acknowledge(self.rollout, self.plan, unit)
        if ack is not None:
            self._set(unit, serial=self.plan.upgrade_serial, acked_stage=ack)

    # -- the leader ----------------------------------------------------------------------

    def view(self) -> upgrade_view.LeaderView:
        return upgrade_view.LeaderView(
            rollout=self.rollout,
            plan=roundtrip(self.plan),
            target=self.target,
            members=list(self.members),
            units={m: roundtrip(self.units[m]) for m in self.members if m in self.units},
            now=self.now,
            app=self.rollout.charm,
            auto=self.auto,
            controller=self.controller,
        )

    def lead(self) -> upgrade_plan.Step:
        step = upgrade_plan.lead(self.view())
        self.plan = step.plan
        self.last_step = step
        point = (self.plan.upgrade_state, self.plan.upgrade_stage)
        if not self.visited or self.visited[-1] != point:
            self.visited.append(point)
        return step

    @property
    def message(self) -> str:
        """The leader's application status message after its last step."""
        assert self.last_step.status is not None, "the leader had nothing to say"
        return self.last_step.status.message

    def begin(self) -> str:
        self.plan, message = upgrade_actions.begin(self.view())
        return message

    def cancel(self) -> str:
        self.plan, message = upgrade_actions.cancel(self.view())
        return message

    # -- rounds --------------------------------------------------------------------------

    def round(self) -> None:
        for unit in self.members:
            self.pull(unit)
        self.lead()
        for unit in self.members:
            self.apply(unit)
        self.history.append({u: dict(tags) for u, tags in self.running.items()})
        self.now += 60

    def settle(self, rounds: int = 60) -> None:
        """Rounds until neither the plan nor any unit changes."""
        for _ in range(rounds):
            before = (self.plan, dict(self.units), {u: dict(t) for u, t in self.running.items()})
            self.round()
            if before == (self.plan, dict(self.units), self.running):
                return
        raise AssertionError(f"no steady state after {rounds} rounds: {self.plan}")

    def until(self, predicate, rounds: int = 60) -> None:
        for _ in range(rounds):
            if predicate(self):
                return
            self.round()
        raise AssertionError(f"never reached after {rounds} rounds: {self.plan}")
