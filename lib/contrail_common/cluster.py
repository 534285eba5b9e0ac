"""Cluster membership, kept by the leader in the peer application databag.

The models are the `contrail-cluster` interface's; `contrail_common.membership` keeps them
(permanent member ids, departures, removals) and renders the lists the images read.
"""

from __future__ import annotations

from contrail_interfaces.contrail_cluster_v0 import Member, PeerAppData, PeerUnitData

__all__ = ["Member", "PeerAppData", "PeerUnitData"]
