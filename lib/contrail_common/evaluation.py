"""What one look at a unit found: its cluster and the evaluation the base and components share.

`ContrailCharm.evaluate()` builds an `Evaluation` and only reads; the components (monitoring,
TLS) take it in their `apply`, the charm in `gather`, `services` and `publish`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Optional, TypeVar

import ops

from .cluster import Member
from .config import WorkloadConfig
from .containers import RegistryCredentials
from .tls.component import TlsEvaluation

ConfigT = TypeVar("ConfigT", bound=WorkloadConfig)


@dataclass
class Cluster:
    """This unit's addresses and the application's ordered members, as the leader keeps them."""

    address: str
    data_address: str
    members: list[Member]
    min_size: int

    @property
    def complete(self) -> bool:
        return len(self.members) >= self.min_size

    @property
    def addresses(self) -> list[str]:
        return [m.address for m in self.members]

    @property
    def data_addresses(self) -> list[str]:
        return [m.data_address or m.address for m in self.members]


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

    @property
    def ready(self) -> bool:
        return not self.problems and self.config is not None and self.cluster is not None
