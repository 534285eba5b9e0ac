"""Who is in the cluster, as every unit reads it from the leader's data.

A departed member stays in a service until its removal from that service is done, so the lists
a survivor renders for that service do not change (and its container is not re-created) before
the service has been told to forget the member.
"""

from __future__ import annotations

from typing import Optional

from .ids import migrate
from .schema import MemberRecord, MembershipAppData, Removal, Service


class Roster:
    def __init__(self, data: MembershipAppData) -> None:
        self.data = data
        # Members of a databag written before ids have their position as their id, as the
        # leader will number them (what the images derived from it).
        self.members = sorted(migrate(data.members), key=lambda m: m.id or 0)
        self._removals = {r.member: r for r in data.removals}

    @property
    def present(self) -> list[MemberRecord]:
        """Members whose unit is on the peer relation."""
        return [m for m in self.members if not m.departed]

    @property
    def departed(self) -> list[MemberRecord]:
        return [m for m in self.members if m.departed]

    def in_service(self, service: Service) -> list[MemberRecord]:
        """The members `service` still counts: the present ones and the departed ones it has
        not been told to forget yet."""
        return [m for m in self.members if not m.departed or not self._forgotten(m, service)]

    def member(self, unit: str) -> Optional[MemberRecord]:
        return next((m for m in self.members if m.unit == unit), None)

    def by_id(self, member_id: int) -> Optional[MemberRecord]:
        return next((m for m in self.members if m.id == member_id), None)

    def removal(self, member: MemberRecord) -> Optional[Removal]:
        return self._removals.get(member.id or 0)

    def _forgotten(self, member: MemberRecord, service: Service) -> bool:
        removal = self.removal(member)
        return removal is not None and removal.finished(service)
