"""Databags of the control-plane peer relations (controller-, analytics-, analyticsdb-cluster).

Each unit publishes its own addresses and host name; the leader keeps the members with their
permanent ids, the removals in progress (and, for the controller, the IDs of the generated
secrets) in the application databag. `contrail_common.membership` reads and writes them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field

from contrail_common.addresses import Address, AddressText
from contrail_common.databag import DatabagModel
from contrail_common.tls.fields import TlsSwitchFields, TlsUnitFields
from contrail_common.upgrade.fields import UpgradePlanFields, UpgradeUnitFields

# The services whose own cluster keeps a member until it is told to forget it, in the order a
# removal deals with them.
Service = Literal["cassandra", "rabbitmq", "zookeeper"]
SERVICES: tuple[Service, ...] = ("cassandra", "rabbitmq", "zookeeper")
# pending: not issued yet (it may be waiting for something); issued: the command ran but its
#   outcome is not known yet (it timed out); done; failed: the operator must look.
StepState = Literal["pending", "issued", "done", "failed"]
# ZooKeeper server ids (myid) run from 1 to 255, and ids are never reused.
MAX_MEMBER_ID = 255

# One DNS label: what the RabbitMQ entrypoint keeps of a resolved name (up to the first dot).
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _host_label(value: str) -> str:
    if not _HOST_LABEL.fullmatch(value):
        raise ValueError("must be one host name label (letters, digits, inner hyphens)")
    return value


HostLabel = Annotated[str, AfterValidator(_host_label)]


class Member(DatabagModel):
    """A unit of the cluster as the leader keeps it, from its first publication until its
    removal is complete."""

    unit: str
    address: AddressText
    data_address: Optional[AddressText] = None
    # Permanent while the unit stays, never given to another unit: the ZooKeeper myid and the
    # Kafka broker.id. None only in databags written before stable ids (then the position).
    id: Optional[int] = Field(default=None, ge=1, le=MAX_MEMBER_ID)
    # The short host name the unit's address resolves to: its RabbitMQ node is contrail@<it>.
    hostname: Optional[HostLabel] = None
    # The unit left the peer relation; it stays listed (and keeps its id) until its removal
    # from every service is complete.
    departed: bool = False


class PeerUnitData(TlsUnitFields):
    """Written by every unit about itself, on every reconcile: its addresses, its host name and
    the CA of the certificate it holds (`tls-ca-fingerprint`, `tls-ca-subject`; null while it
    holds none)."""

    address: Optional[Address] = None
    data_address: Optional[Address] = None
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


class PeerAppData(TlsSwitchFields, UpgradePlanFields):
    """Written by the leader only. The controller's leader also keeps its TLS decision here
    (`ssl-enabled`, `ca-fingerprint`, `ca-subject`), which its other units render from; every
    leader the plan of a staged upgrade (`upgrade-*`)."""

    # By id; departed members stay until their removal is complete.
    members: list[Member] = []
    # The id the next new member gets; ids below it are never given again.
    next_member_id: Optional[int] = None
    # Removals in the order the members departed: the first runs, the others wait for it.
    removals: list[Removal] = []
    # IDs of charm-owned secrets the leader created for the whole application.
    erlang_cookie_secret: Optional[str] = None
    # contrail-controller: the web UI's admin password (key `password`).
    webui_password_secret: Optional[str] = None
    kube_manager_token_secret: Optional[str] = None
    # contrail-kubernetes-master: the ClusterIP of default/kubernetes, to check service_subnets.
    kubernetes_service_ip: Optional[AddressText] = None


class UpgradeUnitData(UpgradeUnitFields):
    """Written by every unit about itself beside `PeerUnitData`, as its own model: what it
    pulled, which stage of the plan it applied, its sessions or membership; agents the tag
    their node runs. A write of `PeerUnitData` leaves these keys alone, and the reverse."""
