"""Network facts for vhost0: IPv4 routes and gateway, interface addresses, bridges.

Routes come from `/proc/net/route`, whose addresses are hex in the kernel's (little-endian)
byte order: gateway `0102A8C0` is 192.168.2.1.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass

from ..hostpaths import HostRoot
from .commands import Runner, run
from .errors import CommandFailedError

_ROOT = HostRoot()
_RTF_UP = 0x1
_RTF_GATEWAY = 0x2


@dataclass(frozen=True)
class Route:
    interface: str
    destination: ipaddress.IPv4Address
    gateway: ipaddress.IPv4Address
    mask: ipaddress.IPv4Address
    flags: int
    metric: int

    @property
    def is_default(self) -> bool:
        return int(self.destination) == 0 and int(self.mask) == 0

    @property
    def via_gateway(self) -> bool:
        return self.flags & (_RTF_UP | _RTF_GATEWAY) == _RTF_UP | _RTF_GATEWAY


def _address(field: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(field, 16).to_bytes(4, "little"))


def read_routes(host: HostRoot = _ROOT) -> list[Route]:
    """The IPv4 routing table, lowest metric first."""
    routes: list[Route] = []
    for line in host.path("/proc/net/route").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            route = Route(
                interface=fields[0],
                destination=_address(fields[1]),
                gateway=_address(fields[2]),
                flags=int(fields[3], 16),
                metric=int(fields[6]),
                mask=_address(fields[7]),
            )
        except ValueError:  # not a route line: skip it rather than fail the hook
            continue
        routes.append(route)
    return sorted(routes, key=lambda route: route.metric)


def default_route_interfaces(host: HostRoot = _ROOT) -> list[str]:
    """Interfaces carrying a default route, best (lowest metric) first."""
    names: list[str] = []
    for route in read_routes(host):
        if route.is_default and route.via_gateway and route.interface not in names:
            names.append(route.interface)
    return names


def default_gateway(host: HostRoot = _ROOT, interface: str | None = None) -> str | None:
    """The IPv4 gateway of the default route, or of `interface` (as vhost-gateway=auto).

    For an interface without a default route, its first gateway route is used, as the old
    charm did: a data network often has only static routes while the default is elsewhere.
    """
    routes = [r for r in read_routes(host) if r.via_gateway]
    if interface is not None:
        routes = [r for r in routes if r.interface == interface]
    defaults = [r for r in routes if r.is_default]
    if defaults:
        return str(defaults[0].gateway)
    return str(routes[0].gateway) if routes and interface is not None else None


def _check_name(name: str) -> str:
    # The kernel's own rule (dev_valid_name); also keeps names from escaping /sys/class/net.
    if not name or len(name) > 15 or name in (".", "..") or any(c in name for c in "/: \t\n"):
        raise ValueError(f"invalid interface name {name!r}")
    return name


def interface_exists(host: HostRoot, name: str) -> bool:
    return host.path(f"/sys/class/net/{_check_name(name)}").exists()


def is_bridge(host: HostRoot = _ROOT, name: str = "") -> bool:
    """Whether the interface is a Linux bridge (MAAS `br-*`), which vhost0 must not take over."""
    return host.path(f"/sys/class/net/{_check_name(name)}/bridge").is_dir()


def interface_address(
    host: HostRoot = _ROOT, name: str = "vhost0", runner: Runner = subprocess.run
) -> str | None:
    """The interface's address: IPv4 (not host-scoped) first, else global IPv6; None if none.

    None as well when the interface does not exist (vhost0 before the agent starts).
    """
    if not interface_exists(host, name):
        return None
    result = run(runner, ["ip", "-json", "address", "show", "dev", name], timeout=30)
    if result.returncode != 0:
        return None  # gone between the check and the call
    try:
        links = json.loads(result.stdout or "[]")
        addresses = [a for link in links for a in link.get("addr_info", [])]
    except (ValueError, AttributeError, TypeError):
        raise CommandFailedError(
            f"ip printed no JSON for {name}; install iproute2 ≥ 4.14"
        ) from None
    for family, scopes in (("inet", ("global", "link", "site")), ("inet6", ("global",))):
        for entry in addresses:
            local = entry.get("local")
            if local and entry.get("family") == family and entry.get("scope") in scopes:
                return str(local)
    return None
