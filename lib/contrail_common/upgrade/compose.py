"""Which upgrade component a charm composes, and where its units read and write.

Charms with a rollout (`stages.ROLLOUTS`) compose `Upgrades`; the others compose `FixedTag`,
which runs every container on the configured tag (kubernetes-node), or replace it with their
own (the agent's `NodeUpgrades`, moved by its per-node action). The tables here are the
charms' facts the component needs: the endpoints towards the controller, and the containers
and ports a unit reads its sessions and memberships from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Protocol

import ops

from ..config import WorkloadConfig
from ..containers import ContainerEngine
from ..evaluation import Evaluation
from ..membership.commands import CassandraTarget, RabbitmqTarget
from ..services import ANALYTICS_CASSANDRA, CONFIG_CASSANDRA
from .links import CONTROLLER_ENDPOINTS, Links
from .readings import Probes
from .stages import ROLLOUTS
from .upgrades import Upgrades
from .workloads import SameTag, TagChoice, TaggedWorkload, tagged_workload

if TYPE_CHECKING:
    from ..base_charm import ContrailCharm

LINKS = {
    "contrail-controller": Links(to_followers=CONTROLLER_ENDPOINTS),
    "contrail-analytics": Links(to_controller=("contrail-analytics",)),
    "contrail-analyticsdb": Links(to_controller=("contrail-analyticsdb",)),
    "contrail-kubernetes-master": Links(to_controller=("contrail-controller",)),
    "contrail-agent": Links(to_controller=("contrail-controller",)),
}

PROBES = {
    "contrail-controller": Probes(
        control_introspect=8083,
        cassandra=CassandraTarget("configdb-cassandra", CONFIG_CASSANDRA.jmx),
        zookeeper_port=2181,
        rabbitmq=RabbitmqTarget("configdb-rabbitmq"),
    ),
    "contrail-analyticsdb": Probes(
        cassandra=CassandraTarget("database-cassandra", ANALYTICS_CASSANDRA.jmx)
    ),
}


class FixedTag(ops.Object):
    """No staged upgrade: every container runs the configured tag, as it always did."""

    def __init__(self, charm: ContrailCharm[Any]) -> None:
        super().__init__(charm, "upgrades")
        self.charm = charm

    def evaluate(self, config: WorkloadConfig) -> SameTag:
        return SameTag(config.image_tag)

    def workload(self, evaluation: Evaluation[Any], engine_kind: str) -> TaggedWorkload:
        config, cluster = evaluation.config, evaluation.cluster
        assert config is not None and cluster is not None
        return tagged_workload(
            config,
            evaluation.upgrade or self.evaluate(config),
            self.charm.render(evaluation),
            engine_kind,
            cluster.address,
        )

    def lead(self, evaluation: Evaluation[Any]) -> bool:
        return False

    def publish(self, evaluation: Evaluation[Any]) -> None:
        pass

    def prepare(
        self, engine: ContainerEngine, evaluation: Evaluation[Any]
    ) -> tuple[Optional[str], Optional[str]]:
        return None, None

    def report(
        self,
        evaluation: Evaluation[Any],
        engine: Optional[ContainerEngine],
        planned: Optional[TaggedWorkload],
        *,
        prepared: Optional[str] = None,
        error: Optional[str] = None,
    ) -> None:
        pass

    def statuses(self, evaluation: Evaluation[Any]) -> list[ops.StatusBase]:
        return []

    def notes(self, evaluation: Evaluation[Any]) -> list[str]:
        return []

    def again(self, evaluation: Evaluation[Any]) -> bool:
        return False


class UpgradeComponent(Protocol):
    """What the base calls on its upgrade component, whichever it is."""

    def evaluate(self, config: WorkloadConfig) -> TagChoice: ...

    def workload(self, evaluation: Evaluation[Any], engine_kind: str) -> TaggedWorkload: ...

    def lead(self, evaluation: Evaluation[Any]) -> bool: ...

    def publish(self, evaluation: Evaluation[Any]) -> None: ...

    def prepare(
        self, engine: ContainerEngine, evaluation: Evaluation[Any]
    ) -> tuple[Optional[str], Optional[str]]: ...

    def report(
        self,
        evaluation: Evaluation[Any],
        engine: Optional[ContainerEngine],
        planned: Optional[TaggedWorkload],
        *,
        prepared: Optional[str] = None,
        error: Optional[str] = None,
    ) -> None: ...

    def statuses(self, evaluation: Evaluation[Any]) -> list[ops.StatusBase]: ...

    def notes(self, evaluation: Evaluation[Any]) -> list[str]: ...

    def again(self, evaluation: Evaluation[Any]) -> bool: ...


def make_upgrades(charm: ContrailCharm[Any]) -> UpgradeComponent:
    """The component for this charm: `Upgrades` for a charm with a rollout and a peer
    relation, else `FixedTag`."""
    rollout = ROLLOUTS.get(charm.meta.name)
    if rollout is None or charm.peer_endpoint is None:
        return FixedTag(charm)
    return Upgrades(
        charm,
        rollout,
        charm.peer_endpoint,
        LINKS.get(charm.meta.name, Links()),
        PROBES.get(charm.meta.name, Probes()),
    )
