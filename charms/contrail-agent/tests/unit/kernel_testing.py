"""Test helpers for the vRouter kernel preflight: host states a machine can be in (headers
removed, lockdown, a signed module) and a stand-in for the vrouter-kernel-init build."""

from __future__ import annotations

from agent_testing import PROJECT, VERSION, FakeMachine
from vrouter import KERNEL_INIT, AgentConfig, AgentInputs, services

from contrail_common.base_charm import Cluster
from contrail_common.containers import ContainerState
from contrail_common.containers.memory_engine import MemoryEngine

LOCKDOWN = "/sys/kernel/security/lockdown"
SIG_ENFORCE = "/sys/module/module/parameters/sig_enforce"
SIGNATURE = "~Module signature appended~\n"  # what the kernel's sign-file appends
BUILD_LOG = "/var/log/contrail/vrouter-kernel-build-init/console.log"


def serve(engine: MemoryEngine, tag: str, release_line: str = "auto") -> None:
    """Let the registry serve every image the charm asks for with this tag."""
    for dpdk in (False, True):
        options = {"image-tag": tag, "release-line": release_line, "dpdk": dpdk}
        config = AgentConfig.load(options)
        for service in services(config, Cluster("", "", [], 1), AgentInputs()):
            engine.add_image(config.image(service.image), {"version": VERSION})


def boot_without_module(machine: FakeMachine, release: str, headers: bool = True) -> None:
    """A machine booted into `release`, the module never built for it."""
    if headers:
        machine.install_headers(release)
    machine.boot(release)


def remove_headers(machine: FakeMachine, release: str) -> None:
    """`apt remove linux-headers-<release>`: its files go, as the `build` link's target does."""
    directory = machine.path(f"/usr/src/linux-headers-{release}")
    for file in directory.iterdir():
        file.unlink()
    directory.rmdir()


def remove_module(machine: FakeMachine, release: str) -> None:
    machine.path(f"/lib/modules/{release}/updates/dkms/vrouter.ko").unlink()
    machine.unload_module()


def lockdown(machine: FakeMachine, mode: str) -> None:
    modes = ["none", "integrity", "confidentiality"]
    machine.write(LOCKDOWN, " ".join(f"[{m}]" if m == mode else m for m in modes) + "\n")


def sign_module(machine: FakeMachine, release: str) -> None:
    path = machine.path(f"/lib/modules/{release}/updates/dkms/vrouter.ko")
    path.write_text(path.read_text() + SIGNATURE)


class FakeKernelBuild:
    """Stands in for the charm's sleep while it waits for vrouter-kernel-init: at the first
    wait the container finishes as told (the module built and exit 0, or exit 1 with
    `output`); with `succeeds=None` it never finishes."""

    def __init__(self, engine: MemoryEngine, machine: FakeMachine) -> None:
        self.engine, self.machine = engine, machine
        self.succeeds: bool | None = True
        self.output: list[str] = []
        self.waits = 0

    def __call__(self, _seconds: float) -> None:
        self.waits += 1
        container = self.engine.containers.get(f"{PROJECT}-{KERNEL_INIT}")
        if self.succeeds is None or container is None:
            return
        release = self.machine.read("/proc/sys/kernel/osrelease").strip()
        if self.succeeds:
            self.machine.build_module(release)
        container.output = list(self.output)
        container.state = ContainerState.EXITED
        container.exit_code = 0 if self.succeeds else 1
