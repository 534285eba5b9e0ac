"""Cassandra's ring from `nodetool status`, and whether every member is Up and Normal.

Both Contrail Cassandra clusters (config database on the controller, JMX 7201; analytics
database, JMX 7200) are 3.11 on every line (`images/upgrade.yaml`: cassandra-version), whose
`nodetool status` prints, per datacenter, a legend and one row per node:

    UN  10.0.0.11  1.02 MiB  256  67.1%  0f5f3ed2-...  rack1

The first letter is the status (Up/Down), the second the state (Normal, Leaving, Joining,
Moving); Load has a space in it, and Owns reads `?` when no keyspace is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_ROW = re.compile(r"^(?P<status>[UD])(?P<state>[NLJM])\s+(?P<address>\S+)\s+(?P<rest>.*)$")
_HOST_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_STATES = {"N": "Normal", "L": "Leaving", "J": "Joining", "M": "Moving"}


class NodetoolError(ValueError):
    """The text is not `nodetool status` output (an error, or another command's)."""


@dataclass(frozen=True)
class CassandraNode:
    address: str
    up: bool
    state: str  # Normal, Leaving, Joining, Moving
    host_id: str = ""

    @property
    def code(self) -> str:
        return ("U" if self.up else "D") + self.state[0]


def parse_status(text: str) -> list[CassandraNode]:
    """Every node row of every datacenter."""
    nodes = []
    for line in text.splitlines():
        match = _ROW.match(line.strip())
        if match is None:
            continue
        host_id = _HOST_ID.search(match.group("rest"))
        nodes.append(
            CassandraNode(
                address=match.group("address"),
                up=match.group("status") == "U",
                state=_STATES[match.group("state")],
                host_id=host_id.group(0) if host_id else "",
            )
        )
    if not nodes and "Datacenter:" not in text:
        first = text.strip().splitlines()[0] if text.strip() else "no output"
        raise NodetoolError(f"not nodetool status output: {first[:120]}")
    return nodes


def ring_problems(nodes: Iterable[CassandraNode], members: Iterable[str]) -> list[str]:
    """What keeps the ring from holding every member Up and Normal; empty when it does.

    `members` are the addresses the charm gives Cassandra (CASSANDRA_SEEDS).
    """
    by_address = {node.address: node for node in nodes}
    problems = []
    for address in members:
        node = by_address.pop(address, None)
        if node is None:
            problems.append(f"{address} is not in the ring")
        elif node.code != "UN":
            problems.append(
                f"{address} is {node.code} ({'Up' if node.up else 'Down'}, {node.state})"
            )
    for address, node in sorted(by_address.items()):
        # A node the charm no longer lists: a removed unit still holding tokens.
        problems.append(f"{address} ({node.code}) is in the ring but not a member")
    return problems
