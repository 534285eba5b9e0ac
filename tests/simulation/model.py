"""A whole Juju model of our charms in one process: the deploy rehearsal.

Every unit of our charms in a bundle runs its real charm code through ops.testing. The model
keeps every relation databag; after each hook it copies what the unit wrote to the units that
can see it and queues their relation-changed, until nothing changes. The Charmed Kubernetes
charms are stand-ins that write what the real ones write on `cni` (from the kubernetes-cni
schema) and nothing on `juju-info`; contrail-kubernetes-master talks to an in-process
Kubernetes API. Each machine has its own scratch host tree and in-memory container engine.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib.util
import random
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from front_end import RehearsalError, channels_of, charms_of, check_document, load_bundle
from issuer import CHARM as ISSUER_CHARM
from issuer import ENDPOINT as CERTIFICATES
from issuer import SelfSignedIssuer
from keepalived import CHARM as KEEPALIVED
from keepalived import ENDPOINT as WEBSITE
from keepalived import website_data
from machines import KUBECONFIG, Machine, kubeconfig_hash
from ops import testing
from services import ClusterServices

REPO = Path(__file__).resolve().parents[2]
ROLES = ("provides", "requires", "peers")
FAKE_API_DIR = REPO / "charms" / "contrail-kubernetes-master" / "tests" / "unit"
MAX_HOOKS = 20000
# Charmed Kubernetes' own default (kubernetes-control-plane config.yaml, `image-registry`).
CK_IMAGE_REGISTRY = "rocks.canonical.com:443/cdk"


@dataclass
class Side:
    app: str
    endpoint: str


@dataclass
class RelationSpec:
    id: int
    sides: tuple[Side, Side]
    container: bool


@dataclass
class Unit:
    app: str
    index: int
    machine: Machine
    principal: Optional[str] = None  # for subordinates: the principal unit's name
    leader: bool = False
    stored: list = field(default_factory=list)
    ports: frozenset = frozenset()
    status: Any = None
    hooks: int = 0

    @property
    def name(self) -> str:
        return f"{self.app}/{self.index}"


@dataclass
class Application:
    name: str
    charm: Optional[type]  # None for the Charmed Kubernetes stand-ins
    meta: dict
    options: dict
    subordinate: bool
    units: list[Unit] = field(default_factory=list)
    # Juju never gives a unit number twice.
    next_index: int = 0


class Model:
    """A bundle deployed in memory. `deploy()` runs it until it settles."""

    def __init__(
        self,
        bundle: Path,
        overlays: Iterable[Path] = (),
        config: Optional[dict] = None,
        seed: int = 0,
        kubeconfigs: bool = True,
    ):
        """`kubeconfigs` False: Charmed Kubernetes has not written its kubeconfigs yet (see
        `create_kubeconfigs`). Bad input raises `RehearsalError`, before anything runs."""
        self.document = load_bundle(bundle, list(overlays))
        self.bundle_path = bundle
        check_document(self.document, charms_of(bundle, self.document))
        sys.path.insert(0, str(FAKE_API_DIR))
        from fake_apiserver import FakeApiServer

        self.random = random.Random(seed)
        # One model, as `juju status` shows it: its name, and the uuid machine names come from.
        self.juju_model = testing.Model(
            "rehearsal",
            # One uuid whatever the seed: the shuffled orders must render the same machines.
            uuid=str(uuid.UUID(int=random.Random("rehearsal").getrandbits(128), version=4)),
            type="lxd",
        )
        self.workdir = Path(tempfile.mkdtemp(prefix="contrail-rehearsal-"))
        self.api = FakeApiServer(max_token_seconds=24 * 3600)  # capped, as hardened clusters do
        self.apps: dict[str, Application] = {}
        self.machines: dict[str, Machine] = {}
        self.relations: list[RelationSpec] = []
        self.app_bags: dict[tuple[int, str], dict[str, str]] = collections.defaultdict(dict)
        self.unit_bags: dict[tuple[int, str], dict[str, str]] = collections.defaultdict(dict)
        self.peer_ids: dict[str, int] = {}
        self.secrets: dict[str, dict[str, testing.Secret]] = collections.defaultdict(dict)
        # Secrets a unit owns (the TLS library keeps the unit's private key in one).
        self.unit_secrets: dict[str, list[testing.Secret]] = collections.defaultdict(list)
        self.established: set[int] = set()
        self.issuers: dict[str, SelfSignedIssuer] = {}
        # Cassandra and RabbitMQ as the units' own tools see them (`exec` in their containers).
        self.services = ClusterServices()
        # While a unit leaves: the units and relations it no longer sees.
        self.unseen: dict[str, set[str]] = collections.defaultdict(set)
        self.left: dict[str, set[int]] = collections.defaultdict(set)
        self.queue: collections.deque = collections.deque()
        self.hooks = 0
        self._load_apps(config or {})
        self._place_units()
        self._load_relations(kubeconfigs)

    # -- building the model -------------------------------------------------------------------

    def _load_apps(self, overrides: dict) -> None:
        from bundle_model import external_charms  # the recorded metadata of the stand-ins

        self.external = external_charms(channels_of(self.document))
        for name in overrides:
            if name not in self.document["applications"]:
                raise RehearsalError(f"config for {name}: no application {name} in the bundle")
        for name, spec in self.document["applications"].items():
            charm_path = str(spec["charm"])
            charm, meta = None, {}
            if charm_path.startswith((".", "/")):
                directory = (self.bundle_path.parent / charm_path).resolve()
                directory = directory.parent if directory.suffix == ".charm" else directory
                charm, meta = _load_charm(directory)
            options = {**(spec.get("options") or {}), **overrides.get(name, {})}
            stand_in = self.external.get(name)
            subordinate = (
                bool(meta.get("subordinate")) if charm else bool(stand_in and stand_in.subordinate)
            )
            self.apps[name] = Application(name, charm, meta, options, subordinate)
            if charm_path == ISSUER_CHARM:
                self.issuers[name] = SelfSignedIssuer(str(options.get("ca-common-name", name)))

    def _place_units(self) -> None:
        for number, name in enumerate(self.document.get("machines") or {}):
            self._machine(str(name), f"10.0.{number}.10")
        for app in self.apps.values():
            if app.subordinate:
                continue
            spec = self.document["applications"][app.name]
            targets = [str(t).split(":")[-1] for t in spec.get("to") or []]
            for index in range(int(spec.get("num_units", 1))):
                target = targets[index] if index < len(targets) else f"auto-{app.name}-{index}"
                self._new_unit(app, self._machine(target, f"10.1.{len(self.machines)}.10"))

    def _machine(self, name: str, address: str) -> Machine:
        if name not in self.machines:
            hostname = f"juju-{self.juju_model.uuid[-6:]}-{len(self.machines)}"
            root = self.workdir / f"machine-{name}"
            self.machines[name] = Machine(name, address, root, hostname)
            self.services.wire(self.machines[name])
        return self.machines[name]

    def _new_unit(
        self, app: Application, machine: Machine, principal: Optional[str] = None
    ) -> Unit:
        unit = Unit(app.name, app.next_index, machine, principal, leader=not app.units)
        app.next_index += 1
        machine.apps.add(app.name)
        app.units.append(unit)
        return unit

    def _load_relations(self, kubeconfigs: bool) -> None:
        for number, pair in enumerate(self.document.get("relations") or []):
            sides = tuple(Side(*end.split(":")) for end in pair)
            container = any(self._endpoint(side).get("scope") == "container" for side in sides)
            self.relations.append(RelationSpec(number + 1, sides, container))  # type: ignore[arg-type]
        for app in list(self.apps.values()):
            if app.subordinate:  # subordinates follow principals, never each other
                continue
            for unit in list(app.units):
                self._attach_subordinates(unit)
        for number, app in enumerate(self.apps.values()):
            if app.meta.get("peers"):
                self.peer_ids[app.name] = 1000 + number
        kubeconfig = self._kubeconfig() if kubeconfigs else None
        for machine in self.machines.values():
            machine.prepare(kubeconfig)
        for app in self.apps.values():
            for unit in app.units:
                self._write_stand_in_data(unit)

    def _attach_subordinates(self, principal: Unit) -> list[Unit]:
        """One unit of each subordinate app related to the principal with container scope."""
        attached = []
        for relation in self.relations:
            for sub, host in (relation.sides, relation.sides[::-1]):
                sub_app = self.apps[sub.app]
                if not (relation.container and host.app == principal.app and sub_app.subordinate):
                    continue
                if not any(u.principal == principal.name for u in sub_app.units):
                    attached.append(self._new_unit(sub_app, principal.machine, principal.name))
        return attached

    def _write_stand_in_data(self, unit: Unit) -> None:
        """What kubernetes-control-plane and kubernetes-worker write on `cni`, per unit: nothing
        until their kubeconfig exists (both configure the CNI after writing it), then its hash
        and the control plane's `image-registry`; the control plane adds its service CIDR."""
        if self.document["applications"][unit.app]["charm"] == KEEPALIVED:
            self._write_keepalived_data(unit)
            return
        kubeconfig = unit.machine.host.path(KUBECONFIG)
        if self.apps[unit.app].charm is not None or not kubeconfig.exists():
            return
        control_plane = self.apps.get("kubernetes-control-plane")
        registry = (control_plane.options if control_plane else {}).get("image-registry")
        for relation in self.relations:
            for side in relation.sides:
                if side.app != unit.app or side.endpoint != "cni":
                    continue
                bag = {
                    "kubeconfig-hash": kubeconfig_hash(kubeconfig.read_text()),
                    "image-registry": str(registry or CK_IMAGE_REGISTRY),
                }
                if unit.app == "kubernetes-control-plane":
                    cidr = self.apps[unit.app].options.get("service-cidr", "10.152.183.0/24")
                    bag["service-cidr"] = str(cidr)
                self.unit_bags[(relation.id, unit.name)] = bag

    def _write_keepalived_data(self, unit: Unit) -> None:
        options = self.apps[unit.app].options
        for relation in self.relations:
            for side in relation.sides:
                if side.app == unit.app and side.endpoint == WEBSITE:
                    bag = website_data(options, unit.machine.address)
                    self.unit_bags[(relation.id, unit.name)] = bag

    def create_kubeconfigs(self) -> None:
        """Charmed Kubernetes writes its kubeconfigs late (after its certificates): the
        stand-ins then publish on `cni`, and our units hear relation-changed."""
        before = self._snapshot()
        kubeconfig = self._kubeconfig()
        for machine in self.machines.values():
            machine.write_kubeconfig(kubeconfig)
        for app in self.apps.values():
            for unit in app.units:
                self._write_stand_in_data(unit)
        self._notify(before)
        self.settle()

    def _kubeconfig(self) -> str:
        from fake_apiserver import ADMIN_TOKEN

        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "k8s", "cluster": {"server": self.api.url}}],
                "users": [{"name": "admin", "user": {"token": ADMIN_TOKEN}}],
                "contexts": [{"name": "k8s", "context": {"cluster": "k8s", "user": "admin"}}],
                "current-context": "k8s",
            }
        )

    def _endpoint(self, side: Side) -> dict:
        app = self.apps[side.app]
        if app.charm is None:
            recorded = self.external.get(side.app)
            endpoint = recorded.endpoint(side.endpoint) if recorded else None
            return {"scope": "container"} if endpoint and endpoint.scope == "container" else {}
        for role in ("provides", "requires", "peers"):
            if side.endpoint in (app.meta.get(role) or {}):
                return app.meta[role][side.endpoint]
        return {}

    # -- running hooks -----------------------------------------------------------------------

    @property
    def units(self) -> list[Unit]:
        return [u for app in self.apps.values() if app.charm for u in app.units]

    def run(
        self, unit: Unit, event: Callable[[testing.Context, testing.State], Any]
    ) -> testing.State:
        app = self.apps[unit.app]
        assert app.charm is not None
        before = self._snapshot()
        ctx = testing.Context(
            app.charm,
            unit_id=unit.index,
            machine_id=unit.machine.name,
            principal_unit=unit.principal,
        )
        state = self.state_of(unit)
        with _placed(app.charm, unit.machine):
            out = ctx.run(event(ctx, state), state)
        unit.hooks += 1
        self.hooks += 1
        if self.hooks > MAX_HOOKS:
            raise RuntimeError(f"the model did not settle within {MAX_HOOKS} hooks")
        self._absorb(unit, out)
        self.services.observe([unit])
        self._issue_certificates()
        self._notify(before)
        return out

    def _issue_certificates(self) -> None:
        """Each issuer stand-in answers the CSRs on its established relations."""
        for relation in self.relations:
            if relation.id not in self.established:
                continue
            for mine, other in (relation.sides, relation.sides[::-1]):
                issuer = self.issuers.get(mine.app)
                if issuer is None or mine.endpoint != CERTIFICATES:
                    continue
                units = self.apps[other.app].units
                bags = [self.unit_bags.get((relation.id, u.name), {}) for u in units]
                self.app_bags[(relation.id, mine.app)] = issuer.answer(bags)

    def state_of(self, unit: Unit) -> testing.State:
        app = self.apps[unit.app]
        relations: list = []
        for relation in self.relations:
            if relation.id not in self.established or relation.id in self.left[unit.name]:
                continue
            for mine, other in (relation.sides, relation.sides[::-1]):
                if mine.app == unit.app and self.takes_part(unit, relation, other):
                    relations.append(self._relation_for(unit, relation, mine, other))
        if unit.app in self.peer_ids and self.peer_ids[unit.app] not in self.left[unit.name]:
            (endpoint,) = list(app.meta["peers"])
            rid = self.peer_ids[unit.app]
            relations.append(
                testing.PeerRelation(
                    endpoint,
                    id=rid,
                    local_app_data=dict(self.app_bags[(rid, unit.app)]),
                    local_unit_data=dict(self.unit_bags[(rid, unit.name)]),
                    peers_data={
                        u.index: dict(self.unit_bags[(rid, u.name)])
                        for u in app.units
                        if u is not unit and u.name not in self.unseen[unit.name]
                    },
                )
            )
        # Juju has no network binding for container-scoped endpoints.
        endpoints = {
            name
            for role in ("provides", "requires", "peers")
            for name, spec in (app.meta.get(role) or {}).items()
            if spec.get("scope") != "container"
        }
        address = unit.machine.address
        networks = {
            testing.Network(
                e,
                [testing.BindAddress([testing.Address(address)])],
                ingress_addresses=[address],
                egress_subnets=[address + "/32"],
            )
            for e in endpoints
        }
        return testing.State(
            model=self.juju_model,
            leader=unit.leader,
            config=dict(app.options),
            relations=relations,
            networks=networks,
            secrets=[*self.secrets[unit.app].values(), *self.unit_secrets[unit.name]],
            stored_states=list(unit.stored),
            opened_ports=unit.ports,
        )

    @staticmethod
    def anchor(unit: Unit) -> str:
        """The principal unit a unit lives with: itself for a principal."""
        return unit.principal or unit.name

    def peers_in_scope(self, unit: Unit, relation: RelationSpec, other: Side) -> list[Unit]:
        """The units of `other` this unit sees on the relation: in a container-scoped one, only
        those attached to the same principal unit (a subordinate's principal, or subordinates
        of one principal with each other)."""
        units = self.apps[other.app].units
        if not relation.container:
            return list(units)
        return [u for u in units if self.anchor(u) == self.anchor(unit)]

    def takes_part(self, unit: Unit, relation: RelationSpec, other: Side) -> bool:
        """Every unit takes part in a global relation; in a container-scoped one, a unit with a
        unit of the other application beside it. Not on Juju's implicit juju-info of our charms
        (a subordinate such as keepalived attached there): they declare no such endpoint, so
        they run no hook for it."""
        (mine,) = [side for side in relation.sides if side is not other]
        if not self._declares(mine):
            return False
        return not relation.container or bool(self.peers_in_scope(unit, relation, other))

    def _declares(self, side: Side) -> bool:
        app = self.apps[side.app]
        if app.charm is None:
            return True
        return any(side.endpoint in (app.meta.get(role) or {}) for role in ROLES)

    def _relation_for(self, unit: Unit, relation: RelationSpec, mine: Side, other: Side):
        local_app = dict(self.app_bags[(relation.id, mine.app)])
        local_unit = dict(self.unit_bags[(relation.id, unit.name)])
        remote_app = dict(self.app_bags[(relation.id, other.app)])
        if (
            relation.container
            and unit.principal is not None
            and not self.apps[other.app].subordinate
        ):
            principal = next(u for u in self.apps[other.app].units if u.name == unit.principal)
            return testing.SubordinateRelation(
                mine.endpoint, id=relation.id, local_app_data=local_app, local_unit_data=local_unit,
                remote_app_name=other.app, remote_app_data=remote_app, remote_unit_id=principal.index,
                remote_unit_data=dict(self.unit_bags[(relation.id, principal.name)]),
            )  # fmt: skip
        return testing.Relation(
            mine.endpoint, id=relation.id, local_app_data=local_app, local_unit_data=local_unit,
            remote_app_name=other.app, remote_app_data=remote_app,
            remote_units_data={u.index: dict(self.unit_bags[(relation.id, u.name)]) for u in self.peers_in_scope(unit, relation, other) if u.name not in self.unseen[unit.name]},
        )  # fmt: skip

    def _absorb(self, unit: Unit, out: testing.State) -> None:
        for relation in out.relations:
            if unit.leader:
                self.app_bags[(relation.id, unit.app)] = dict(relation.local_app_data)
            self.unit_bags[(relation.id, unit.name)] = {
                k: v
                for k, v in relation.local_unit_data.items()
                if k not in ("egress-subnets", "ingress-address", "private-address")
            }
        if unit.leader:
            for secret in out.secrets:
                if secret.owner == "app":
                    self.secrets[unit.app][secret.id] = dataclasses.replace(secret)
        self.unit_secrets[unit.name] = [s for s in out.secrets if s.owner == "unit"]
        unit.stored = list(out.stored_states)
        unit.ports = frozenset(out.opened_ports)
        unit.status = out.unit_status

    def _snapshot(self) -> dict:
        return {
            "app": {k: dict(v) for k, v in self.app_bags.items()},
            "unit": {k: dict(v) for k, v in self.unit_bags.items()},
        }

    def _notify(self, before: dict) -> None:
        """Queue relation-changed for every unit that sees a databag this hook changed."""
        for (rid, owner), bag in list(self.app_bags.items()):
            if before["app"].get((rid, owner), {}) != bag:
                self._queue_watchers(rid, owner, None)
        for (rid, owner), bag in list(self.unit_bags.items()):
            if before["unit"].get((rid, owner), {}) != bag:
                self._queue_watchers(rid, owner.split("/")[0], owner)

    def _queue_watchers(self, rid: int, owner_app: str, owner_unit: Optional[str]) -> None:
        if rid in self.peer_ids.values():
            for u in self.apps[owner_app].units:
                if u.name != owner_unit:
                    self._enqueue(u, rid, owner_unit)
            return
        relation = next(r for r in self.relations if r.id == rid)
        for mine, other in (relation.sides, relation.sides[::-1]):
            if other.app != owner_app or self.apps[mine.app].charm is None:
                continue
            for u in self.apps[mine.app].units:
                if not self.takes_part(u, relation, other):
                    continue
                if relation.container and owner_unit:
                    if self.anchor(u) != self.anchor(self._unit(owner_unit)):
                        continue
                self._enqueue(u, rid, owner_unit)

    def _enqueue(self, unit: Unit, rid: int, remote: Optional[str]) -> None:
        item = (unit.name, rid, remote)
        if item not in self.queue:
            self.queue.append(item)

    def _unit(self, name: str) -> Unit:
        app = name.partition("/")[0]
        return next(u for u in self.apps[app].units if u.name == name)

    def changed(self, unit: Unit, rid: int, remote: Optional[str]) -> None:
        def event(ctx, state):
            relation = state.get_relation(rid)
            if isinstance(relation, testing.PeerRelation):
                return ctx.on.relation_changed(
                    relation,
                    remote_unit=int((remote or unit.name).split("/")[1])
                    if remote
                    else next(iter(relation.peers_data), 0),
                )
            if isinstance(relation, testing.SubordinateRelation):
                return ctx.on.relation_changed(relation, remote_unit=relation.remote_unit_id)
            remote_index = (
                int(remote.split("/")[1]) if remote else min(relation.remote_units_data, default=0)
            )
            return ctx.on.relation_changed(relation, remote_unit=remote_index)

        self.run(unit, event)

    def settle(self) -> None:
        while self.queue:
            name, rid, remote = self.queue.popleft()
            if not any(u.name == name for u in self.units):
                continue  # removed since
            unit = self._unit(name)
            if rid in self.peer_ids.values() and len(self.apps[unit.app].units) < 2:
                self.run(unit, lambda ctx, state: ctx.on.config_changed())
                continue
            self.changed(unit, rid, remote)

    # -- the deploy ----------------------------------------------------------------------------

    def deploy(self, shuffle: bool = False) -> None:
        units = list(self.units)
        relations = list(self.relations)
        if shuffle:
            self.random.shuffle(units)
            self.random.shuffle(relations)
        for unit in units:
            self.run(unit, lambda ctx, state: ctx.on.install())
            if unit.leader:
                self.run(unit, lambda ctx, state: ctx.on.leader_elected())
            self.run(unit, lambda ctx, state: ctx.on.config_changed())
            self.settle()
        for relation in relations:
            self._establish(relation)
        self.update_status()

    def _establish(self, relation: RelationSpec) -> None:
        self.established.add(relation.id)
        for side, other in (relation.sides, relation.sides[::-1]):
            for unit in self.apps[side.app].units if self.apps[side.app].charm else []:
                if not self.takes_part(unit, relation, other):
                    continue
                self.run(
                    unit,
                    lambda ctx, state, rid=relation.id: ctx.on.relation_created(
                        state.get_relation(rid)
                    ),
                )
                self.changed(unit, relation.id, None)
        self.settle()

    def add_relation(self, one: str, other: str) -> None:
        """`juju integrate APP:ENDPOINT APP:ENDPOINT`, as a relation with a new id."""
        sides = tuple(Side(*end.split(":")) for end in (one, other))
        container = any(self._endpoint(side).get("scope") == "container" for side in sides)
        used = [r.id for r in self.relations] + list(self.peer_ids.values())
        relation = RelationSpec(max(used) + 1, sides, container)  # type: ignore[arg-type]
        self.relations.append(relation)
        self._establish(relation)

    def remove_relation(self, one: str, other: str) -> None:
        """`juju remove-relation APP:ENDPOINT APP:ENDPOINT`: relation-broken on every unit of
        ours taking part, then the relation and its data are gone."""
        ends = {tuple(end.split(":")) for end in (one, other)}
        (relation,) = [
            r for r in self.relations
            if r.id in self.established and {(s.app, s.endpoint) for s in r.sides} == ends
        ]  # fmt: skip
        for side, other_side in (relation.sides, relation.sides[::-1]):
            for unit in self.apps[side.app].units if self.apps[side.app].charm else []:
                if self.takes_part(unit, relation, other_side):
                    self.run(unit, lambda ctx, state: ctx.on.relation_broken(
                        state.get_relation(relation.id)
                    ))  # fmt: skip
        self.established.discard(relation.id)
        self.queue = collections.deque(item for item in self.queue if item[1] != relation.id)
        for bags in (self.app_bags, self.unit_bags):
            for key in [key for key in bags if key[0] == relation.id]:
                del bags[key]
        self.settle()

    def add_unit(self, app_name: str) -> list[Unit]:
        """`juju add-unit` of a principal: a new machine, the unit, and the subordinates that
        follow it; returns the new units, the principal first."""
        app = self.apps[app_name]
        name = f"added-{app_name}-{len(app.units)}"
        principal = self._new_unit(app, self._machine(name, f"10.2.{len(self.machines)}.10"))
        new = self._attach_subordinates(principal)
        principal.machine.prepare(self._kubeconfig())
        self._write_stand_in_data(principal)
        for unit in [principal, *new]:
            if self.apps[unit.app].charm is not None:
                self._start(unit)
        self.update_status()
        return [principal, *new]

    def _start(self, unit: Unit) -> None:
        """A unit arriving in a running model: install, then every relation it is part of."""
        self.run(unit, lambda ctx, state: ctx.on.install())
        self.run(unit, lambda ctx, state: ctx.on.config_changed())
        for relation in self.relations:
            for mine, other in (relation.sides, relation.sides[::-1]):
                if mine.app != unit.app or relation.id not in self.established:
                    continue
                if self.takes_part(unit, relation, other):
                    self.run(
                        unit,
                        lambda ctx, state, rid=relation.id: ctx.on.relation_created(
                            state.get_relation(rid)
                        ),
                    )
                    self.changed(unit, relation.id, None)
        if unit.app in self.peer_ids:
            self._queue_watchers(self.peer_ids[unit.app], unit.app, unit.name)
        self.settle()

    def remove_unit(self, app_name: str, index: int, clean: bool = True) -> None:
        """`juju remove-unit`, with its subordinates. `clean`: the unit leaves every relation
        (relation-departed for each unit it saw, as the departing unit, then relation-broken),
        stops and is removed. Otherwise its machine is lost (`juju remove-machine --force`):
        it runs nothing and its services are seen down. Then every unit that saw it hears
        relation-departed, and if it led, the lowest-numbered survivor is elected."""
        unit = self._unit(f"{app_name}/{index}")
        going = [unit, *(u for u in self._all_units() if u.principal == unit.name)]
        for leaving in going:
            if self.apps[leaving.app].charm is None:
                continue
            if clean:
                self._leave(leaving)
            else:
                self.services.stop(leaving)
        watchers = [(w, rid, g) for g in going for w, rid in self._watchers(g) if w not in going]
        for gone in going:
            self.apps[gone.app].units.remove(gone)
            for key in [key for key in self.unit_bags if key[1] == gone.name]:
                del self.unit_bags[key]
            self.unseen.pop(gone.name, None)
            self.left.pop(gone.name, None)
        for watcher, rid, gone in watchers:
            self.run(
                watcher,
                lambda ctx, state, rid=rid, gone=gone: ctx.on.relation_departed(
                    state.get_relation(rid), remote_unit=gone.index, departing_unit=_id(gone.index)
                ),
            )
        if unit.leader:
            self.elect(app_name, min(u.index for u in self.apps[app_name].units))
        self.settle()
        self.update_status()

    def elect(self, app_name: str, index: int) -> None:
        """Leadership moves to this unit, which hears leader-elected."""
        for unit in self.apps[app_name].units:
            unit.leader = unit.index == index
        self.run(self._unit(f"{app_name}/{index}"), lambda ctx, state: ctx.on.leader_elected())
        self.settle()

    def _leave(self, unit: Unit) -> None:
        """What Juju runs on a unit being removed, relation by relation, then stop and remove."""
        for rid, seen in self._seen_by(unit):
            for other in seen:
                self.unseen[unit.name].add(other.name)
                # departing_unit only on the peer relation: ops.testing names it after the
                # remote application, which is right only there.
                departing = _id(unit.index) if rid in self.peer_ids.values() else None
                self.run(
                    unit,
                    lambda ctx, state, rid=rid, other=other, departing=departing: (
                        ctx.on.relation_departed(
                            state.get_relation(rid),
                            remote_unit=other.index,
                            departing_unit=departing,
                        )
                    ),
                )
            self.run(
                unit, lambda ctx, state, rid=rid: ctx.on.relation_broken(state.get_relation(rid))
            )
            self.left[unit.name].add(rid)
        self.run(unit, lambda ctx, state: ctx.on.stop())
        self.run(unit, lambda ctx, state: ctx.on.remove())

    def _seen_by(self, unit: Unit) -> list[tuple[int, list[Unit]]]:
        """Each relation the unit is part of, with the units it sees there."""
        found = []
        if unit.app in self.peer_ids:
            peers = [u for u in self.apps[unit.app].units if u is not unit]
            found.append((self.peer_ids[unit.app], peers))
        for relation in self.relations:
            if relation.id not in self.established:
                continue
            for mine, other in (relation.sides, relation.sides[::-1]):
                if mine.app == unit.app and self.takes_part(unit, relation, other):
                    found.append((relation.id, self.peers_in_scope(unit, relation, other)))
        return found

    def _watchers(self, unit: Unit) -> list[tuple[Unit, int]]:
        """The units of our charms that see `unit` on a relation, and that relation."""
        found = []
        if unit.app in self.peer_ids:
            rid = self.peer_ids[unit.app]
            found += [(u, rid) for u in self.apps[unit.app].units if u is not unit]
        for relation in self.relations:
            if relation.id not in self.established:
                continue
            for mine, other in (relation.sides, relation.sides[::-1]):
                if other.app != unit.app or self.apps[mine.app].charm is None:
                    continue
                if not self._declares(mine):
                    continue
                for watcher in self.apps[mine.app].units:
                    if unit in self.peers_in_scope(watcher, relation, other):
                        found.append((watcher, relation.id))
        return found

    def _all_units(self) -> list[Unit]:
        return [u for app in self.apps.values() for u in app.units]

    def update_status(self) -> None:
        for unit in self.units:
            self.run(unit, lambda ctx, state: ctx.on.update_status())
        self.settle()

    def hand_over_secret(self, app: str, option: str, content: dict[str, str]) -> None:
        """Before deploy: what an operator does with `juju add-secret`, `juju grant-secret`
        and `juju config APP OPTION=<secret URI>`."""
        secret = testing.Secret(tracked_content=content)
        self.secrets[app][secret.id] = secret
        self.apps[app].options[option] = secret.id

    def configure(self, app: str, **options: Any) -> None:
        self.apps[app].options.update(options)
        for unit in self.apps[app].units:
            self.run(unit, lambda ctx, state: ctx.on.config_changed())
        self.settle()

    def close(self, keep: bool = False) -> None:
        """Stop the API server; remove the machines' trees unless the caller shows them."""
        self.api.stop()
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- reading the result --------------------------------------------------------------------

    def statuses(self) -> dict[str, Any]:
        return {u.name: u.status for u in self.units}

    def container_hashes(self) -> dict[str, str]:
        """Every container in the model, `machine/container` -> spec hash."""
        return {
            f"{machine.name}/{cid}": container.spec.spec_hash()
            for machine in self.machines.values()
            for cid, container in machine.engine.containers.items()
        }


