"""What membership says in status, from the leader's data alone (any unit can show it).

Refusals and failed steps are Blocked, naming the reason and the way out; the running removal's
progress is a note for the active message, since the cluster keeps serving meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import ops

from .planning import hold
from .roster import Roster
from .schema import MembershipAppData, Removal


@dataclass
class Report:
    problems: list[ops.StatusBase] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def report(
    data: MembershipAppData, min_size: int, app: str, unnumbered: Sequence[str] = ()
) -> Report:
    roster = Roster(data)
    found = Report()
    for unit in unnumbered:
        found.problems.append(
            ops.BlockedStatus(
                f"{unit} gets no member id: ids 1-255 (ZooKeeper's range) are used up and "
                "never reused; redeploy the application to start again"
            )
        )
    if not data.removals:
        return found
    first, waiting = data.removals[0], data.removals[1:]
    held = hold(data.members, min_size)
    if held is not None:
        units = ", ".join(_who(roster, r) for r in data.removals)
        found.problems.append(
            ops.BlockedStatus(f"scale-in refused, removal of {units} held: {held.message(app)}")
        )
        return found
    failed = next((s for s in first.steps if s.state == "failed"), None)
    if failed is not None:
        found.problems.append(
            ops.BlockedStatus(
                f"removal of {_who(roster, first)}: {failed.service} failed: {failed.detail}"
            )
        )
    else:
        found.notes.append(f"removing {_who(roster, first)}: {_steps(first)}")
    for removal in waiting:
        found.problems.append(
            ops.BlockedStatus(
                f"scale-in of {_who(roster, removal)} held: the removal of "
                f"{_who(roster, first)} is in progress; it starts once that is complete"
            )
        )
    return found


def own_status(data: MembershipAppData, unit: str) -> list[ops.StatusBase]:
    """This unit's own place: Blocked when its removal started while it was away."""
    member = Roster(data).member(unit)
    if member is not None and member.departed:
        return [
            ops.BlockedStatus(
                f"this unit was removed from the cluster (member {member.id}) while it was "
                "away: remove it and add a new unit"
            )
        ]
    return []


def _who(roster: Roster, removal: Removal) -> str:
    member = roster.by_id(removal.member)
    unit = member.unit if member is not None else "a member"
    return f"{unit} (member {removal.member})"


def _steps(removal: Removal) -> str:
    parts = []
    for step in removal.steps:
        text = f"{step.service} {step.state}"
        if step.state != "done" and step.detail:
            text += f" ({step.detail})"
        parts.append(text)
    return ", ".join(parts)
