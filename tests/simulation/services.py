"""The clustered services of the control plane as the simulated machines run them.

Each application with members of its own gets one stand-in cluster (`FakeCluster`: a Cassandra
ring and a RabbitMQ cluster, as a surviving node's nodetool and rabbitmqctl see them). Every
machine's engine answers the commands the charms run in their containers (`exec`) from the
cluster of the unit asking, as the node on that machine, and records them. A unit's node joins
when its containers first run, leaves the way its own commands say (decommission, reset), and
is seen down once its containers are gone while it is still a member, or its machine is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from machines import Machine

from contrail_common.containers import ExecResult
from contrail_common.containers.memory_engine import ExecCall
from contrail_common.containers.spec import PROJECT_LABEL
from contrail_common.membership.testing import FakeCluster


class SimulatedUnit(Protocol):
    app: str
    machine: Machine

    @property
    def name(self) -> str: ...


def project_of(unit: SimulatedUnit) -> str:
    return unit.name.replace("/", "-")


class ClusterServices:
    def __init__(self) -> None:
        self.clusters: dict[str, FakeCluster] = {}
        self._joined: set[str] = set()

    def cluster(self, app: str) -> FakeCluster:
        return self.clusters.setdefault(app, FakeCluster())

    def wire(self, machine: Machine) -> None:
        """The machine's engine answers `exec` as the node of the unit that asks."""
        machine.engine.exec_handler = lambda call: self._answer(machine, call)

    def _answer(self, machine: Machine, call: ExecCall) -> ExecResult:
        app = call.project.rsplit("-", 1)[0]
        node = self.cluster(app).answer_on(machine.address, machine.hostname)
        return node(call)

    def observe(self, units: Iterable[SimulatedUnit]) -> None:
        """After a hook: the nodes whose containers started join their cluster; those whose
        containers are gone stop (a member that did not leave stays, down)."""
        for unit in units:
            running = any(
                container.labels.get(PROJECT_LABEL) == project_of(unit)
                for container in unit.machine.engine.containers.values()
            )
            if running and unit.name not in self._joined:
                self._joined.add(unit.name)
                self.cluster(unit.app).join(unit.machine.address, unit.machine.hostname)
            elif not running and unit.name in self._joined:
                self.stop(unit)

    def stop(self, unit: SimulatedUnit) -> None:
        """The unit's services stopped for good: its machine is lost, or its containers went."""
        self._joined.discard(unit.name)
        self.cluster(unit.app).lose(unit.machine.address, unit.machine.hostname)
