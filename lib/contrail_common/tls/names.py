"""The names a unit is reached by, and the certificate request that carries them.

Every peer connects by address (XMPP to the control nodes' data addresses, sandesh to the
collectors, RabbitMQ, Cassandra and the APIs to the control addresses), and people and a few
tools by host name, so the request holds all of them. It is rebuilt from the current names on
every reconcile: a changed address gives a changed request, and the TLS library then replaces
the CSR.

The host name is the machine's FQDN, which is also the subject's common name; the short name
is added only on a machine without a domain. Vault's PKI role signs only names under its
`common_name` domain (allowed_domains with allow_subdomains, vault-operator
lib/charms/vault_k8s/v0/vault_client.py create_or_update_pki_charm_role) and requires a
common name, so a short name, in no domain, would make vault refuse the whole request.
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
        """The host name, the subject tools show; None when X.509 cannot hold it."""
        name = self.hostnames[0] if self.hostnames else None
        return name if name and len(name) <= _MAX_COMMON_NAME else None


def unit_names(
    address: str,
    *extra_addresses: Optional[str],
    vip: Optional[str] = None,
    hostnames: Optional[Iterable[str]] = None,
) -> UnitNames:
    """The names of a unit: its control address, then any others the caller knows (the
    controller's data address, the agent's vhost0 address), the VIP, 127.0.0.1 for local
    clients, and the host names (the machine's, unless given) with a domain, or all of them
    when none has one."""
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
    qualified = [name for name in names if "." in name]
    return UnitNames(tuple(ordered), tuple(qualified or names))


def local_hostnames() -> tuple[str, ...]:
    """This machine's FQDN and short host name (one name when they are the same); never
    `localhost`, which a machine without a resolvable name gets as its FQDN."""
    fqdn = socket.getfqdn()
    short = socket.gethostname().split(".")[0]
    names = (name for name in (fqdn, short) if name and not _loopback_name(name))
    return tuple(dict.fromkeys(names))


def _loopback_name(name: str) -> bool:
    return name.lower().split(".")[0] in ("localhost", "localhost6")


def certificate_request(names: UnitNames) -> CertificateRequestAttributes:
    """The request for this unit's one certificate, serving and client alike."""
    return CertificateRequestAttributes(
        common_name=names.common_name,
        sans_ip=names.addresses,
        sans_dns=names.hostnames or None,
    )
