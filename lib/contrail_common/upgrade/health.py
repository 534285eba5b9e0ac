"""When a one-at-a-time stage may pass its lock on: the unit's sessions or memberships are back.

A unit reports what it reads (`SessionCounts` from its control node's introspect,
`MemberHealth` from its databases) in its peer data; the leader judges with these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Optional

from ..monitoring.introspect import Peer
from . import nodetool, rabbitmq, zookeeper
from .fields import MemberHealth, SessionCounts


def session_counts(peers: Iterable[Peer]) -> SessionCounts:
    """A control node's neighbours (introspect `BgpNeighborReq`) as counts."""
    listed = list(peers)
    bgp = [p for p in listed if p.kind == "bgp"]
    xmpp = [p for p in listed if p.kind == "xmpp"]
    return SessionCounts(
        bgp_up=sum(p.up for p in bgp),
        bgp_total=len(bgp),
        xmpp_up=sum(p.up for p in xmpp),
        xmpp_total=len(xmpp),
    )


def xmpp_sum(reports: Iterable[Optional[SessionCounts]]) -> int:
    """XMPP sessions up across the control nodes that reported."""
    return sum(report.xmpp_up for report in reports if report is not None)


def sessions_back(
    holder: Optional[SessionCounts],
    everyone: Iterable[Optional[SessionCounts]],
    control_nodes: int,
    baseline: Optional[int],
) -> tuple[bool, str]:
    """Whether the restarted control node's BGP peers and the XMPP agents are back.

    BGP: every neighbour it lists is Established, and it lists at least the other control
    nodes (a node that just started may list none yet, which is not "all up"). XMPP: agents
    hold two sessions each and move to another control node while theirs restarts, so the
    count that must come back is the sum over all control nodes, as it was at the grant.
    """
    if holder is None:
        return False, "its introspect has not answered yet"
    if holder.bgp_total < control_nodes - 1:
        return False, f"it knows {holder.bgp_total} of {control_nodes - 1} BGP peers"
    if holder.bgp_up < holder.bgp_total:
        return False, f"{holder.bgp_up}/{holder.bgp_total} BGP peers Established"
    now = xmpp_sum(everyone)
    if baseline is not None and now < baseline:
        return False, f"{now}/{baseline} XMPP sessions back"
    return True, ""


def membership_back(holder: Optional[MemberHealth]) -> tuple[bool, str]:
    if holder is None:
        return False, "it has not reported its membership yet"
    if not holder.ok:
        return False, holder.detail or "not a member again yet"
    return True, ""


def config_database_health(
    *,
    nodetool_status: Optional[str],
    zookeeper_srvr: Optional[str],
    rabbitmq_status: Optional[str],
    members: Sequence[str],
) -> MemberHealth:
    """A config-database unit's membership, from what it read on its own containers.

    `members` are the Cassandra addresses (every unit's); None for a reading that failed.
    """
    problems = database_problems(nodetool_status, members)
    if zookeeper_srvr is None:
        problems.append("ZooKeeper: no srvr answer")
    else:
        try:
            server = zookeeper.parse_srvr(zookeeper_srvr)
            problems += [
                f"ZooKeeper: {p}" for p in zookeeper.quorum_problems({"this unit": server})
            ]
            if len(members) > 1 and server.mode == "standalone":
                problems.append("ZooKeeper: standalone, not in the ensemble")
        except zookeeper.ZookeeperError as error:
            problems.append(f"ZooKeeper: {error}")
    if rabbitmq_status is None:
        problems.append("RabbitMQ: no cluster_status")
    else:
        try:
            cluster = rabbitmq.parse_cluster_status(rabbitmq_status)
            problems += [
                f"RabbitMQ: {p}" for p in rabbitmq.cluster_problems(cluster, len(members))
            ]
        except rabbitmq.ClusterStatusError as error:
            problems.append(f"RabbitMQ: {error}")
    return MemberHealth(ok=not problems, detail="; ".join(problems))


def analytics_database_health(
    *, nodetool_status: Optional[str], members: Sequence[str]
) -> MemberHealth:
    problems = database_problems(nodetool_status, members)
    return MemberHealth(ok=not problems, detail="; ".join(problems))


def database_problems(nodetool_status: Optional[str], members: Sequence[str]) -> list[str]:
    if nodetool_status is None:
        return ["Cassandra: no nodetool status"]
    try:
        ring = nodetool.parse_status(nodetool_status)
    except nodetool.NodetoolError as error:
        return [f"Cassandra: {error}"]
    return [f"Cassandra: {p}" for p in nodetool.ring_problems(ring, members)]
