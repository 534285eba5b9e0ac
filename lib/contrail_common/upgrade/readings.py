"""What a unit reads about itself for the leader's one-at-a-time stages, and how.

A control node's sessions come from its own introspect (8083, `BgpNeighborReq`); a database
unit's membership from its own containers (`nodetool status` with the JMX port the entrypoint
listens on, `rabbitmqctl cluster_status`) and ZooKeeper's `srvr` on its client port. A reading
that fails is None, which the health judgments count as "not back yet": never as healthy.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Optional

from ..containers import ContainerEngine, EngineError
from ..membership.commands import PROBE_TIMEOUT, CassandraTarget, RabbitmqTarget
from ..monitoring.introspect import Fetch, IntrospectError, control_node_peers, http_fetch
from . import health
from .fields import MemberHealth, SessionCounts

logger = logging.getLogger(__name__)

# Asks a ZooKeeper server a four-letter word: (address, port, word, timeout) -> its answer.
FourLetterWord = Callable[[str, int, str, float], str]


def four_letter_word(address: str, port: int, word: str, timeout: float) -> str:
    """ZooKeeper's answer to `word` on its client port (it closes the connection after it)."""
    with socket.create_connection((address, port), timeout=timeout) as connection:
        connection.sendall(word.encode())
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


@dataclass(frozen=True)
class Probes:
    """Where a charm's units read what its stages wait for (None: it has no such thing)."""

    control_introspect: Optional[int] = None  # the control node's introspect port
    cassandra: Optional[CassandraTarget] = None
    zookeeper_port: Optional[int] = None
    rabbitmq: Optional[RabbitmqTarget] = None


@dataclass
class Reader:
    """This unit's readings, through its engine and its own address."""

    probes: Probes
    engine: ContainerEngine
    project: str
    address: str
    fetch: Fetch = http_fetch
    ask: FourLetterWord = four_letter_word
    timeout: float = 5.0

    def sessions(self) -> Optional[SessionCounts]:
        port = self.probes.control_introspect
        if port is None:
            return None
        try:
            peers = control_node_peers(f"http://{self.address}:{port}", self.fetch, self.timeout)
        except IntrospectError as error:
            logger.info("control introspect: %s", error)
            return None
        return health.session_counts(peers)

    def membership(self, members: Sequence[str]) -> MemberHealth:
        """The unit's clusters (`members`: every unit's address, as Cassandra's seeds)."""
        if self.probes.zookeeper_port is None and self.probes.rabbitmq is None:
            return health.analytics_database_health(
                nodetool_status=self.nodetool_status(), members=members
            )
        return health.config_database_health(
            nodetool_status=self.nodetool_status(),
            zookeeper_srvr=self.zookeeper_srvr(self.address),
            rabbitmq_status=self.rabbitmq_status(),
            members=members,
        )

    def nodetool_status(self) -> Optional[str]:
        target = self.probes.cassandra
        return None if target is None else self._run(target.container, target.status())

    def rabbitmq_status(self) -> Optional[str]:
        target = self.probes.rabbitmq
        return None if target is None else self._run(target.container, target.cluster_status())

    def zookeeper_srvr(self, address: str) -> Optional[str]:
        if self.probes.zookeeper_port is None:
            return None
        try:
            return self.ask(address, self.probes.zookeeper_port, "srvr", self.timeout)
        except OSError as error:
            logger.info("zookeeper srvr on %s: %s", address, error)
            return None

    def _run(self, container: str, argv: Sequence[str]) -> Optional[str]:
        try:
            result = self.engine.exec(self.project, container, argv, PROBE_TIMEOUT)
        except EngineError as error:
            logger.info("%s in %s: %s", argv[0], container, error)
            return None
        if result.exit_code != 0:
            logger.info("%s in %s exited %d", argv[0], container, result.exit_code)
            return None
        return result.output
