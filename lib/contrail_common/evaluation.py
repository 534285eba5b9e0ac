"""What one look at a unit found: its cluster and the evaluation the base and components share.

`ContrailCharm.evaluate()` builds an `Evaluation` and only reads; the components (monitoring,
TLS) take it in their `apply`, the charm in `gather`, `services` and `publish`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Optional, TypeVar

import ops

from .cluster import Member, PeerAppData
from .config import WorkloadConfig
from .containers import RegistryCredentials
from .membership.lists import addresses, ordinal_list, zoo_servers
from .membership.roster import Roster
from .membership.schema import Service
from .tls.component import TlsEvaluation
from .upgrade.workloads import TagChoice

ConfigT = TypeVar("ConfigT", bound=WorkloadConfig)


@dataclass
class Cluster:
    """This unit's addresses and its application's members, as the leader keeps them.

    `members` are the units on the peer relation, by id: the client lists, what is published
    and what the size gate counts once formed. The services' own lists come from `roster`,
    which keeps a departed member in a service until its removal from it is done, and renders
    ordinal lists from the permanent ids (`membership.lists`).
    """

    address: str
    data_address: str
    members: list[Member]
    min_size: int
    # The leader's whole member data; built from `members` when not given (charms without a
    # peer relation, tests).
    roster: Optional[Roster] = None

    def __post_init__(self) -> None:
        if self.roster is None:
            self.roster = Roster(PeerAppData(members=self.members))

    @property
    def complete(self) -> bool:
        """min-cluster-size members known. Departed members not yet removed still count: a
        scale-in that is held keeps the cluster serving as it was."""
        assert self.roster is not None
        return len(self.roster.members) >= self.min_size

    @property
    def addresses(self) -> list[str]:
        return [m.address for m in self.members]

    @property
    def data_addresses(self) -> list[str]:
        return [m.data_address or m.address for m in self.members]

    def serving(self, service: Service) -> list[str]:
        """The addresses `service` itself still counts as members (Cassandra seeds, RabbitMQ
        nodes), in id order."""
        assert self.roster is not None
        return addresses(self.roster.in_service(service))

    @property
    def ordinal_addresses(self) -> list[str]:
        """Each member at the position of its id, the placeholder where nobody holds it any
        more: the zookeeper container's ZOOKEEPER_NODES, the kafka container's KAFKA_NODES."""
        assert self.roster is not None
        return ordinal_list(self.roster.members)

    @property
    def zoo_servers(self) -> str:
        """ZOO_SERVERS: the ZooKeeper ensemble by id."""
        assert self.roster is not None
        return zoo_servers(self.roster.in_service("zookeeper"))


@dataclass
class Evaluation(Generic[ConfigT]):
    """What one look at config, secrets, relations and host facts found."""

    problems: list[ops.StatusBase] = field(default_factory=list)
    config: Optional[ConfigT] = None
    credentials: Optional[RegistryCredentials] = None
    cluster: Optional[Cluster] = None
    # The unit's certificate and the deployment's switch; off for charms without `certificates`.
    tls: TlsEvaluation = field(default_factory=TlsEvaluation)
    inputs: Any = None
    # Which tag each container role runs now (an upgrade may move them one group at a time).
    upgrade: Optional[TagChoice] = None

    @property
    def ready(self) -> bool:
        return not self.problems and self.config is not None and self.cluster is not None
