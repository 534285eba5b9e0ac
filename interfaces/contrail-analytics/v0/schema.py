"""Databags of the `contrail-analytics` interface (analytics provides, controller requires)."""

from __future__ import annotations

from typing import Literal, Optional

from contrail_common.addresses import Address
from contrail_common.tls.fields import TlsReportFields, TlsSwitchFields


class ProviderAppData(TlsReportFields):
    """Written by the analytics leader; empty until min-cluster-size units are known. The TLS
    fields say whether every analytics unit holds a certificate, and from which CA."""

    analytics_ips: list[Address] = []


class RequirerAppData(TlsSwitchFields):
    """Written by the controller leader: what analytics needs to join the control plane, and
    the deployment's TLS decision."""

    controller_ips: list[Address] = []
    controller_data_ips: list[Address] = []
    auth_mode: Optional[Literal["rbac", "cloud-admin", "no-auth"]] = None
    cloud_orchestrator: Optional[str] = None
