"""Databags of the `http` interface as keepalived writes them on `website`.

keepalived (Charmed Kubernetes) provides `website`; contrail-controller requires it on `vip`.
All data is in UNIT databags, as plain strings (not JSON), written by interface:http's
HttpProvides.configure (charmed-kubernetes/interface-http@632131b provides.py).
"""

from __future__ import annotations

from typing import Optional

from contrail_common.addresses import AddressText, Host, Port
from contrail_common.databag import DatabagModel


class ProviderUnitData(DatabagModel):
    """Written by each keepalived unit once its VRRP instance runs."""

    raw_values = True

    # keepalived's vip_hostname, or the VIP when that option is empty.
    hostname: Optional[Host] = None
    # The VIP (virtual_ip up to its "/"). Before keepalived writes, Juju's own value is here:
    # the keepalived unit's address, which is not the VIP.
    private_address: Optional[AddressText] = None
    # keepalived's `port` option: the port its health check connects to on 127.0.0.1.
    port: Optional[Port] = None
