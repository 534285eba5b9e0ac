"""Reading what a surviving node's own tools say about the cluster (read-only commands)."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass

from ..upgrade.rabbitmq import parse_cluster_status

# A ring row of `nodetool status`: state (Up/Down, Normal/Leaving/Joining/Moving), address,
# load (which may hold a space or be `?`), tokens, owns, host id, rack.
_RING_ROW = re.compile(
    r"^(?P<state>[UD][NLJM])\s+(?P<address>\S+)\s.*?"
    r"(?P<host_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b",
    re.IGNORECASE,
)
NO_REMOVALS = "No removals in process"


@dataclass(frozen=True)
class RingNode:
    state: str  # e.g. UN, DN, UL
    address: str
    host_id: str

    @property
    def up(self) -> bool:
        return self.state.upper().startswith("U")


def ring(nodetool_status: str) -> dict[str, RingNode]:
    """The nodes of `nodetool status` output by canonical address (every datacenter)."""
    nodes = {}
    for line in nodetool_status.splitlines():
        found = _RING_ROW.match(line.strip())
        if found is None:
            continue
        try:
            address = str(ipaddress.ip_address(found["address"]))
        except ValueError:
            continue
        nodes[address] = RingNode(found["state"].upper(), address, found["host_id"].lower())
    return nodes


def removal_running(removenode_status: str) -> bool:
    """Whether `nodetool removenode status` reports a removal still going on."""
    return NO_REMOVALS.lower() not in removenode_status.lower()


@dataclass(frozen=True)
class RabbitCluster:
    """RabbitMQ node names (`contrail@<host>`) that are members, and those running."""

    members: frozenset[str]
    running: frozenset[str]


def rabbit_cluster(cluster_status: str) -> RabbitCluster:
    """`rabbitmqctl cluster_status --formatter json` in every form the images' RabbitMQ
    versions print: 3.8 and later `disk_nodes`/`ram_nodes`, the `nodes: {disc, ram}` object the
    entrypoint itself reads, and 3.7's Erlang term (read by the upgrade checks' parser).

    Raises ValueError when the output is none of these, or names no member: "not a member"
    must never be concluded from output that could not be read.
    """
    body = _json_part(cluster_status)
    if not body.startswith("{"):
        term = parse_cluster_status(cluster_status)
        if not term.nodes:
            raise ValueError("cluster_status lists no nodes")
        return RabbitCluster(frozenset(term.nodes), frozenset(term.running))
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("cluster_status did not print a JSON object")
    nodes = document.get("nodes")
    if not isinstance(nodes, dict):
        nodes = {}
    members = {
        *_names(document.get("disk_nodes")),
        *_names(document.get("ram_nodes")),
        *_names(nodes.get("disc")),
        *_names(nodes.get("ram")),
    }
    if not members:
        raise ValueError("cluster_status lists no nodes")
    return RabbitCluster(frozenset(members), frozenset(_names(document.get("running_nodes"))))


def _json_part(text: str) -> str:
    """The output without the banner line rabbitmqctl may print before the document."""
    lines = text.strip().splitlines()
    kept = [line for line in lines if not line.startswith("Cluster status of node")]
    return "\n".join(kept).strip()


def _names(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
