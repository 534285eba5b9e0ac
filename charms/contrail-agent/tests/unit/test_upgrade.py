"""A vRouter node's upgrade through the agent charm (ops.testing): each node keeps its tag until
its own `upgrade` action, which never leads the controller and never reboots.

The machine stands in for the kernel: the agent quitting with SIGQUIT unloads vrouter.ko,
vrouter-kernel-init builds a module carrying its tag as version, and the agent starting loads
the module that is built.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from agent_testing import KERNEL, PROJECT, VERSION, FakeMachine, controller, principal
from ops import testing
from vrouter import AGENT, KERNEL_INIT, AgentConfig, AgentInputs, services

from contrail_common.base_charm import Cluster
from contrail_common.containers import ContainerSpec, ContainerState
from contrail_common.containers.engine import OwnedContainer
from contrail_common.containers.memory_engine import MemoryEngine
from contrail_common.monitoring.introspect import Peer
from contrail_common.upgrade import module_version
from contrail_common.upgrade.testing import elf_module

OLD, NEW = "R24.1-2025-01-10", "R24.1-2025-03-01"
MODULE = f"/lib/modules/{KERNEL}/updates/dkms/vrouter.ko"


class NodeEngine(MemoryEngine):
    """The engine of a machine whose kernel follows the vRouter containers."""

    def __init__(self, machine: FakeMachine) -> None:
        super().__init__()
        self.machine = machine
        self.unloads_on_quit = True
        for tag in (OLD, NEW):
            for dpdk in (False, True):
                config = AgentConfig.load({"image-tag": tag, "dpdk": dpdk})
                for s in services(config, Cluster("", "", [], 1), AgentInputs()):
                    self.add_image(config.image(s.image), {"version": VERSION})

    def _create(self, project: str, spec: ContainerSpec, spec_hash: str) -> None:
        super()._create(project, spec, spec_hash)
        if spec.name == AGENT and self.machine.path(MODULE).exists():
            built = module_version.file_version(self.machine.path(MODULE))
            self.machine.write("/sys/module/vrouter/version", f"{built}\n")
            self.machine.load_module()

    def _remove(self, project: str, container: OwnedContainer) -> None:
        super()._remove(project, container)
        if container.name == AGENT and container.stop_signal == "SIGQUIT" and self.unloads_on_quit:
            self.machine.unload_module()
            self.machine.path("/sys/module/vrouter/version").unlink(missing_ok=True)
            self.machine.path("/sys/module/vrouter").rmdir()


@pytest.fixture
def engine(machine: FakeMachine) -> NodeEngine:
    machine.write(MODULE, "")
    machine.path(MODULE).write_bytes(elf_module(OLD))
    return NodeEngine(machine)


@pytest.fixture(autouse=True)
def builds(monkeypatch, engine: NodeEngine, machine: FakeMachine) -> list[str]:
    """The charm's waits for vrouter-kernel-init: at the first, the build finishes with the
    module of the container's tag; the agent's XMPP sessions are Established."""
    from charm import ContrailAgentCharm
    from node_upgrade import AgentHost

    built: list[str] = []

    def sleep(self, seconds: float) -> None:
        container = engine.containers.get(f"{PROJECT}-{KERNEL_INIT}")
        if container is None or container.state == ContainerState.EXITED:
            return
        tag = container.spec.image.rpartition(":")[2]
        machine.write(MODULE, "")
        machine.path(MODULE).write_bytes(elf_module(tag))
        built.append(tag)
        container.state, container.exit_code = ContainerState.EXITED, 0

    monkeypatch.setattr(ContrailAgentCharm, "sleep", sleep)
    established = [Peer("xmpp", "ctl", "10.1.0.1", "Established")]
    monkeypatch.setattr(AgentHost, "xmpp_peers", lambda self: established)
    return built


def peer(running: str | None = None, **fields) -> testing.PeerRelation:
    members = [{"unit": "contrail-agent/0", "address": "192.0.2.0"}]
    own = {"upgrade-running": json.dumps(running)} if running else {}
    own.update({k.replace("_", "-"): json.dumps(v) for k, v in fields.items()})
    return testing.PeerRelation(
        "agent-cluster", local_app_data={"members": json.dumps(members)}, local_unit_data=own
    )


def state(tag: str, running: str | None, **published) -> testing.State:
    return testing.State(
        leader=True,
        config={"image-tag": tag},
        relations=[peer(running), controller(**published), principal()],
    )


def tags(engine: MemoryEngine) -> dict[str, str]:
    return {c.spec.name: c.spec.image.rpartition(":")[2] for c in engine.containers.values()}


def own(out: testing.State) -> dict:
    (relation,) = [r for r in out.relations if r.endpoint == "agent-cluster"]
    return {k: json.loads(v) for k, v in relation.local_unit_data.items() if k.startswith("up")}


def test_a_new_tag_is_pulled_ahead_and_the_node_stays_on_its_tag(ctx, engine):
    out = ctx.run(ctx.on.config_changed(), state(OLD, None, controller_version=OLD))
    assert set(tags(engine).values()) == {OLD}
    assert own(out)["upgrade-running"] == OLD
    moved = dataclasses.replace(
        out,
        config={"image-tag": NEW},
        relations=[peer(OLD), controller(controller_version=NEW), principal()],
    )
    out = ctx.run(ctx.on.config_changed(), moved)
    assert set(tags(engine).values()) == {OLD}
    assert f"opensdn/contrail-vrouter-agent:{NEW}" in engine.images
    assert own(out)["upgrade-prepared"] == NEW
    assert out.unit_status == testing.ActiveStatus(
        f"Unit is ready; runs {OLD}; upgrade to {NEW} ready: drain the node (kubectl drain), "
        "then juju run contrail-agent/0 upgrade"
    )


@pytest.mark.parametrize(
    "published, refusal",
    [
        (
            {"controller_version": OLD, "controller_upgrading_to": NEW},
            f"contrail-controller is still upgrading to {NEW}",
        ),
        ({"controller_version": None, "controller_upgrading_to": NEW}, "is between tags"),
        ({"controller_version": OLD}, f"{NEW} is newer than {OLD}, which the controller runs"),
    ],
)
def test_the_action_is_refused_before_the_controller_runs_the_tag(ctx, engine, published, refusal):
    ctx.run(ctx.on.config_changed(), state(OLD, None, controller_version=OLD))
    with pytest.raises(testing.ActionFailed, match=refusal):
        ctx.run(ctx.on.action("upgrade"), state(NEW, OLD, **published))
    assert set(tags(engine).values()) == {OLD}
    assert not [s for s in engine.stops if s.signal == "SIGQUIT"]


def test_the_action_quits_the_agent_rebuilds_and_verifies(ctx, engine, builds):
    ctx.run(ctx.on.config_changed(), state(OLD, None, controller_version=OLD))
    out = ctx.run(ctx.on.action("upgrade"), state(NEW, OLD, controller_version=NEW))
    assert ctx.action_results is not None
    assert ctx.action_results["result"] == "upgraded"
    assert ctx.action_results["message"] == (
        f"contrail-agent/0 runs {NEW}, vrouter.ko {NEW}, XMPP Established with 10.1.0.1"
    )
    quit_stops = [s for s in engine.stops if s.signal == "SIGQUIT"]
    assert [(s.name, s.timeout) for s in quit_stops] == [(AGENT, 120)]
    assert builds == [NEW]
    assert set(tags(engine).values()) == {NEW}
    assert own(out)["upgrade-running"] == NEW
    assert out.unit_status == testing.ActiveStatus("Unit is ready")


def test_a_module_that_stays_loaded_needs_a_reboot_and_the_node_runs_its_tag_again(ctx, engine):
    ctx.run(ctx.on.config_changed(), state(OLD, None, controller_version=OLD))
    engine.unloads_on_quit = False
    with pytest.raises(
        testing.ActionFailed, match=r"reboot required: vrouter.ko .* stayed loaded"
    ):
        ctx.run(ctx.on.action("upgrade"), state(NEW, OLD, controller_version=NEW))
    assert set(tags(engine).values()) == {OLD}


def test_a_loaded_module_other_than_the_built_one_says_reboot_required(ctx, engine, machine):
    ctx.run(ctx.on.config_changed(), state(OLD, None, controller_version=OLD))
    machine.path(MODULE).write_bytes(elf_module(NEW))
    out = ctx.run(ctx.on.update_status(), state(OLD, OLD, controller_version=OLD))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(
        f"reboot required: vrouter.ko {OLD} is loaded, not {NEW} that was built"
    )


@pytest.mark.parametrize("version, runs", [(OLD, OLD), (NEW, NEW)])
def test_a_new_node_starts_on_what_the_controller_allows(ctx, engine, version, runs):
    """A node added mid-upgrade never leads its controller."""
    out = ctx.run(ctx.on.config_changed(), state(NEW, None, controller_version=version))
    assert set(tags(engine).values()) == {runs}
    assert own(out)["upgrade-running"] == runs


def test_the_leader_reports_its_nodes_to_the_controller(ctx, engine):
    out = ctx.run(ctx.on.config_changed(), state(OLD, None, controller_version=OLD))
    moved = dataclasses.replace(
        out, config={"image-tag": NEW},
        relations=[peer(OLD), controller(controller_version=NEW), principal()],
    )  # fmt: skip
    out = ctx.run(ctx.on.config_changed(), moved)
    out = ctx.run(ctx.on.config_changed(), out)  # the leader reports what its units reported
    (relation,) = [r for r in out.relations if r.endpoint == "contrail-controller"]
    report = {k: json.loads(v) for k, v in relation.local_app_data.items()}
    assert report["upgrade-running"] == OLD and report["upgrade-target"] == NEW
    assert (report["upgrade-units"], report["upgrade-prepared-units"]) == (1, 1)
    assert report["upgrade-problems"] == {}
