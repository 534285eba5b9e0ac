"""Databags of the `contrail-analyticsdb` interface (analyticsdb provides; controller and
analytics require, optionally).
"""

from __future__ import annotations

from typing import Literal, Optional

from contrail_common.addresses import Address
from contrail_common.tls.fields import TlsReportFields, TlsSwitchFields
from contrail_common.upgrade.fields import ControlPlaneVersionFields, UpgradeReportFields


class ProviderAppData(TlsReportFields, UpgradeReportFields):
    """Written by the analyticsdb leader; empty until min-cluster-size units are known. The TLS
    fields say whether every analyticsdb unit holds a certificate, and from which CA; the
    upgrade fields what its units run and pulled (for pre-upgrade-check)."""

    analyticsdb_ips: list[Address] = []


class RequirerAppData(TlsSwitchFields, ControlPlaneVersionFields):
    """Written by the leader of each requirer: the controller fills the controller fields, the
    deployment's TLS decision and what the control plane runs, analytics fills
    `analytics_ips`; `unit_type` says which one wrote it (only the controller's TLS and
    version fields count).
    """

    unit_type: Optional[Literal["controller", "analytics"]] = None
    controller_ips: list[Address] = []
    controller_data_ips: list[Address] = []
    auth_mode: Optional[Literal["rbac", "cloud-admin", "no-auth"]] = None
    cloud_orchestrator: Optional[str] = None
    analytics_ips: list[Address] = []
