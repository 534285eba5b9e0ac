"""The names a unit is reached by, and the certificate request that carries them.

Every peer connects by address (XMPP to the control nodes' data addresses, sandesh to the
collectors, RabbitMQ, Cassandra and the APIs to the control addresses), and a few tools by host
name, so the request holds all of them. It is rebuilt from the current names on every reconcile:
a changed address gives a changed request, and the TLS library then replaces the CSR.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional

from charmlibs.interfaces.tls_certificates import CertificateRequestAttributes

# X.509 caps the common name at 64 characters (RFC 5280 ub-common-name).
_MAX_COMMON_NAME = 64
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class UnitNames:
    """Every address and host name a peer may use to reach this unit."""

    addresses: tuple[str, ...]
    hostnames: tuple[str, ...]

    @property
    def common_name(self) -> Optional[str]:
        """The short host name, the subject tools show; None when X.509 cannot hold it."""
        short = next((name for name in self.hostnames if "." not in name), None)
        name = short or (self.hostnames[0] if self.hostnames else None)
        return name if name and len(name) <= _MAX_COMMON_NAME else None


def unit_names(
    address: str,
    *extra_addresses: Optional[str],
    vip: Optional[str] = None,
    hostnames: Optional[Iterable[str]] = None,
) -> UnitNames:
    """The names of a unit: its control address, then any others the caller knows (the
    controller's data address, the agent's vhost0 address), the VIP, 127.0.0.1 for local
    clients, and the FQDN and short host name (the machine's, unless given)."""
    ordered: list[str] = []
    for candidate in (address, *extra_addresses, vip, LOOPBACK):
        if not candidate:
            continue
        normal = str(ipaddress.ip_address(candidate))
        if normal not in ordered:
            ordered.append(normal)
    names: list[str] = []
    for name in local_hostnames() if hostnames is None else hostnames:
        name = name.strip().rstrip(".").lower()
        if name and name not in names:
            names.append(name)
    return UnitNames(tuple(ordered), tuple(names))


def local_hostnames() -> tuple[str, ...]:
    """This machine's FQDN and short host name (one name when they are the same)."""
    fqdn = socket.getfqdn()
    short = socket.gethostname().split(".")[0]
    return tuple(dict.fromkeys(name for name in (fqdn, short) if name))


def certificate_request(names: UnitNames) -> CertificateRequestAttributes:
    """The request for this unit's one certificate, serving and client alike."""
    return CertificateRequestAttributes(
        common_name=names.common_name,
        sans_ip=names.addresses,
        sans_dns=names.hostnames or None,
    )
