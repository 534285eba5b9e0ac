"""Databags of the `contrail-controller` interface (controller provides; agent,
kubernetes-master and other orchestrator charms require).
"""

from __future__ import annotations

from typing import Literal, Optional

from contrail_common.addresses import Address, Host, Network, Port
from contrail_common.config import ClusterName
from contrail_common.databag import DatabagModel
from contrail_common.tls.fields import TlsPublishedCa, TlsReportFields
from contrail_common.upgrade.fields import ControlPlaneVersionFields, UpgradeReportFields

AuthMode = Literal["rbac", "cloud-admin", "no-auth"]


class KubernetesCluster(DatabagModel):
    """What the controller knows of one Kubernetes cluster, keyed by its cluster name."""

    pod_subnets: list[Network] = []
    api_server: Optional[Host] = None
    api_port: Optional[Port] = None


class ProviderAppData(TlsPublishedCa, ControlPlaneVersionFields):
    """Written by the controller leader; empty lists until min-cluster-size units are known.
    The TLS fields are the deployment's decision and, while TLS is on, its CA; the upgrade
    fields what the control plane runs (agents never lead it)."""

    controller_ips: list[Address] = []
    controller_data_ips: list[Address] = []
    analytics_ips: list[Address] = []
    analyticsdb_ips: list[Address] = []
    auth_mode: Optional[AuthMode] = None
    kubernetes_clusters: dict[ClusterName, KubernetesCluster] = {}
    # The controller's VIP (keepalived's) and its host name, for consumers that take one
    # address; null without one. Internal clients keep using controller-ips.
    controller_vip: Optional[Address] = None
    controller_vip_hostname: Optional[Host] = None


class RequirerAppData(TlsReportFields, UpgradeReportFields):
    """Written by the leader of each requiring application about itself; the TLS fields say
    whether every unit of it holds a certificate (agent, kubernetes-master); the upgrade fields
    what its units run and pulled (for pre-upgrade-check)."""

    unit_type: Optional[Literal["agent", "kubernetes", "openstack", "command"]] = None
    cluster_name: Optional[ClusterName] = None
    pod_subnets: list[Network] = []
    kubernetes_api_server: Optional[Host] = None
    kubernetes_api_port: Optional[Port] = None


class RequirerUnitData(DatabagModel):
    """Written by each requiring unit about itself (agents: DPDK mode and vhost address)."""

    dpdk: Optional[bool] = None
    vhost_address: Optional[Address] = None
