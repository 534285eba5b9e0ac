"""Databags of the `contrail-analyticsdb` interface (analyticsdb provides; controller and
analytics require, optionally).
"""

from __future__ import annotations

from typing import Literal, Optional

from contrail_common.addresses import Address
from contrail_common.databag import DatabagModel


class ProviderAppData(DatabagModel):
    """Written by the analyticsdb leader; empty until min-cluster-size units are known."""

    analyticsdb_ips: list[Address] = []


class RequirerAppData(DatabagModel):
    """Written by the leader of each requirer: the controller fills the controller fields,
    analytics fills `analytics_ips`; `unit_type` says which one wrote it.
    """

    unit_type: Optional[Literal["controller", "analytics"]] = None
    controller_ips: list[Address] = []
    controller_data_ips: list[Address] = []
    auth_mode: Optional[Literal["rbac", "cloud-admin", "no-auth"]] = None
    cloud_orchestrator: Optional[str] = None
    analytics_ips: list[Address] = []
