"""A stand-in for Charmed Kubernetes' keepalived on the `website` relation (interface http).

What each keepalived unit writes in its own unit databag once it started the VRRP instance
(charm-keepalived src/reactive/keepalived.py website_available, through interface:http's
HttpProvides.configure; recorded in tests/bundle/data/charmed-kubernetes.yaml): `hostname` is
`vip_hostname`, or the VIP when that is empty; `private-address` the VIP (`virtual_ip` up to its
"/"), replacing the unit's own address that Juju put there; `port` the `port` option. Without
`virtual_ip` it blocks and writes nothing of its own, so only Juju's private-address is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CHARM = "keepalived"
ENDPOINT = "website"
DEFAULT_PORT = 443  # its config.yaml's default


def website_data(options: Mapping[str, Any], unit_address: str) -> dict[str, str]:
    """A keepalived unit's databag on `website`, given its options and its unit's address."""
    virtual_ip = str(options.get("virtual_ip") or "")
    if not virtual_ip:
        return {"private-address": unit_address}  # Juju's own key, until keepalived starts
    vip = virtual_ip.split("/")[0]
    return {
        "hostname": str(options.get("vip_hostname") or vip),
        "private-address": vip,
        "port": str(options.get("port", DEFAULT_PORT)),
    }
