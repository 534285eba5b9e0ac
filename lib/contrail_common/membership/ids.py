"""Permanent member ids, kept by the leader.

The ZooKeeper entrypoint takes a server's myid from its position in ZOOKEEPER_NODES and Kafka's
its broker.id from its position in KAFKA_NODES (`images/membership.yaml`), and both keep the
first id they were given (myid file, meta.properties). So each member gets an id once, keeps it
while it stays, and no later member ever gets it again; the lists are rendered from the ids
(`lists.py`), never from the members' order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from .schema import MAX_MEMBER_ID, MemberRecord


@dataclass(frozen=True)
class UnitFacts:
    """What a unit on the peer relation published about itself."""

    address: str
    data_address: Optional[str] = None
    hostname: Optional[str] = None


@dataclass
class Numbered:
    """The members after one leader pass, the next free id, and units left without an id."""

    members: list[MemberRecord]
    next_id: int
    # Units that published an address but could not be given an id (all 255 are spent).
    unnumbered: list[str] = field(default_factory=list)


def migrate(members: Sequence[MemberRecord]) -> list[MemberRecord]:
    """Ids for members recorded before stable ids: their position, which the images used.

    Members that have an id keep it; one without (never written so by this code) gets the next
    id after every id in use.
    """
    if all(m.id is None for m in members):
        return [m.model_copy(update={"id": n}) for n, m in enumerate(members, start=1)]
    top = max(m.id or 0 for m in members)
    numbered = []
    for member in members:
        if member.id is None:
            top += 1
            member = member.model_copy(update={"id": top})
        numbered.append(member)
    return numbered


def number_members(
    members: Sequence[MemberRecord],
    next_id: Optional[int],
    present: Mapping[str, Optional[UnitFacts]],
    locked: frozenset[int] = frozenset(),
) -> Numbered:
    """The member list for the units on the peer relation now.

    `present` holds every unit on the relation (the leader too), with what it published, or
    None when it published nothing readable yet. A recorded unit that is present is updated
    in place and keeps its id; one that is absent is marked departed and kept (its removal
    needs its address and host name). A departed member comes back when it reappears, unless
    its removal has started (`locked` ids). New units that published an address are appended
    in unit-number order with fresh ids.
    """
    records = migrate(members)
    used = max((m.id or 0 for m in records), default=0)
    counter = max(next_id or 1, used + 1)
    updated = [_update(m, present, locked) for m in records]
    known = {m.unit for m in updated}
    unnumbered = []
    for unit in sorted(present, key=_unit_number):
        facts = present[unit]
        if unit in known or facts is None or not facts.address:
            continue
        if counter > MAX_MEMBER_ID:
            unnumbered.append(unit)
            continue
        updated.append(_record(unit, counter, facts))
        counter += 1
    updated.sort(key=lambda m: m.id or 0)
    return Numbered(updated, counter, unnumbered)


def _update(
    member: MemberRecord, present: Mapping[str, Optional[UnitFacts]], locked: frozenset[int]
) -> MemberRecord:
    if member.unit not in present:
        return member if member.departed else member.model_copy(update={"departed": True})
    if member.departed and member.id in locked:
        return member
    facts = present[member.unit]
    if facts is None:
        return member.model_copy(update={"departed": False})
    return member.model_copy(
        update={
            "address": facts.address,
            "data_address": facts.data_address,
            # A unit that stops publishing its host name keeps the one it had.
            "hostname": facts.hostname or member.hostname,
            "departed": False,
        }
    )


def _record(unit: str, member_id: int, facts: UnitFacts) -> MemberRecord:
    return MemberRecord.model_validate(
        {
            "unit": unit,
            "id": member_id,
            "address": facts.address,
            "data_address": facts.data_address,
            "hostname": facts.hostname,
        }
    )


def _unit_number(unit: str) -> tuple[str, int]:
    app, _, number = unit.rpartition("/")
    return app, int(number) if number.isdigit() else 0
