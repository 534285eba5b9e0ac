"""Several units of one charm through ops.testing, sharing their peer relation (tests only).

Each unit has its own scratch host tree, in-memory engine (answering `exec` as its node of a
stand-in Cassandra ring and RabbitMQ cluster, `membership.testing.FakeCluster`), address and
host name. The peer databags, the leader's application databag and its charm secrets are
carried from hook to hook and from unit to unit; every unit hears relation-changed until no
databag changes. Units join, leave cleanly (relation-departed as the departing unit, broken,
stop, remove), or are lost with their machine; leadership moves when asked or when the leader
goes. The charm's other relations come from a callable, the same for every unit.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ops import testing

from .containers.memory_engine import MemoryEngine
from .hostpaths import HostRoot
from .membership.testing import FakeCluster
from .testing import RecordingRunner, engine_with_images, mark_installed, read_env_file

MAX_ROUNDS = 50
# Far from the ids ops.testing gives the other relations.
PEER_ID = 9000


def unit_address(index: int) -> str:
    """The address of unit `index` (and of its machine)."""
    return f"10.0.0.{10 + index}"


def unit_hostname(index: int) -> str:
    """The host name its address resolves to, as Juju names machines."""
    return f"juju-c0ffee-{index}"


class _UnitId(int):
    """A unit number ops.testing keeps even when it is 0 (it tests departing_unit for truth)."""

    def __bool__(self) -> bool:
        return True


@dataclass
class PeerUnit:
    index: int
    address: str
    hostname: str
    engine: MemoryEngine
    host: HostRoot
    leader: bool = False
    bag: dict[str, str] = field(default_factory=dict)
    stored: list = field(default_factory=list)
    status: Any = None
    # While it leaves: the units it no longer sees, and whether the relation is gone for it.
    unseen: set[int] = field(default_factory=set)
    left: bool = False
    # Its node joined the services (once its containers first ran; a node that left stays out).
    joined: bool = False


class Peers:
    """One application's units, run hook by hook."""

    def __init__(
        self,
        charm: type,
        endpoint: str,
        root: Path,
        images: Iterable[str],
        version: str,
        config: dict[str, Any],
        relations: Callable[[], list[Any]] = list,
        secrets: Iterable[testing.Secret] = (),
    ) -> None:
        self.charm, self.endpoint, self.root = charm, endpoint, root
        self.images, self.version = list(images), version
        self.config = dict(config)
        self.relations = relations
        self.cluster = FakeCluster()
        self.units: dict[int, PeerUnit] = {}
        self.app_bag: dict[str, str] = {}
        self.secrets = {s.id: s for s in secrets}
        self.next_index = 0
        self.hooks = 0

    # -- the application's life --------------------------------------------------------------

    def add(self, count: int = 1) -> list[PeerUnit]:
        """`juju add-unit -n count`: each new unit installs, joins the relation, and the
        model settles."""
        added = []
        for _ in range(count):
            index = self.next_index
            self.next_index += 1
            unit = PeerUnit(
                index,
                unit_address(index),
                unit_hostname(index),
                engine_with_images(self.images, self.version),
                HostRoot(self.root / f"unit-{index}"),
                leader=not self.units,
            )
            unit.engine.exec_handler = self.cluster.answer_on(unit.address, unit.hostname)
            self.units[index] = unit
            added.append(unit)
            self.run(unit, lambda ctx, state: ctx.on.install())
            if unit.leader:
                self.run(unit, lambda ctx, state: ctx.on.leader_elected())
            self.run(unit, lambda ctx, state: ctx.on.relation_created(self._peer(state)))
        self.settle()
        return added

    def remove(self, index: int) -> None:
        """`juju remove-unit`: the unit leaves the relation, stops and is removed; the others
        hear relation-departed; a new leader is elected if it led."""
        unit = self.units[index]
        for other in sorted(i for i in self.units if i != index):
            unit.unseen.add(other)
            self.run(
                unit,
                lambda ctx, state, other=other: ctx.on.relation_departed(
                    self._peer(state), remote_unit=other, departing_unit=_UnitId(index)
                ),
            )
        self.run(unit, lambda ctx, state: ctx.on.relation_broken(self._peer(state)))
        unit.left = True
        self.run(unit, lambda ctx, state: ctx.on.stop())
        self.run(unit, lambda ctx, state: ctx.on.remove())
        self._stopped(unit)
        self._drop(unit)

    def lose(self, index: int) -> None:
        """The unit's machine is lost (`juju remove-machine --force`): it runs nothing, its
        services are down and still members; the others hear relation-departed."""
        unit = self.units[index]
        self.cluster.lose(unit.address, unit.hostname)
        self._drop(unit)

    def elect(self, index: int) -> None:
        for unit in self.units.values():
            unit.leader = unit.index == index
        self.run(self.units[index], lambda ctx, state: ctx.on.leader_elected())
        self.settle()

    def configure(self, **options: Any) -> None:
        self.config.update(options)
        for unit in list(self.units.values()):
            self.run(unit, lambda ctx, state: ctx.on.config_changed())
        self.settle()

    def update_status(self) -> None:
        for unit in list(self.units.values()):
            self.run(unit, lambda ctx, state: ctx.on.update_status())
        self.settle()

    def _drop(self, unit: PeerUnit) -> None:
        del self.units[unit.index]
        for other in list(self.units.values()):
            self.run(
                other,
                lambda ctx, state: ctx.on.relation_departed(
                    self._peer(state), remote_unit=unit.index, departing_unit=_UnitId(unit.index)
                ),
            )
        if unit.leader and self.units:
            self.elect(min(self.units))
        self.settle()

    def _stopped(self, unit: PeerUnit) -> None:
        """Its containers are gone: a node still a member is seen down."""
        self.cluster.lose(unit.address, unit.hostname)

    # -- hooks --------------------------------------------------------------------------------

    def settle(self) -> None:
        for _ in range(MAX_ROUNDS):
            before = self._bags()
            for unit in list(self.units.values()):
                others = [i for i in self.units if i != unit.index]
                remote = others[0] if others else None
                self.run(
                    unit,
                    lambda ctx, state, remote=remote: (
                        ctx.on.relation_changed(self._peer(state), remote_unit=remote)
                        if remote is not None
                        else ctx.on.config_changed()
                    ),
                )
            if self._bags() == before:
                return
        raise AssertionError(f"the units did not settle in {MAX_ROUNDS} rounds")

    def run(self, unit: PeerUnit, event: Callable[[testing.Context, testing.State], Any]):
        ctx = testing.Context(self.charm, unit_id=unit.index)
        state = self._state(unit)
        with self._placed(unit):
            out = ctx.run(event(ctx, state), state)
        self.hooks += 1
        for relation in out.relations:
            if relation.endpoint == self.endpoint:
                if unit.leader:
                    self.app_bag = dict(relation.local_app_data)
                unit.bag = dict(relation.local_unit_data)
        if unit.leader:
            for secret in out.secrets:
                if secret.owner == "app":
                    self.secrets[secret.id] = dataclasses.replace(secret)
        unit.stored = list(out.stored_states)
        unit.status = out.unit_status
        if unit.engine.containers and not unit.joined:
            unit.joined = True
            self.cluster.join(unit.address, unit.hostname)
        return out

    def _state(self, unit: PeerUnit) -> testing.State:
        relations: list[Any] = [] if unit.left else [self._peer_relation(unit)]
        relations += [] if unit.left else self.relations()
        return testing.State(
            leader=unit.leader,
            config=dict(self.config),
            relations=relations,
            networks={
                testing.Network(
                    self.endpoint,
                    [testing.BindAddress([testing.Address(unit.address)])],
                    ingress_addresses=[unit.address],
                    egress_subnets=[unit.address + "/32"],
                )
            },
            secrets=list(self.secrets.values()),
            stored_states=list(unit.stored),
        )

    def _peer_relation(self, unit: PeerUnit) -> testing.PeerRelation:
        return testing.PeerRelation(
            self.endpoint,
            id=PEER_ID,
            local_app_data=dict(self.app_bag),
            local_unit_data=dict(unit.bag),
            peers_data={
                i: dict(u.bag)
                for i, u in self.units.items()
                if i != unit.index and i not in unit.unseen
            },
        )

    def _peer(self, state: testing.State) -> Any:
        return state.get_relation(PEER_ID)

    def _bags(self) -> tuple:
        return (dict(self.app_bag), {i: dict(u.bag) for i, u in self.units.items()})

    @contextmanager
    def _placed(self, unit: PeerUnit) -> Iterator[None]:
        """Run the charm class on this unit's host tree, engine, address and host name."""
        patches: dict[str, Any] = {
            "host": unit.host,
            "make_engine": lambda _self, kind: unit.engine,
            "install_runtime": lambda _self, kind: "docker",
            "host_addresses": lambda _self: [ipaddress.ip_address(unit.address)],
            "resolve_hostname": lambda _self, address: unit.hostname,
            "systemctl_runner": lambda _self: RecordingRunner(),
            "install_packages": lambda _self, names: mark_installed(unit.host, names),
        }
        saved = {name: self.charm.__dict__.get(name) for name in patches}
        for name, value in patches.items():
            setattr(self.charm, name, value)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    delattr(self.charm, name)
                else:
                    setattr(self.charm, name, value)

    # -- what the units render ----------------------------------------------------------------

    @property
    def app_name(self) -> str:
        return testing.Context(self.charm).app_name

    def env(self, index: int, container: str) -> dict[str, str]:
        """What a unit's container reads (its env file)."""
        return read_env_file(self.units[index].host, f"{self.app_name}-{index}", container)

    def statuses(self) -> dict[int, Any]:
        return {i: u.status for i, u in self.units.items()}

    def member_ids(self) -> dict[str, Optional[int]]:
        """Each member's id, as the leader keeps them."""
        members = json.loads(self.app_bag.get("members", "[]"))
        return {m["unit"]: m.get("id") for m in members}
