"""Databags of `contrail-kubernetes-config` (contrail-kubernetes-master provides,
contrail-kubernetes-node requires).
"""

from __future__ import annotations

from typing import Optional

from pydantic import IPvAnyAddress, IPvAnyNetwork

from contrail_common.databag import DatabagModel


class ProviderAppData(DatabagModel):
    """Written by the kubernetes-master leader: what every CNI node needs, and nothing more.

    In nested mode the nodes get only the link-local service address of the underlay vRouter
    agent (never the underlay credentials).
    """

    cluster_name: Optional[str] = None
    pod_subnets: list[IPvAnyNetwork] = []
    nested_mode: bool = False
    nested_vip: Optional[IPvAnyAddress] = None
    nested_port: Optional[int] = None
