"""The commands the leader runs in its own containers to remove a member, as argument lists.

Each is the form the images themselves use (`images/membership.yaml`): nodetool with the JMX
port the entrypoint gives Cassandra (`status -p <port>` as readiness.sh runs it), and
rabbitmqctl with no node argument, which the entrypoint's rabbitmq-env.conf makes address the
local node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .schema import Service

# Reading state: a JVM or an Erlang VM starts for each command.
PROBE_TIMEOUT = 90.0
# `nodetool removenode` returns once the ring has re-replicated the node's ranges; past this it
# goes on in Cassandra, and the step is followed with `removenode status`.
REMOVENODE_TIMEOUT = 300.0
FORGET_TIMEOUT = 120.0
# `nodetool decommission` streams the leaving node's data to the others before it returns.
DECOMMISSION_TIMEOUT = 1800.0


@dataclass(frozen=True)
class CassandraTarget:
    """The leader's Cassandra container and the JMX port its entrypoint listens on."""

    container: str
    jmx_port: int

    def status(self) -> list[str]:
        return ["nodetool", "status", "-p", str(self.jmx_port)]

    def removenode(self, host_id: str) -> list[str]:
        return ["nodetool", "removenode", "-p", str(self.jmx_port), host_id]

    def removal_status(self) -> list[str]:
        return ["nodetool", "removenode", "-p", str(self.jmx_port), "status"]

    def decommission(self) -> list[str]:
        """Run on the leaving node itself: it streams its ranges away and leaves the ring."""
        return ["nodetool", "decommission", "-p", str(self.jmx_port)]


@dataclass(frozen=True)
class RabbitmqTarget:
    """The leader's RabbitMQ container."""

    container: str

    @staticmethod
    def cluster_status() -> list[str]:
        return ["rabbitmqctl", "cluster_status", "--formatter", "json"]

    @staticmethod
    def forget(node: str) -> list[str]:
        return ["rabbitmqctl", "forget_cluster_node", node]

    @staticmethod
    def stop_app() -> list[str]:
        """Run on the leaving node: RabbitMQ stops, the Erlang node stays up for `reset`."""
        return ["rabbitmqctl", "stop_app"]

    @staticmethod
    def reset() -> list[str]:
        """Run on the leaving, stopped node: it tells the cluster it leaves, and forgets it."""
        return ["rabbitmqctl", "reset"]


def rabbit_node(hostname: str) -> str:
    """The node name the entrypoint gives the RabbitMQ of a host."""
    return f"contrail@{hostname}"


@dataclass(frozen=True)
class Targets:
    """Which services of a charm keep members of their own, and where the leader reaches them.

    controller: Cassandra (configdb), RabbitMQ and ZooKeeper; analyticsdb: Cassandra; analytics:
    none (a Kafka broker's id only needs to stay unused, which permanent ids ensure).
    """

    cassandra: Optional[CassandraTarget] = None
    rabbitmq: Optional[RabbitmqTarget] = None
    zookeeper: bool = False

    def services(self) -> list[Service]:
        """In the order a removal runs them: the database first, ZooKeeper's server list last,
        once the other services have confirmed the member is down."""
        chosen: list[Service] = []
        if self.cassandra is not None:
            chosen.append("cassandra")
        if self.rabbitmq is not None:
            chosen.append("rabbitmq")
        if self.zookeeper:
            chosen.append("zookeeper")
        return chosen
