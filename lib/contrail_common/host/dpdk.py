"""DPDK preflight: what must hold before the DPDK vRouter containers start.

Each problem is a short status text naming the cause and the fix; the charm blocks on them
instead of letting the init container fail on the node. Run it before the DPDK containers take
the NIC (the charm reserves the hugepages first with `ensure_2m_hugepages`).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..hostpaths import HostRoot
from .cpus import coremask_to_cpus, cpus_to_list, online_cpus
from .hugepages import SIZE_2M_KB, hugepage_state
from .interfaces import default_route_interfaces, interface_exists, read_routes
from .kernel_module import module_available, running_kernel

_ROOT = HostRoot()
DPDK_DRIVERS = ("uio_pci_generic", "igb_uio", "vfio-pci")
_IN_TREE = ("uio_pci_generic", "vfio-pci")  # shipped in linux-modules-extra on Ubuntu


def dpdk_preflight(
    host: HostRoot = _ROOT,
    *,
    interface: str,
    driver: str,
    coremasks: Mapping[str, str],
    hugepages: int,
) -> list[str]:
    """Every problem found, or an empty list.

    `coremasks` maps option names (`dpdk-coremask`, ...) to their values, so each problem names
    the option to fix; empty values are skipped.
    """
    return [
        *nic_problems(host, interface),
        *driver_problems(host, driver),
        *coremask_problems(host, coremasks),
        *hugepage_problems(host, hugepages),
    ]


def nic_problems(host: HostRoot, interface: str) -> list[str]:
    """The NIC exists and is not the machine's only uplink.

    DPDK takes the NIC away from the kernel. If it carries the default route and no other
    interface has a route (an address), the machine is reachable only through the vRouter,
    and a failed agent cuts it off, Juju included: the docs require a second NIC. Once vhost0
    exists the NIC is already in DPDK's hands and these checks no longer apply.
    """
    if not interface:
        return ["DPDK needs physical-interface set to the data NIC"]
    try:
        present = interface_exists(host, interface)
    except ValueError:
        return [f"physical-interface {interface!r} is not a valid interface name"]
    if interface_exists(host, "vhost0"):
        return []
    if not present:
        return [f"DPDK interface {interface} not found; set physical-interface to a NIC"]
    try:
        routes = read_routes(host)
        defaults = default_route_interfaces(host)
    except FileNotFoundError:
        return []
    others = {route.interface for route in routes} - {interface, "lo", "vhost0"}
    if interface in defaults and not others:
        return [f"DPDK interface {interface} is the only uplink; add a second NIC for management"]
    return []


def driver_problems(host: HostRoot, driver: str) -> list[str]:
    """The UIO/VFIO driver is known and can be loaded for the running kernel."""
    if driver not in DPDK_DRIVERS:
        return [f"dpdk-driver {driver!r} is not one of {', '.join(DPDK_DRIVERS)}"]
    problems: list[str] = []
    if not module_available(host, driver):
        release = running_kernel(host)
        remedy = (
            f"install linux-modules-extra-{release}"
            if driver in _IN_TREE
            else "build it (dpdk-kmods) or use uio_pci_generic"
        )
        problems.append(f"DPDK driver {driver} missing for kernel {release}; {remedy}")
    groups = host.path("/sys/kernel/iommu_groups")
    if driver == "vfio-pci" and not (groups.is_dir() and any(groups.iterdir())):
        problems.append(
            "vfio-pci needs an IOMMU: enable VT-d and intel_iommu=on, or uio_pci_generic"
        )
    return problems


def coremask_problems(host: HostRoot, coremasks: Mapping[str, str]) -> list[str]:
    """Each coremask parses and names only CPUs that are online."""
    online = online_cpus(host)
    problems: list[str] = []
    for option, value in coremasks.items():
        if not str(value or "").strip():
            continue
        try:
            cpus = coremask_to_cpus(value)
        except ValueError as error:
            problems.append(f"{option}: {error}")
            continue
        if cpus - online:
            problems.append(
                f"{option} {value} names CPUs {cpus_to_list(cpus - online)}, "
                f"but only {cpus_to_list(online)} are online"
            )
    return problems


def hugepage_problems(host: HostRoot, hugepages: int) -> list[str]:
    """Enough free 2 MiB hugepages for DPDK's memory pools."""
    state = hugepage_state(host, SIZE_2M_KB, requested=hugepages)
    if hugepages <= 0 or state.free >= hugepages:
        return []
    return [
        f"only {state.free} of {hugepages} 2 MiB hugepages free for DPDK; "
        "lower dpdk-hugepages or reboot to free memory"
    ]
