"""Databags of the `contrail-controller` interface (controller provides; agent,
kubernetes-master and other orchestrator charms require).
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import IPvAnyAddress, IPvAnyNetwork

from contrail_common.databag import DatabagModel

AuthMode = Literal["rbac", "cloud-admin", "no-auth"]


class KubernetesCluster(DatabagModel):
    """What the controller knows of one Kubernetes cluster, keyed by its cluster name."""

    pod_subnets: list[IPvAnyNetwork] = []
    api_server: Optional[str] = None
    api_port: Optional[int] = None


class ProviderAppData(DatabagModel):
    """Written by the controller leader; empty lists until min-cluster-size units are known."""

    controller_ips: list[IPvAnyAddress] = []
    controller_data_ips: list[IPvAnyAddress] = []
    analytics_ips: list[IPvAnyAddress] = []
    analyticsdb_ips: list[IPvAnyAddress] = []
    auth_mode: Optional[AuthMode] = None
    ssl_enabled: bool = False
    kubernetes_clusters: dict[str, KubernetesCluster] = {}


class RequirerAppData(DatabagModel):
    """Written by the leader of each requiring application about itself."""

    unit_type: Optional[Literal["agent", "kubernetes", "openstack", "command"]] = None
    cluster_name: Optional[str] = None
    pod_subnets: list[IPvAnyNetwork] = []
    kubernetes_api_server: Optional[str] = None
    kubernetes_api_port: Optional[int] = None


class RequirerUnitData(DatabagModel):
    """Written by each requiring unit about itself (agents: DPDK mode and vhost address)."""

    dpdk: Optional[bool] = None
    vhost_address: Optional[IPvAnyAddress] = None
