"""Databags of the `contrail-analytics` interface (analytics provides, controller requires)."""

from __future__ import annotations

from typing import Literal, Optional

from contrail_common.addresses import Address
from contrail_common.databag import DatabagModel


class ProviderAppData(DatabagModel):
    """Written by the analytics leader; empty until min-cluster-size units are known."""

    analytics_ips: list[Address] = []


class RequirerAppData(DatabagModel):
    """Written by the controller leader: what analytics needs to join the control plane."""

    controller_ips: list[Address] = []
    controller_data_ips: list[Address] = []
    auth_mode: Optional[Literal["rbac", "cloud-admin", "no-auth"]] = None
    cloud_orchestrator: Optional[str] = None
