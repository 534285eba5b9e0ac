"""What the vRouter needs from its machine, through the shared host helpers (no ops here).

Reading functions only read; `prepare_hugepages` is the one that changes the host. Every
function takes the `HostRoot` (a scratch tree in tests) and, where a program runs, the runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from vrouter import AGENT, KERNEL_INIT, AgentConfig

from contrail_common.host import (
    SIZE_1G_KB,
    SIZE_2M_KB,
    HostError,
    HugepageState,
    boot_hugepages,
    default_gateway,
    default_route_interfaces,
    dpdk_hugepages_from_option,
    dpdk_preflight,
    ensure_1g_hugepages,
    ensure_2m_hugepages,
    hugepage_state,
    interface_address,
    is_bridge,
    kernel_upgraded_without_module,
    module_loaded,
    read_meminfo,
    running_kernel,
)
from contrail_common.host.commands import Runner
from contrail_common.host.dpdk import coremask_problems, driver_problems, nic_problems
from contrail_common.hostpaths import HostRoot

VHOST = "vhost0"
MODULE = "vrouter"
# What the kernel says when it has no contiguous memory for the module's tables.
MEMORY_ERROR = "Cannot allocate memory"
# The containers that load the module (the build container, or the agent's vhost0 init).
MODULE_LOADERS = (KERNEL_INIT, AGENT)


@dataclass(frozen=True)
class HugepageRequest:
    """Hugepages this unit asks the kernel for."""

    pages_2m: int = 0
    pages_1g: int = 0


def hugepage_request(config: AgentConfig, host: HostRoot) -> HugepageRequest:
    """DPDK mode: dpdk-hugepages (2 MiB); kernel mode: kernel-hugepages-2m and -1g."""
    if config.dpdk:
        memory_kb = read_meminfo(host).get("MemTotal", 0)
        return HugepageRequest(
            pages_2m=dpdk_hugepages_from_option(config.dpdk_hugepages, memory_kb)
        )
    return HugepageRequest(config.kernel_hugepages_2m, config.kernel_hugepages_1g)


def prepare_hugepages(host: HostRoot, request: HugepageRequest, runner: Runner) -> None:
    """Make the host reserve what is asked; a HostError says why it cannot.

    With 1 GiB pages both sizes go on the boot line (the helpers' rule: 1 GiB becomes the
    default size, so a sysctl count would then count 1 GiB pages). Without, our GRUB drop-in is
    removed and 2 MiB pages are set by sysctl; a count of 0 only removes our sysctl drop-in, so
    nothing is reserved unasked and nothing in use is taken away.
    """
    if request.pages_1g:
        ensure_1g_hugepages(host, request.pages_1g, request.pages_2m, runner)
        return
    ensure_1g_hugepages(host, 0, runner=runner)
    ensure_2m_hugepages(host, request.pages_2m)


def reboot_required(host: HostRoot, request: HugepageRequest) -> bool:
    """Whether the running kernel was booted without the requested 1 GiB pages (read only;
    the same rule `ensure_1g_hugepages` applies)."""
    if not request.pages_1g:
        return False
    booted = boot_hugepages(host)
    if booted.get(SIZE_1G_KB, 0) != request.pages_1g:
        return True
    return bool(request.pages_2m) and booted.get(SIZE_2M_KB, 0) != request.pages_2m


def hugepage_problems(host: HostRoot, request: HugepageRequest) -> list[str]:
    """Status texts: reboot required, or allocated fewer than requested ("N of M ...")."""
    if reboot_required(host, request):
        state = HugepageState(SIZE_1G_KB, request.pages_1g, 0, 0, reboot_required=True)
        return [str(state.reboot_message)]
    states = []
    if request.pages_1g:
        states.append(hugepage_state(host, SIZE_1G_KB, request.pages_1g))
    if request.pages_2m:
        states.append(hugepage_state(host, SIZE_2M_KB, request.pages_2m))
    return [state.shortfall for state in states if state.shortfall]


def uplinks(config: AgentConfig, host: HostRoot) -> list[str]:
    """The interfaces vhost0 takes over: physical-interface, else the default route's."""
    if config.physical_interface:
        return list(config.physical_interface)
    try:
        return default_route_interfaces(host)[:1]
    except FileNotFoundError:
        return []


def vrouter_gateway(config: AgentConfig, host: HostRoot) -> str:
    """VROUTER_GATEWAY: vhost-gateway, with `auto` read from the routing table (vhost0's route,
    else the physical interface's, else the default route); empty when there is none."""
    if config.vhost_gateway != "auto":
        return config.vhost_gateway
    try:
        for name in (VHOST, *config.physical_interface):
            gateway = default_gateway(host, name)
            if gateway:
                return gateway
        if not config.physical_interface:
            return default_gateway(host) or ""
    except FileNotFoundError:
        pass
    return ""


def vhost_address(config: AgentConfig, host: HostRoot, runner: Runner) -> Optional[str]:
    """vhost0's address; before vhost0 exists, that of the interface it will take over (vhost0
    takes its address), so peers and the controller see one stable address."""
    for name in (VHOST, *uplinks(config, host)):
        try:
            address = interface_address(host, name, runner)
        except (HostError, ValueError):
            continue
        if address:
            return address
    return None


def bridge_notes(config: AgentConfig, host: HostRoot) -> list[str]:
    """Warnings (not blockers) for a bridge as vhost0's interface (MAAS `br-*`)."""
    notes = []
    for name in uplinks(config, host):
        try:
            bridge = is_bridge(host, name)
        except ValueError:
            continue
        if bridge and config.physical_interface:
            notes.append(
                f"physical-interface {name} is a bridge (prefer the NIC or bond under it)"
            )
        elif bridge:
            notes.append(
                f"vhost0 takes over bridge {name} (the default route's); "
                "set physical-interface to the NIC or bond under it"
            )
    return notes


def dpdk_problems(
    config: AgentConfig, host: HostRoot, pages: int, before_first_deploy: bool
) -> list[str]:
    """The DPDK preflight before the DPDK containers first start; afterwards the NIC belongs to
    DPDK and its hugepages are in use, so only the driver and the coremasks are re-checked."""
    coremasks = {
        "dpdk-coremask": config.dpdk_coremask,
        "dpdk-service-coremask": config.dpdk_service_coremask,
        "dpdk-ctrl-thread-coremask": config.dpdk_ctrl_thread_coremask,
    }
    if not before_first_deploy:
        return driver_problems(host, config.dpdk_driver) + coremask_problems(host, coremasks)
    first, *others = config.physical_interface or ("",)
    problems = dpdk_preflight(
        host, interface=first, driver=config.dpdk_driver, coremasks=coremasks, hugepages=pages
    )
    return problems + [problem for name in others for problem in nic_problems(host, name)]


def kernel_module_waiting(host: HostRoot) -> Optional[str]:
    """Why the kernel-mode vRouter is not up yet, or None once the module is loaded."""
    if module_loaded(host, MODULE):
        return None
    if kernel_upgraded_without_module(host, MODULE):
        return (
            f"vrouter kernel module not built for kernel {running_kernel(host)} yet; "
            f"{KERNEL_INIT} is building it"
        )
    return "vrouter kernel module not loaded yet"


def module_memory_message(container: str) -> str:
    return (
        f"vrouter kernel module cannot be loaded ({container}: {MEMORY_ERROR}): memory is too "
        "fragmented; reboot the node, or lower the table sizes in vrouter-module-options"
    )
