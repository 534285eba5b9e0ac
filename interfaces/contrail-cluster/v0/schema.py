"""Databags of the control-plane peer relations (controller-, analytics-, analyticsdb-cluster).

Each unit publishes its own addresses; the leader keeps the ordered member list (and, for the
controller, the ID of the generated RabbitMQ Erlang cookie secret) in the application databag.
"""

from __future__ import annotations

from typing import Optional

from contrail_common.addresses import Address, AddressText
from contrail_common.databag import DatabagModel
from contrail_common.tls.fields import TlsSwitchFields, TlsUnitFields


class Member(DatabagModel):
    """One unit of the cluster with the addresses it published."""

    unit: str
    address: AddressText
    data_address: Optional[AddressText] = None


class PeerUnitData(TlsUnitFields):
    """Written by every unit about itself, on every reconcile: its addresses and the CA of the
    certificate it holds (`tls-ca-fingerprint`, `tls-ca-subject`; null while it holds none)."""

    address: Optional[Address] = None
    data_address: Optional[Address] = None


class PeerAppData(TlsSwitchFields):
    """Written by the leader only. The controller's leader also keeps its TLS decision here
    (`ssl-enabled`, `ca-fingerprint`, `ca-subject`), which its other units render from."""

    members: list[Member] = []
    # IDs of charm-owned secrets the leader created for the whole application.
    erlang_cookie_secret: Optional[str] = None
    # contrail-controller: the web UI's admin password (key `password`).
    webui_password_secret: Optional[str] = None
    kube_manager_token_secret: Optional[str] = None
    # contrail-kubernetes-master: the ClusterIP of default/kubernetes, to check service_subnets.
    kubernetes_service_ip: Optional[AddressText] = None
