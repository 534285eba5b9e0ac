"""One vRouter node's upgrade (pure sequence over a recording host), the tag order it relies
on, and the module versions it compares."""

from __future__ import annotations

import gzip
import lzma
from dataclasses import dataclass, field
from typing import Optional

import pytest

from contrail_common.hostpaths import HostRoot
from contrail_common.monitoring.introspect import Peer
from contrail_common.upgrade import agent, facts, module_version
from contrail_common.upgrade.agent import NodeLayout, OneShot, Request, Timeouts
from contrail_common.upgrade.fields import ControlPlaneVersionFields
from contrail_common.upgrade.tags import compare
from contrail_common.upgrade.testing import elf_module

OLD, NEW = "R24.1-2025-01-10", "R24.1-2025-03-01"
KERNEL = NodeLayout(agent="vrouter-agent", kernel_init="vrouter-kernel-init")
DPDK = NodeLayout(
    agent="vrouter-agent",
    kernel_init="vrouter-kernel-init-dpdk",
    dpdk_forwarder="vrouter-agent-dpdk",
)
DONE = ControlPlaneVersionFields(controller_version=NEW)
FAST = Timeouts(build=10, module=10, xmpp=10, poll=5)


@dataclass
class FakeNode:
    """A vRouter machine: a loaded module, built modules per tag, an agent that loads the
    module built last when it starts, and its XMPP sessions."""

    running: str = OLD
    loaded: Optional[str] = "R24.1-2025-01-10"
    built: Optional[str] = "R24.1-2025-01-10"
    unload_fails: bool = False
    build_fails_for: set[str] = field(default_factory=set)
    load_fails: bool = False
    loads_instead: Optional[str] = None
    xmpp_up: bool = True
    calls: list[tuple] = field(default_factory=list)

    def stop(self, container: str, signal: str, timeout: int) -> None:
        self.calls.append(("stop", container, signal, timeout))
        if container == "vrouter-agent" and signal == "SIGQUIT" and not self.unload_fails:
            self.loaded = None

    def run_once(self, container: str, tag: str, timeout: float) -> OneShot:
        self.calls.append(("run_once", container, tag))
        if tag in self.build_fails_for:
            return OneShot(1, "vr_flow.c:412:5: error: implicit declaration of function")
        self.built = tag
        return OneShot(0)

    def start(self, tag: str) -> None:
        self.calls.append(("start", tag))
        self.running = tag
        if self.loaded is None and not self.load_fails:
            self.loaded = self.loads_instead or self.built

    def loaded_version(self) -> Optional[str]:
        return self.loaded

    def built_version(self) -> Optional[str]:
        return self.built

    def remove_built_modules(self) -> list[str]:
        self.calls.append(("remove_built_modules",))
        self.built = None
        return ["/lib/modules/5.15.0-91-generic/updates/dkms/vrouter.ko"]

    def xmpp_peers(self) -> Optional[list[Peer]]:
        state = "Established" if self.xmpp_up else "Active"
        return [Peer("xmpp", "10.0.0.11", "10.0.0.11", state)]

    def sleep(self, seconds: float) -> None:
        self.calls.append(("sleep", seconds))


def _request(**changes) -> Request:
    values = {
        "unit": "contrail-agent/3",
        "running": OLD,
        "target": NEW,
        "controller": DONE,
        "layout": KERNEL,
    }
    values.update(changes)
    return Request(**values)


def _steps(node: FakeNode) -> list[tuple]:
    return [call for call in node.calls if call[0] != "sleep"]


# -- refusals -------------------------------------------------------------------------------


def test_an_agent_is_refused_while_the_controller_is_still_upgrading():
    node = FakeNode()
    upgrading = ControlPlaneVersionFields(controller_version=OLD, controller_upgrading_to=NEW)
    outcome = agent.upgrade_node(_request(controller=upgrading), node)
    assert outcome.result == "refused"
    assert outcome.message == (
        f"contrail-controller is still upgrading to {NEW}; run this once it has finished "
        "(juju status contrail-controller)"
    )
    assert node.calls == [] and outcome.running == OLD


