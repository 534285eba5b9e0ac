"""The controller's virtual IP, as keepalived publishes it on the `vip` relation.

keepalived (Charmed Kubernetes' subordinate, on the controller's machines) moves the VIP between
the controller units by VRRP and tells the controller what it is on `website` (`interfaces/http`),
so the VIP is set in one place: keepalived's `virtual_ip`. Internal clients never use it (they
keep their unit lists and fail over themselves); it serves external API and web UI users and
single-address consumers (README "High availability").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import ops

from contrail_interfaces.http_v0 import ProviderUnitData

from .databag import MalformedDatabagError, read_databag

ENDPOINT = "vip"
# The controller's config API: the port keepalived should health-check.
CONFIG_API_PORT = 8082


@dataclass(frozen=True)
class Vip:
    address: str
    # keepalived's vip_hostname; None when it has none (it then sends the VIP itself).
    hostname: Optional[str]
    port: int


@dataclass
class VipReading:
    vip: Optional[Vip] = None
    problems: list[ops.StatusBase] = field(default_factory=list)
    # Why there is no VIP (yet), or what to fix in keepalived: for the active message.
    notes: list[str] = field(default_factory=list)


def read_vip(relation: Optional[ops.Relation]) -> VipReading:
    """The VIP every keepalived unit agrees on, or why there is none."""
    reading = VipReading()
    if relation is None or relation.app is None:
        return reading
    app = relation.app.name
    found: set[Vip] = set()
    for unit in sorted(relation.units, key=lambda u: u.name):
        try:
            data = read_databag(relation, unit, ProviderUnitData)
        except MalformedDatabagError as error:
            reading.problems.append(ops.BlockedStatus(f"{error}: fix {app}'s options"))
            continue
        # Before keepalived writes, private-address is Juju's: the unit's own address.
        if data is None or data.port is None or not data.private_address:
            continue
        hostname = data.hostname if data.hostname != data.private_address else None
        found.add(Vip(data.private_address, hostname, data.port))
    if reading.problems:
        return reading
    if not found:
        reading.notes.append(f"no VIP yet: {app} publishes none (set its virtual_ip)")
    elif len(found) > 1:
        listed = ", ".join(sorted(v.address for v in found))
        reading.notes.append(f"no VIP: {app} units publish different ones ({listed})")
    else:
        (reading.vip,) = found
        if reading.vip.port != CONFIG_API_PORT:
            reading.notes.append(
                f"{app} health-checks port {reading.vip.port}: set its port to "
                f"{CONFIG_API_PORT} so the VIP follows a running config API"
            )
    return reading
