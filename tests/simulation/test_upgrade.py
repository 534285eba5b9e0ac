"""A staged upgrade of the HA overlay, end to end: every application set to a new image-tag,
the controller leader's pre-upgrade-check and upgrade actions, update-status ticks, then each
agent's own upgrade action.

Checked after every hook of every unit:

- the config API never runs two tags: every running config-api container has one tag;
- control and the config database move one controller at a time: at most one unit runs a
  group on another tag than the plan records for it without having been released;
- an agent reaches the new tag only in its own upgrade action.

The machines stand in for what the charms cannot see directly: a control node whose container
was re-created in this hook has its BGP and XMPP sessions down (they are back at its next
hook), ZooKeeper answers as an ensemble, Cassandra and RabbitMQ answer as the nodes that run
(`services.py`), and a vRouter node's kernel follows its containers (the agent quitting with
SIGQUIT unloads the module, kernel-init builds one carrying its tag, the agent loads it).
"""

from __future__ import annotations

import importlib
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import pytest
from machines import KERNEL, Machine, RegistryEngine
from model import Model, Unit

from contrail_common.containers import ContainerSpec, ContainerState
from contrail_common.containers.engine import OwnedContainer
from contrail_common.containers.spec import PROJECT_LABEL
from contrail_common.monitoring.introspect import Peer
from contrail_common.upgrade import module_version
from contrail_common.upgrade.stages import ROLLOUTS
from contrail_common.upgrade.testing import elf_module
from contrail_common.upgrade.upgrades import Upgrades

REPO = Path(__file__).resolve().parents[2]
STANDARD = REPO / "bundles" / "k8s-contrail.yaml"
HA = REPO / "bundles" / "overlays" / "ha.yaml"
OLD, NEW = "R24.1-latest", "R24.1-2025-03-01"
CONTRAIL = (
    "contrail-controller",
    "contrail-analytics",
    "contrail-analyticsdb",
    "contrail-kubernetes-master",
    "contrail-kubernetes-node",
    "contrail-agent",
)
# The containers that tell where each controller group is.
GROUP_PROBES = {
    "config": "config-api",
    "control": "control-control",
    "config-database": ("configdb-cassandra"),
}
GROUP_STAGES = {"control": 3, "config-database": 4}
MODULE = f"/lib/modules/{KERNEL}/updates/dkms/vrouter.ko"


def tag_of(image: str) -> str:
    return image.rpartition(":")[2]


class KernelEngine(RegistryEngine):
    """A Kubernetes machine's engine whose kernel follows the vRouter containers."""

    def __init__(self, machine: Machine) -> None:
        super().__init__()
        self.machine = machine

    def _create(self, project: str, spec: ContainerSpec, spec_hash: str) -> None:
        super()._create(project, spec, spec_hash)
        container = self.containers[f"{project}-{spec.name}"]
        if spec.name == "vrouter-kernel-init":
            self.machine.write(MODULE)
            self.machine.host.path(MODULE).write_bytes(elf_module(tag_of(spec.image)))
            container.state, container.exit_code = ContainerState.EXITED, 0
        elif spec.name == "vrouter-agent" and self.machine.host.path(MODULE).exists():
            built = module_version.file_version(self.machine.host.path(MODULE))
            self.machine.write("/sys/module/vrouter/version", f"{built}\n")
            self.machine.write("/proc/modules", "vrouter 512000 1 - Live 0x0\n")

    def _remove(self, project: str, container: OwnedContainer) -> None:
        super()._remove(project, container)
        if container.name == "vrouter-agent" and container.stop_signal == "SIGQUIT":
            self.machine.write("/proc/modules", "")
            for name in ("version", "initstate"):
                self.machine.host.path(f"/sys/module/vrouter/{name}").unlink(missing_ok=True)
            self.machine.host.path("/sys/module/vrouter").rmdir()