def test_an_agent_is_refused_while_the_controller_runs_mixed_tags():
    halted = ControlPlaneVersionFields(controller_version=None, controller_upgrading_to=NEW)
    assert "between tags" in str(agent.refusal(NEW, halted))
    assert "not published" in str(agent.refusal(NEW, None))


def test_an_agent_may_lag_its_controller_but_never_lead_it():
    assert agent.refusal(NEW, DONE) is None
    assert agent.refusal(OLD, DONE) is None  # older than the controller: supported
    newer = agent.refusal("R25.1-2025-06-01", DONE)
    assert newer == (
        f"R25.1-2025-06-01 is newer than {NEW}, which the controller runs: upgrade "
        "contrail-controller first (an agent may lag its controller, never lead it)"
    )
    assert "cannot tell whether R24.1-latest is older" in str(agent.refusal("R24.1-latest", DONE))


def test_a_kernel_the_new_line_cannot_build_for_is_refused_before_anything_stops():
    node = FakeNode()
    problem = "kernel headers missing for 5.15.0-91-generic: install linux-headers-..."
    outcome = agent.upgrade_node(_request(kernel_problem=problem), node)
    assert outcome.result == "refused"
    assert outcome.message == f"the vRouter module of {NEW} cannot be built here: {problem}"
    assert node.calls == []


def test_the_tag_the_node_runs_is_refused():
    assert agent.upgrade_node(_request(target=OLD), FakeNode()).result == "refused"


# -- the sequence ---------------------------------------------------------------------------


def test_the_node_quits_rebuilds_and_verifies_the_new_module_and_xmpp():
    node = FakeNode()
    outcome = agent.upgrade_node(_request(), node, FAST)
    assert _steps(node) == [
        ("stop", "vrouter-agent", "SIGQUIT", 120),
        ("remove_built_modules",),
        ("run_once", "vrouter-kernel-init", NEW),
        ("start", NEW),
    ]
    assert outcome.result == "upgraded" and outcome.running == NEW
    assert outcome.message == (
        f"contrail-agent/3 runs {NEW}, vrouter.ko {NEW}, XMPP Established with 10.0.0.11"
    )
    assert outcome.steps == (
        "vrouter-agent stopped with SIGQUIT",
        "removed 1 built vrouter.ko",
        f"vrouter-kernel-init of {NEW} done",
        f"node containers on {NEW}",
        f"vrouter.ko {NEW} loaded",
    )


def test_a_module_that_stays_loaded_needs_a_reboot_and_the_node_runs_the_old_tag_again():
    node = FakeNode(unload_fails=True)
    outcome = agent.upgrade_node(_request(), node, FAST)
    assert outcome.result == "reboot-required" and outcome.running == OLD
    assert outcome.message.startswith(
        f"reboot required: vrouter.ko {OLD} stayed loaded after the agent quit"
    )
    assert ("run_once", "vrouter-kernel-init", NEW) not in node.calls
    assert node.calls[-1] == ("start", OLD)


def test_a_failed_build_brings_the_old_tag_back():
    node = FakeNode(build_fails_for={NEW})
    outcome = agent.upgrade_node(_request(), node, FAST)
    assert outcome.result == "failed" and outcome.running == OLD
    assert outcome.message == (
        f"vrouter-kernel-init of {NEW} failed: vr_flow.c:412:5: error: implicit declaration of "
        f"function; contrail-agent/3 runs {OLD} again (juju run contrail-agent/3 logs "
        "container=vrouter-kernel-init)"
    )
    assert _steps(node)[-2:] == [("run_once", "vrouter-kernel-init", OLD), ("start", OLD)]


def test_a_new_module_that_does_not_load_needs_a_reboot_never_done_here():
    node = FakeNode(load_fails=True)
    outcome = agent.upgrade_node(_request(), node, FAST)
    assert outcome.result == "reboot-required" and outcome.running == NEW
    assert outcome.message.startswith(
        f"reboot required: the vrouter.ko of {NEW} did not load (most often no contiguous memory"
    )
    assert not any(call[0] == "reboot" for call in node.calls)


