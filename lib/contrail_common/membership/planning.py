"""Which departed member's removal runs, and which wait or are refused.

A removal never starts, and a started one does not go on, while fewer than min-cluster-size
members are present: then every destructive step is held and the departed members stay in the
services' lists (so a replacement unit, or a lower min-cluster-size, decides). Removals run one
at a time, in the order the members departed; the others wait for the one running.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from .schema import MemberRecord, Removal, RemovalStep, Service


def queue_removals(
    members: Sequence[MemberRecord], removals: Sequence[Removal], services: Sequence[Service]
) -> list[Removal]:
    """The removals after departures and returns: kept for members still departed, dropped for
    members that came back before anything was issued, added (by id) for new departures."""
    departed = {m.id for m in members if m.departed and m.id is not None}
    kept = [r for r in removals if r.member in departed]
    queued = {r.member for r in kept}
    for member_id in sorted(departed - queued):
        steps = [RemovalStep(service=service) for service in services]
        kept.append(Removal(member=member_id, steps=steps))
    return kept


@dataclass(frozen=True)
class Hold:
    """Why no step of the first removal may run now."""

    present: int
    min_size: int

    def message(self, app: str) -> str:
        missing = self.min_size - self.present
        return (
            f"{self.present} of min-cluster-size {self.min_size} units left: add {missing} "
            f"(juju add-unit {app} -n {missing}) or lower min-cluster-size"
        )


def hold(members: Sequence[MemberRecord], min_size: int) -> Optional[Hold]:
    """A Hold when fewer than `min_size` members are present (quorum would not survive)."""
    present = sum(1 for m in members if not m.departed)
    return Hold(present, min_size) if present < min_size else None


def retry(removals: Sequence[Removal], member_id: int) -> list[Removal]:
    """The operator's answer to a failed step: look at the service and try it again."""
    return _resolve(removals, member_id, "pending", "retried by the operator")


def skip(removals: Sequence[Removal], member_id: int) -> list[Removal]:
    """The operator's answer to a failed step done by hand: count it as done."""
    return _resolve(removals, member_id, "done", "done by the operator")


def _resolve(
    removals: Sequence[Removal], member_id: int, state: str, detail: str
) -> list[Removal]:
    resolved = []
    for removal in removals:
        if removal.member == member_id:
            steps = [
                RemovalStep.model_validate(
                    {"service": s.service, "state": state, "detail": detail}
                )
                if s.state == "failed"
                else s
                for s in removal.steps
            ]
            removal = removal.model_copy(update={"steps": steps})
        resolved.append(removal)
    return resolved
