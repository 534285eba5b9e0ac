"""Ordered cluster membership, kept by the leader in the peer application databag.

Contrail wants every node to see the same ordered lists (Cassandra seeds, ZooKeeper ids,
RabbitMQ nodes), so the order is stable: a unit keeps its place while it stays, a new unit goes
to the end, and a unit whose address changed is updated in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from contrail_interfaces.contrail_cluster_v0 import Member, PeerAppData, PeerUnitData

__all__ = ["Member", "PeerAppData", "PeerUnitData", "update_members"]


def update_members(
    current: Sequence[Member], published: Mapping[str, PeerUnitData]
) -> list[Member]:
    """The new ordered member list from the units that published an address now."""
    members: list[Member] = []
    for member in current:
        data = published.get(member.unit)
        if data is not None and data.address:
            members.append(_member(member.unit, data))
    known = {member.unit for member in members}
    for unit in sorted(published, key=_unit_number):
        data = published[unit]
        if unit not in known and data.address:
            members.append(_member(unit, data))
    return members


def _unit_number(unit: str) -> tuple[str, int]:
    app, _, number = unit.rpartition("/")
    return app, int(number) if number.isdigit() else 0


def _member(unit: str, data: PeerUnitData) -> Member:
    data_address = str(data.data_address) if data.data_address else None
    return Member(unit=unit, address=str(data.address), data_address=data_address)
