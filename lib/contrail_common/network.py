"""The unit's addresses: Juju's binding by default, or the first match of an operator's CIDRs."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Iterable, Sequence
from typing import Optional, Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def host_addresses() -> list[IPAddress]:
    """Every global address on this machine's interfaces (from `ip -json address`)."""
    result = subprocess.run(
        ["ip", "-json", "address", "show"], capture_output=True, text=True, check=True, timeout=30
    )
    addresses: list[IPAddress] = []
    for interface in json.loads(result.stdout or "[]"):
        for info in interface.get("addr_info", []):
            if info.get("scope") == "global" and info.get("local"):
                addresses.append(ipaddress.ip_address(info["local"]))
    return addresses


def pick_address(
    networks: Sequence[IPNetwork], candidates: Iterable[IPAddress]
) -> Optional[IPAddress]:
    """The first candidate inside the first network that holds one (networks in option order)."""
    candidates = list(candidates)
    for network in networks:
        for address in candidates:
            if address.version == network.version and address in network:
                return address
    return None
