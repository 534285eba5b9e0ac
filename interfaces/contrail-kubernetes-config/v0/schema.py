"""Databags of `contrail-kubernetes-config` (contrail-kubernetes-master provides,
contrail-kubernetes-node requires).
"""

from __future__ import annotations

from typing import Optional

from contrail_common.addresses import Address, Network
from contrail_common.config import ClusterName
from contrail_common.databag import DatabagModel


class ProviderAppData(DatabagModel):
    """Written by the kubernetes-master leader: what every CNI node needs, and nothing more.

    In nested mode the nodes get only the link-local service address of the underlay vRouter
    agent (never the underlay credentials).
    """

    cluster_name: Optional[ClusterName] = None
    pod_subnets: list[Network] = []
    nested_mode: bool = False
    nested_vip: Optional[Address] = None
    nested_port: Optional[int] = None
