"""Databags of the `contrail-analytics` interface (analytics provides, controller requires)."""

from __future__ import annotations

from typing import Literal, Optional

from contrail_common.addresses import Address
from contrail_common.tls.fields import TlsReportFields, TlsSwitchFields
from contrail_common.upgrade.fields import ControlPlaneVersionFields, UpgradeReportFields


class ProviderAppData(TlsReportFields, UpgradeReportFields):
    """Written by the analytics leader; empty until min-cluster-size units are known. The TLS
    fields say whether every analytics unit holds a certificate, and from which CA; the upgrade
    fields what its units run and pulled (for pre-upgrade-check)."""

    analytics_ips: list[Address] = []


class RequirerAppData(TlsSwitchFields, ControlPlaneVersionFields):
    """Written by the controller leader: what analytics needs to join the control plane, the
    deployment's TLS decision, and what the control plane runs (analytics moves to a new tag
    once the controller runs it)."""

    controller_ips: list[Address] = []
    controller_data_ips: list[Address] = []
    auth_mode: Optional[Literal["rbac", "cloud-admin", "no-auth"]] = None
    cloud_orchestrator: Optional[str] = None