def test_a_loaded_module_other_than_the_one_built_needs_a_reboot():
    node = FakeNode(loads_instead="R24.1-2024-12-01")
    outcome = agent.upgrade_node(_request(), node, FAST)
    assert outcome.result == "reboot-required"
    assert f"vrouter.ko R24.1-2024-12-01 is loaded, not {NEW} built for {NEW}" in outcome.message


def test_no_xmpp_session_after_the_upgrade_is_a_failure_naming_the_logs():
    node = FakeNode(xmpp_up=False)
    outcome = agent.upgrade_node(_request(), node, FAST)
    assert outcome.result == "failed" and outcome.running == NEW
    assert outcome.message == (
        f"contrail-agent/3 runs {NEW}, but no XMPP session to a control node is Established "
        "after 10s (juju run contrail-agent/3 logs container=vrouter-agent)"
    )
    assert node.calls.count(("sleep", 5)) >= 2


def test_dpdk_quits_the_forwarder_too_and_has_no_module_to_check():
    node = FakeNode(loaded=None, built=None)
    outcome = agent.upgrade_node(_request(layout=DPDK, kernel_problem="ignored in DPDK"), node)
    assert _steps(node) == [
        ("stop", "vrouter-agent", "SIGQUIT", 120),
        ("stop", "vrouter-agent-dpdk", "SIGQUIT", 120),
        ("run_once", "vrouter-kernel-init-dpdk", NEW),
        ("start", NEW),
    ]
    assert outcome.result == "upgraded"
    assert outcome.message == f"contrail-agent/3 runs {NEW}, XMPP Established with 10.0.0.11"


def test_the_sequence_uses_the_recorded_facts():
    assert (facts.AGENT_QUIT_SIGNAL, facts.AGENT_RESTART_SIGNAL) == ("SIGQUIT", "SIGTERM")
    assert facts.AGENT_QUIT_TIMEOUT == 120


# -- tag order ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("R24.1-2025-01-10", "R24.1-2025-03-01", -1),
        ("R24.1-2025-03-01", "R24.1-2025-01-10", 1),
        ("R2011-latest", "R24.1-latest", -1),
        ("R24.1-latest", "R25.1-2025-06-01", -1),
        ("R26.1-latest", "R25.1-2025-06-01", 1),
        ("R24.1-latest", "R24.1-latest", 0),
        ("R24.1-latest", "R24.1-2025-03-01", None),  # a moving tag names no date
        ("2025-06-01", "R25.1-2025-07-01", None),  # a master nightly against a branch
        ("2025-06-01", "2025-07-01", -1),
        ("2011.L3", "R24.1-latest", None),
    ],
)
def test_tags_order_only_when_they_can_tell(a, b, order):
    assert compare(a, b) == order


# -- module versions ---------------------------------------------------------------------------


def test_the_built_module_version_is_read_from_its_modinfo(tmp_path):
    host = HostRoot(tmp_path)
    kernel = "5.15.0-91-generic"
    assert module_version.built_version(host, kernel) is None
    path = module_version.built_module(host, kernel)
    path.parent.mkdir(parents=True)
    path.write_bytes(elf_module("R24.1-2025-03-01"))
    assert module_version.built_version(host, kernel) == "R24.1-2025-03-01"


@pytest.mark.parametrize(("suffix", "pack"), [(".xz", lzma.compress), (".gz", gzip.compress)])
def test_compressed_modules_are_read_too(tmp_path, suffix, pack):
    path = tmp_path / f"vrouter.ko{suffix}"
    path.write_bytes(pack(elf_module("2025-06-01")))
    assert module_version.file_version(path) == "2025-06-01"


def test_something_that_is_not_a_module_says_so(tmp_path):
    path = tmp_path / "vrouter.ko"
    path.write_bytes(b"not an elf")
    with pytest.raises(module_version.ModuleFileError, match="not an ELF file"):
        module_version.file_version(path)


def test_the_loaded_version_comes_from_sysfs(tmp_path):
    host = HostRoot(tmp_path)
    assert module_version.loaded_version(host) is None
    version = host.path("/sys/module/vrouter/version")
    version.parent.mkdir(parents=True)
    version.write_text("R24.1-2025-01-10\n")
    assert module_version.loaded_version(host) == "R24.1-2025-01-10"
