"""What membership keeps in the peer relation (`contrail-cluster`): the interface's models.

`interfaces/contrail-cluster/v0/schema.py` is the one definition; here they have the names the
membership code reads best with. Every field is optional, so a databag written before stable
ids still loads; members without an `id` are numbered by their position, which is the id the
images derived from it.
"""

from __future__ import annotations

from contrail_interfaces.contrail_cluster_v0 import (
    MAX_MEMBER_ID,
    SERVICES,
    HostLabel,
    Removal,
    RemovalStep,
    Service,
    StepState,
)
from contrail_interfaces.contrail_cluster_v0 import Member as MemberRecord
from contrail_interfaces.contrail_cluster_v0 import PeerAppData as MembershipAppData
from contrail_interfaces.contrail_cluster_v0 import PeerUnitData as MembershipUnitData

__all__ = [
    "MAX_MEMBER_ID",
    "SERVICES",
    "HostLabel",
    "MemberRecord",
    "MembershipAppData",
    "MembershipUnitData",
    "Removal",
    "RemovalStep",
    "Service",
    "StepState",
]