class _id(int):
    """A unit number ops.testing keeps even when it is 0 (it tests departing_unit for truth)."""

    def __bool__(self) -> bool:
        return True


def _load_charm(directory: Path) -> tuple[type, dict]:
    """Our charm class from its source tree, and its charmcraft.yaml."""
    meta = yaml.safe_load((directory / "charmcraft.yaml").read_text())
    source = directory / "src"
    if str(source) not in sys.path:
        sys.path.append(str(source))
    module_name = f"{directory.name.replace('-', '_')}_charm"
    spec = importlib.util.spec_from_file_location(module_name, source / "charm.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    from contrail_common.base_charm import ContrailCharm

    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, ContrailCharm)
            and value is not ContrailCharm
            and value.__module__ == module_name
        ):
            return value, meta
    raise LookupError(f"no charm class in {source / 'charm.py'}")


class _placed:
    """Run a charm class on one machine: its host tree, its engine and its address."""

    def __init__(self, charm: type, machine: Machine) -> None:
        self.charm, self.machine = charm, machine

    def __enter__(self) -> None:
        import ipaddress

        machine = self.machine
        names = (
            "host",
            "node_hostname",
            "make_engine",
            "install_runtime",
            "host_addresses",
            "run_host_command",
            "probe",
            "systemctl_runner",
            "install_packages",
            "resolve_hostname",
        )
        self.saved = {
            name: self.charm.__dict__.get(name) for name in names if hasattr(self.charm, name)
        }
        self.charm.host = machine.host
        self.charm.make_engine = lambda _self, kind: machine.engine
        self.charm.install_runtime = lambda _self, kind: "containerd"
        self.charm.host_addresses = lambda _self: [ipaddress.ip_address(machine.address)]
        if "node_hostname" in self.saved:
            self.charm.node_hostname = lambda _self, fqdn: (
                machine.fqdn if fqdn else machine.hostname
            )
        if "run_host_command" in self.saved:
            # No host program runs in a rehearsal; the agent's defaults need none.
            self.charm.run_host_command = lambda _self, argv, **kwargs: (
                subprocess.CompletedProcess(list(argv), 1, "", "not run in a rehearsal")
            )
        if "systemctl_runner" in self.saved:
            # Nothing is restarted on the rehearsal's host.
            self.charm.systemctl_runner = lambda _self: _not_run
        if "resolve_hostname" in self.saved:
            # A unit's address resolves to its machine's name (how Juju's LXD machines are named).
            self.charm.resolve_hostname = lambda _self, address: machine.hostname
        if "install_packages" in self.saved:
            self.charm.install_packages = lambda _self, names: None  # no apt in a rehearsal
        if "probe" in self.saved:
            # The underlay (nested mode) is not rehearsed: its link-local service answers.
            self.charm.probe = lambda _self, address, port: True

    def __exit__(self, *exc: object) -> None:
        for name, value in self.saved.items():
            if value is None:
                delattr(self.charm, name)
            else:
                setattr(self.charm, name, value)


def _not_run(argv, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(list(argv), 0, "", "")
