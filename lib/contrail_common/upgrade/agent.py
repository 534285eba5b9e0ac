"""One vRouter node's upgrade, run by the agent's `upgrade` action after `kubectl drain`.

An ordinary re-create stops the agent with SIGTERM, which keeps vhost0 and the loaded module,
and a new agent keeps whatever module is loaded (`images/upgrade.yaml`: agent-restart-signal,
module-kept-when-loaded). So the node moves by this sequence instead:

1. refuse a tag the controller does not run yet, or a newer one (an agent may lag its
   controller, never lead it), and a kernel the new line cannot build for;
2. stop the agent with SIGQUIT, which removes vhost0 and unloads vrouter.ko (DPDK: the
   forwarder's SIGQUIT gives the NIC back to its kernel driver);
3. remove the built modules, as Contrail's own ZIU does, and run the new tag's kernel-init;
4. start the node's containers on the new tag;
5. verify that the loaded module is the one just built and that XMPP is Established.

A module that will not unload, or a new one that does not load (no contiguous memory left for
its tables), needs a reboot: the outcome says `reboot required` and the node is never
rebooted here. Where the node can still run, it runs the old tag again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Protocol

from ..monitoring.introspect import Peer
from . import facts
from .fields import ControlPlaneVersionFields
from .tags import compare


@dataclass(frozen=True)
class OneShot:
    """How a one-shot container ended: its exit code (None: still running at the timeout)
    and the first error line of its output."""

    exit_code: Optional[int]
    error: str = ""


class AgentHost(Protocol):
    """What the sequence needs from the machine and its engine (the agent charm's side)."""

    def stop(self, container: str, signal: str, timeout: int) -> None:
        """Stop the container with `signal`, killing it after `timeout` seconds."""
        ...

    def run_once(self, container: str, tag: str, timeout: float) -> OneShot:
        """(Re)create the one-shot container on `tag` and wait for it to exit."""
        ...

    def start(self, tag: str) -> None:
        """Run every container of the node on `tag` (the charm's deploy)."""
        ...

    def loaded_version(self) -> Optional[str]:
        """/sys/module/vrouter/version; None when the module is not loaded."""
        ...

    def built_version(self) -> Optional[str]:
        """`version=` of the module built for the running kernel; None when unknown."""
        ...

    def remove_built_modules(self) -> list[str]:
        """Remove every built vrouter.ko (`stale-modules-removed`); the paths removed."""
        ...

    def xmpp_peers(self) -> Optional[list[Peer]]:
        """The agent's XMPP sessions (introspect 8085); None when it does not answer."""
        ...

    def sleep(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class NodeLayout:
    """The node's container names (the agent charm's), and its datapath."""

    agent: str
    kernel_init: str
    dpdk_forwarder: Optional[str] = None  # DPDK mode: vrouter-agent-dpdk

    @property
    def dpdk(self) -> bool:
        return self.dpdk_forwarder is not None


@dataclass(frozen=True)
class Timeouts:
    build: float = 900.0  # DKMS builds take minutes (the agent charm waits as long)
    module: float = 120.0  # for the new agent to create vhost0 with the new module
    xmpp: float = 300.0
    poll: float = 5.0


@dataclass(frozen=True)
class Request:
    unit: str
    running: str  # the tag the node runs now
    target: str  # the configured image-tag
    controller: Optional[ControlPlaneVersionFields]
    layout: NodeLayout
    # Why the new line's module cannot be built on this kernel (the preflight, which names
    # the fix); None when it can.
    kernel_problem: Optional[str] = None


Result = Literal["upgraded", "refused", "reboot-required", "failed"]


@dataclass(frozen=True)
class Outcome:
    result: Result
    message: str
    running: str  # the tag the node runs afterwards
    steps: tuple[str, ...] = ()


def refusal(target: str, controller: Optional[ControlPlaneVersionFields]) -> Optional[str]:
    """Why an agent may not move to `target` now; None when it may."""
    if controller is None or (
        controller.controller_version is None and controller.controller_upgrading_to is None
    ):
        return "contrail-controller has not published the tag it runs yet; wait for it"
    version = controller.controller_version
    if version is None:
        moving = controller.controller_upgrading_to
        return (
            f"contrail-controller is between tags (moving to {moving}); upgrade agents once "
            "it runs one tag everywhere"
        )
    if target == version:
        return None
    if controller.controller_upgrading_to:
        return (
            f"contrail-controller is still upgrading to {controller.controller_upgrading_to}; "
            "run this once it has finished (juju status contrail-controller)"
        )
    order = compare(target, version)
    if order is None:
        return (
            f"cannot tell whether {target} is older than {version}, which the controller "
            f"runs; set this application's image-tag to {version}"
        )
    if order > 0:
        return (
            f"{target} is newer than {version}, which the controller runs: upgrade "
            "contrail-controller first (an agent may lag its controller, never lead it)"
        )
    return None


def upgrade_node(request: Request, host: AgentHost, timeouts: Timeouts = Timeouts()) -> Outcome:
    running, target, layout = request.running, request.target, request.layout
    if target == running:
        return Outcome("refused", f"{request.unit} already runs {target}", running)
    why = refusal(target, request.controller)
    if why is None and request.kernel_problem and not layout.dpdk:
        why = f"the vRouter module of {target} cannot be built here: {request.kernel_problem}"
    if why:
        return Outcome("refused", why, running)
    steps: list[str] = []

    host.stop(layout.agent, facts.AGENT_QUIT_SIGNAL, facts.AGENT_QUIT_TIMEOUT)
    steps.append(f"{layout.agent} stopped with {facts.AGENT_QUIT_SIGNAL}")
    if layout.dpdk_forwarder:
        host.stop(layout.dpdk_forwarder, facts.DPDK_QUIT_SIGNAL, facts.AGENT_QUIT_TIMEOUT)
        steps.append(f"{layout.dpdk_forwarder} stopped with {facts.DPDK_QUIT_SIGNAL}")
    else:
        stuck = host.loaded_version()
        if stuck is not None:
            host.start(running)
            steps.append(f"node back on {running}")
            return Outcome(
                "reboot-required",
                f"reboot required: vrouter.ko {stuck} stayed loaded after the agent quit (still "
                f"in use); {request.unit} runs {running} again. Drain the node, reboot it, then "
                "run the upgrade action again",
                running,
                tuple(steps),
            )
        removed = host.remove_built_modules()
        steps.append(f"removed {len(removed)} built vrouter.ko")

    build = host.run_once(layout.kernel_init, target, timeouts.build)
    if build.exit_code != 0:
        return _restore(request, host, timeouts, steps, build)
    steps.append(f"{layout.kernel_init} of {target} done")
    built = None if layout.dpdk else host.built_version()

    host.start(target)
    steps.append(f"node containers on {target}")
    loaded = None
    if not layout.dpdk:
        loaded = _wait(host, timeouts.module, timeouts.poll, host.loaded_version)
        problem = _module_problem(loaded, built, target)
        if problem:
            return Outcome(
                "reboot-required",
                f"reboot required: {problem}. Drain the node and reboot it; the agent starts on "
                f"the new module then",
                target,
                tuple(steps),
            )
        steps.append(f"vrouter.ko {loaded} loaded")

    peers = _wait(host, timeouts.xmpp, timeouts.poll, lambda: _established(host))
    if not peers:
        return Outcome(
            "failed",
            f"{request.unit} runs {target}, but no XMPP session to a control node is Established "
            f"after {int(timeouts.xmpp)}s (juju run {request.unit} logs container={layout.agent})",
            target,
            tuple(steps),
        )
    module = f", vrouter.ko {loaded}" if loaded else ""
    return Outcome(
        "upgraded",
        f"{request.unit} runs {target}{module}, XMPP Established with {', '.join(peers)}",
        target,
        tuple(steps),
    )


def _restore(
    request: Request, host: AgentHost, timeouts: Timeouts, steps: list[str], build: OneShot
) -> Outcome:
    """The new build failed: build and run the old tag again, so the node forwards."""
    layout, running = request.layout, request.running
    cause = build.error or (
        "still running" if build.exit_code is None else f"exit code {build.exit_code}"
    )
    restored = host.run_once(layout.kernel_init, running, timeouts.build)
    host.start(running)
    steps.append(f"node back on {running}")
    again = "" if restored.exit_code == 0 else f" (its own rebuild failed too: {restored.error})"
    return Outcome(
        "failed",
        f"{layout.kernel_init} of {request.target} failed: {cause}; {request.unit} runs "
        f"{running} again{again} (juju run {request.unit} logs container={layout.kernel_init})",
        running,
        tuple(steps),
    )


def _module_problem(loaded: Optional[str], built: Optional[str], target: str) -> Optional[str]:
    if loaded is None:
        return (
            f"the vrouter.ko of {target} did not load (most often no contiguous memory is left "
            "for its tables)"
        )
    if built is not None and loaded != built:
        return f"vrouter.ko {loaded} is loaded, not {built} built for {target}"
    return None


def _established(host: AgentHost) -> list[str]:
    return [peer.address or peer.name for peer in host.xmpp_peers() or [] if peer.up]


def _wait(host: AgentHost, timeout: float, poll: float, read):
    """`read()` until it gives something truthy, or `timeout` seconds passed."""
    waited = 0.0
    while True:
        found = read()
        if found or waited >= timeout:
            return found
        host.sleep(poll)
        waited += poll
