"""What membership keeps in the peer relation (`contrail-cluster`), as pydantic models.

These are the fields `interfaces/contrail-cluster/v0/schema.py` gains: `MemberRecord` extends
its `Member` (`id`, `hostname`, `departed`), `MembershipUnitData` its `PeerUnitData`
(`hostname`), and `MembershipAppData` its `PeerAppData` (`next-member-id`, `removals`). Every new
field is optional, so a databag written before stable ids still loads; members without an `id`
are numbered by their position, which is the id the images derived from it.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field

from ..databag import DatabagModel

# The services whose own cluster keeps a member until it is told to forget it, in the order a
# removal deals with them (see `steps.py`).
Service = Literal["cassandra", "rabbitmq", "zookeeper"]
SERVICES: tuple[Service, ...] = ("cassandra", "rabbitmq", "zookeeper")

# pending: not issued yet (it may be waiting for something); issued: the command ran but its
#   outcome is not known yet (it timed out); done; failed: the operator must look.
StepState = Literal["pending", "issued", "done", "failed"]

# ZooKeeper server ids (myid) run from 1 to 255, and ids are never reused.
MAX_MEMBER_ID = 255

# One DNS label: what the RabbitMQ entrypoint keeps of a resolved name (up to the first dot).
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _address(value: str) -> str:
    if "%" in value:
        raise ValueError("an IPv6 scope id is not allowed")
    return str(ipaddress.ip_address(value))


def _hostname(value: str) -> str:
    if not _HOST_LABEL.fullmatch(value):
        raise ValueError("must be one host name label (letters, digits, inner hyphens)")
    return value


# An IP address in its canonical text form, as the env files and ZOO_SERVERS carry it.
AddressText = Annotated[str, AfterValidator(_address)]
HostLabel = Annotated[str, AfterValidator(_hostname)]


class MemberRecord(DatabagModel):
    """A unit of the cluster as the leader keeps it, from its first publication until its
    removal is complete."""

    unit: str
    address: AddressText
    data_address: Optional[AddressText] = None
    # Permanent while the unit stays, never given to another unit: the ZooKeeper myid and the
    # Kafka broker.id. None only in databags written before stable ids.
    id: Optional[int] = Field(default=None, ge=1, le=MAX_MEMBER_ID)
    # The short host name the unit's address resolves to: its RabbitMQ node is contrail@<it>.
    hostname: Optional[HostLabel] = None
    # The unit left the peer relation; it stays listed (and keeps its id) until its removal
    # from every service is complete.
    departed: bool = False


class MembershipUnitData(DatabagModel):
    """Written by every unit about itself, on every reconcile."""

    address: Optional[AddressText] = None
    data_address: Optional[AddressText] = None
    hostname: Optional[HostLabel] = None


class RemovalStep(DatabagModel):
    """What removing a member takes in one service, and how far it got."""

    service: Service
    state: StepState = "pending"
    # One line for the status: what it waits for, what was issued, why it failed.
    detail: str = ""


class Removal(DatabagModel):
    """The removal of one departed member: its steps, in order."""

    member: int
    steps: list[RemovalStep] = []

    @property
    def started(self) -> bool:
        """Whether any step got past pending: from then on the member cannot come back."""
        return any(step.state != "pending" for step in self.steps)

    def finished(self, service: Service) -> bool:
        return any(s.service == service and s.state == "done" for s in self.steps)


class MembershipAppData(DatabagModel):
    """Written by the leader only."""

    # By id; departed members stay until their removal is complete.
    members: list[MemberRecord] = []
    # The id the next new member gets; ids below it are never given again.
    next_member_id: Optional[int] = None
    # Removals in the order the members departed: the first runs, the others wait for it.
    removals: list[Removal] = []