class UpgradeModel(Model):
    """The HA model, watched after every hook."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for machine in self.machines.values():
            if any(u.app == "contrail-agent" for u in self.units if u.machine is machine):
                handler = machine.engine.exec_handler
                machine.engine = KernelEngine(machine)
                machine.engine.exec_handler = handler
        self.hook_kinds: list[tuple[str, str]] = []
        self.acting: Optional[str] = None  # the unit whose action runs now
        self.control_tags: dict[str, Optional[str]] = {}  # when the running hook began
        self.first_new: dict[str, int] = {}  # "app:group" -> the hook it first ran NEW
        self.agent_moves: list[tuple[str, Optional[str]]] = []
        # (app, stage) -> the units that held its lock, in turn
        self.holders: dict[tuple[str, int], list[str]] = defaultdict(list)

    # -- what the units read --------------------------------------------------------------

    def sessions(self, url: str) -> str:
        """A control node's introspect: BGP with the other control nodes, two XMPP sessions
        per agent; all down in the hook that re-created it."""
        address = url.split("//", 1)[1].split(":", 1)[0]
        controllers = self.apps["contrail-controller"].units
        unit = next(u for u in controllers if u.machine.address == address)
        restarted = self.running(unit, "control-control") != self.control_tags.get(unit.name)
        state = "Active" if restarted else "Established"
        peers = [(u.machine.address, "BGP") for u in controllers if u is not unit]
        agents = self.apps["contrail-agent"].units
        peers += [(a.machine.address, "XMPP") for a in agents]
        items = "".join(
            f"<BgpNeighborResp><peer>{a}</peer><peer_address>{a}</peer_address>"
            f"<encoding>{e}</encoding><state>{state}</state></BgpNeighborResp>"
            for a, e in peers
        )
        return f"<BgpNeighborListResp><neighbors><list>{items}</list></neighbors></BgpNeighborListResp>"

    def zookeeper(self, address: str) -> str:
        first = self.apps["contrail-controller"].units[0].machine.address
        mode = "leader" if address == first else "follower"
        return f"Zookeeper version: 3.7.1-abc, built on 2022\nMode: {mode}\nNode count: 4\n"

    # -- after every hook -------------------------------------------------------------------

    def running(self, unit: Unit, container: str) -> Optional[str]:
        project = unit.name.replace("/", "-")
        found = unit.machine.engine.containers.get(f"{project}-{container}")
        if found is None or found.labels.get(PROJECT_LABEL) != project:
            return None
        return tag_of(found.spec.image)

    def plan(self, app: str) -> dict[str, Any]:
        rid = self.peer_ids[app]
        return {k: json.loads(v) for k, v in self.app_bags[(rid, app)].items()}

    def run(self, unit: Unit, event: Callable[[Any, Any], Any]) -> Any:
        controllers = self.apps["contrail-controller"].units
        self.control_tags = {u.name: self.running(u, "control-control") for u in controllers}
        out = super().run(unit, event)
        self.check(unit)
        return out

    def check(self, unit: Unit) -> None:
        controllers = self.apps["contrail-controller"].units
        api_tags = {self.running(u, "config-api") for u in controllers} - {None}
        assert len(api_tags) <= 1, f"mixed config API after {unit.name}: {api_tags}"
        for app in ("contrail-controller", "contrail-analyticsdb"):
            found = self.plan(app)
            turn = (app, found.get("upgrade-stage", 0))
            # Those through the stage, then the holder: a lock may pass within one hook.
            for unit_name in [*(found.get("upgrade-done") or []), found.get("upgrade-holder")]:
                if unit_name and unit_name not in self.holders[turn]:
                    self.holders[turn].append(unit_name)
        plan = self.plan("contrail-controller")
        recorded = plan.get("upgrade-group-tags") or {}
        for group, stage in GROUP_STAGES.items():
            moved = {
                u.name
                for u in controllers
                if recorded.get(group)
                and self.running(u, GROUP_PROBES[group]) not in (None, recorded[group])
            }
            if plan.get("upgrade-stage") == stage:
                moved -= set(plan.get("upgrade-done") or [])
            assert len(moved) <= 1, f"{group} moving on {sorted(moved)} after {unit.name}"
        for app in CONTRAIL:
            for u in self.apps[app].units:
                project = u.name.replace("/", "-")
                for container in u.machine.engine.containers.values():
                    if container.labels.get(PROJECT_LABEL) != project:
                        continue
                    if tag_of(container.spec.image) == NEW:
                        role = container.labels.get("net.juniper.contrail", "")
                        self.first_new.setdefault(f"{app}:{role}", self.hooks)
                        if app == "contrail-agent" and u.name not in dict(self.agent_moves):
                            self.agent_moves.append((u.name, self.acting))

    def act(self, unit: Unit, action: str) -> dict[str, Any]:
        """`juju run <unit> <action>`: its results."""
        seen: dict[str, Any] = {}

        def event(ctx, state):
            seen["ctx"] = ctx
            return ctx.on.action(action)

        self.acting = unit.name
        try:
            self.run(unit, event)
        finally:
            self.acting = None
        self.settle()
        return seen["ctx"].action_results or {}

    def leader(self, app: str) -> Unit:
        return next(u for u in self.apps[app].units if u.leader)


@pytest.fixture
def model(monkeypatch):
    found = UpgradeModel(STANDARD, [HA])
    monkeypatch.setattr(Upgrades, "fetch", staticmethod(lambda url, timeout: found.sessions(url)))
    monkeypatch.setattr(
        Upgrades, "ask", staticmethod(lambda address, port, word, t: found.zookeeper(address))
    )
    # The agent charm's own module, loaded with the charm (its src is on the path then).
    agent_host = importlib.import_module("node_upgrade").AgentHost
    established = [Peer("xmpp", "control", "10.0.0.1", "Established")]
    monkeypatch.setattr(agent_host, "xmpp_peers", lambda self: established)
    agent_charm = found.apps["contrail-agent"].charm
    monkeypatch.setattr(agent_charm, "sleep", lambda self, seconds: None)
    yield found
    found.close()


def not_active(model: Model) -> dict[str, str]:
    return {n: str(s) for n, s in model.statuses().items() if s.name != "active"}


def tags_of(model: UpgradeModel, app: str) -> set[str]:
    found = set()
    for unit in model.apps[app].units:
        project = unit.name.replace("/", "-")
        found |= {
            tag_of(c.spec.image)
            for c in unit.machine.engine.containers.values()
            if c.labels.get(PROJECT_LABEL) == project
        }
    return found


def roles_of(model: UpgradeModel, app: str) -> set[str]:
    found = set()
    for unit in model.apps[app].units:
        project = unit.name.replace("/", "-")
        found |= {
            c.labels["net.juniper.contrail"]
            for c in unit.machine.engine.containers.values()
            if c.labels.get(PROJECT_LABEL) == project
        }
    return found


def test_the_ha_overlay_upgrades_in_contrails_order(model):
    model.deploy()
    assert not_active(model) == {}
    # Every container a rollout charm runs (TLS stunnels included) belongs to a stage's group.
    for app, rollout in ROLLOUTS.items():
        for role in roles_of(model, app):
            rollout.group(role)
    for app in CONTRAIL:
        model.configure(app, **{"image-tag": NEW})
    # Stage 0: everything pulled, nothing moved (but the CNI binary, which has no stages).
    for app in CONTRAIL:
        assert tags_of(model, app) == ({NEW} if app == "contrail-kubernetes-node" else {OLD}), app
    assert not_active(model) == {}
    controller = model.leader("contrail-controller")
    check = model.act(controller, "pre-upgrade-check")
    assert check["result"] == "passed", check

    started = model.act(controller, "upgrade")
    assert started["result"].startswith("started upgrade")
    for _ in range(12):
        if all(tags_of(model, app) == {NEW} for app in CONTRAIL[:4]):
            break
        model.update_status()
    print(f"control plane upgraded after {model.hooks} hooks")
    for app in CONTRAIL[:4]:
        assert tags_of(model, app) == {NEW}, app
        assert model.plan(app).get("upgrade-state") == "idle", app
    # Control, then the config database, one unit at a time in the members' order.
    members = [m["unit"] for m in model.plan("contrail-controller")["members"]]
    for stage in (3, 4):
        assert model.holders[("contrail-controller", stage)] == members
    analyticsdb = [m["unit"] for m in model.plan("contrail-analyticsdb")["members"]]
    assert model.holders[("contrail-analyticsdb", 1)] == analyticsdb
    # Agents are left to their own action.
    assert tags_of(model, "contrail-agent") == {OLD}
    order = model.first_new
    assert order["contrail-controller:config"] < order["contrail-controller:control"]
    assert order["contrail-controller:control"] < order["contrail-controller:config-database"]
    for follower in ("contrail-analytics:analytics", "contrail-analyticsdb:database"):
        assert order[follower] > order["contrail-controller:config-database"], follower
    assert order["contrail-kubernetes-master:kubernetes"] > order["contrail-controller:control"]

    for agent in model.apps["contrail-agent"].units:
        results = model.act(agent, "upgrade")
        assert results["result"] == "upgraded", results
    assert tags_of(model, "contrail-agent") == {NEW}
    assert [acting for unit, acting in model.agent_moves] == [
        unit for unit, acting in model.agent_moves
    ]  # each agent moved in its own action
    model.update_status()
    assert not_active(model) == {}
