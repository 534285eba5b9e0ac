"""The leader's pass over membership: ids for new units, departures, and the removal steps due.

Called on every leader reconcile with the peer relation's units and what they published; the
result is written back to the application databag in the same hook, so a step issued here is
recorded as issued before any other leader can look at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

from .commands import Targets
from .ids import UnitFacts, number_members
from .planning import hold, queue_removals
from .schema import MemberRecord, MembershipAppData, Removal
from .steps import Runner, advance


@dataclass
class Led:
    data: MembershipAppData
    # Units that published an address but got no id (every id up to 255 has been used).
    unnumbered: list[str] = field(default_factory=list)


def lead(
    data: MembershipAppData,
    present: Mapping[str, Optional[UnitFacts]],
    min_size: int,
    targets: Targets,
    run: Runner,
    dying: bool = False,
) -> Led:
    """The new application data.

    `present`: every unit on the peer relation now, this one included, with its published
    facts (None until it publishes). `dying`: this leader is itself leaving (its own
    relation-departed, the peer relation broken, stop or remove); it then sees every other unit
    depart, so it changes nothing and leaves the work to the next leader.
    """
    if dying:
        return Led(data)
    locked = frozenset(r.member for r in data.removals if r.started)
    numbered = number_members(data.members, data.next_member_id, present, locked)
    members = numbered.members
    removals = queue_removals(members, data.removals, targets.services())
    if hold(members, min_size) is None:
        members, removals = _run_removals(members, removals, targets, run)
    # A copy, so fields of the application data that are not membership's are kept.
    led = data.model_copy(
        update={"members": members, "next_member_id": numbered.next_id, "removals": removals}
    )
    return Led(led, numbered.unnumbered)


def _run_removals(
    members: list[MemberRecord], removals: list[Removal], targets: Targets, run: Runner
) -> tuple[list[MemberRecord], list[Removal]]:
    """Advance the first removal step by step; a finished removal drops its member and lets
    the next one start in the same pass."""
    while removals:
        removal = removals[0]
        member = next((m for m in members if m.id == removal.member), None)
        if member is None:  # nothing left to remove it from
            removals = removals[1:]
            continue
        removal = _advance(removal, member, targets, run)
        if not all(step.state == "done" for step in removal.steps):
            return members, [removal, *removals[1:]]
        members = [m for m in members if m.id != member.id]
        removals = removals[1:]
    return members, []


def _advance(removal: Removal, member: MemberRecord, targets: Targets, run: Runner) -> Removal:
    steps = list(removal.steps)
    for index, step in enumerate(steps):
        if step.state == "done":
            continue
        steps[index] = advance(step, member, targets, run)
        if steps[index].state != "done":
            break
    return removal.model_copy(update={"steps": steps})
