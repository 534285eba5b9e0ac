"""The member lists the images read, rendered from permanent ids.

Two kinds of list:

- **Ordinal lists** (ZOOKEEPER_NODES for the zookeeper container, KAFKA_NODES for the kafka
  container): the image takes a member's id from its position, so member N sits at position N
  and an id nobody holds any more is a placeholder.
- **Explicit lists**: ZOO_SERVERS as `server.<id>=<address>:<ports>`, which the ZooKeeper
  entrypoint uses as it is when set, so its server ids never depend on positions and it has
  no holes. Everything else (client lists, Cassandra seeds, RabbitMQ nodes) is a plain list of
  addresses in id order.

Why the placeholder is 0.0.0.0 (facts in `images/membership.yaml`): the entrypoints count every
entry of the list, resolvable or not, until they find one of the host's own addresses;
each entry goes through Python's `socket.gethostbyname`, which takes a dotted-quad literal as
it is without asking any resolver (so no DNS delay or failure); and the host's own addresses are
the `/32 host` routes of /proc/net/fib_trie, where 0.0.0.0 never appears (Linux ignores an
attempt to assign it). A loopback or any other unicast address could belong to some host; a
name would need a lookup; an empty entry breaks the contract's list format and the entrypoints'
`tr ',' ' '` loops.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from .schema import MemberRecord

PLACEHOLDER = "0.0.0.0"  # noqa: S104 - not a bind address: a list entry no host can own
ZOOKEEPER_PEER_PORTS = "2888:3888"


def ordinal_list(members: Iterable[MemberRecord]) -> list[str]:
    """Each member's address at position `id` (counting from 1), PLACEHOLDER at the others.

    The list ends with the highest id in use, so a removed last member shortens it.
    """
    by_id = {m.id: m.address for m in members if m.id is not None}
    if not by_id:
        return []
    return [by_id.get(position, PLACEHOLDER) for position in range(1, max(by_id) + 1)]


def zoo_servers(members: Iterable[MemberRecord], ports: str = ZOOKEEPER_PEER_PORTS) -> str:
    """ZOO_SERVERS: `server.<id>=<address>:<ports>` for each member, space-separated."""
    entries = sorted((m.id, m.address) for m in members if m.id is not None)
    return " ".join(f"server.{n}={_host(address)}:{ports}" for n, address in entries)


def addresses(members: Iterable[MemberRecord]) -> list[str]:
    """The members' addresses in id order, for every list that is not ordinal."""
    return [m.address for m in sorted(members, key=lambda m: m.id or 0)]


def data_addresses(members: Iterable[MemberRecord]) -> list[str]:
    """The members' data-network addresses (their address when they have none), in id order."""
    return [m.data_address or m.address for m in sorted(members, key=lambda m: m.id or 0)]


def _host(address: str) -> str:
    """ZooKeeper's server lines take an IPv6 address in brackets."""
    return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
