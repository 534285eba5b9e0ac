"""Host helpers for the vRouter agent: kernel module, hugepages, DPDK preflight, interfaces.

Every helper takes a `HostRoot` (default the real `/`) and touches host files only through it,
so tests run on a fake `/proc`, `/sys`, `/etc` tree. Programs run as argument lists through an
injectable runner (default `subprocess.run`). Nothing here reboots. Problems a charm must show
are `HostError`s (or state properties) whose text is a ready status message.
"""

from .cpus import coremask_to_cpus, cpus_to_list, cpuset_to_cpus, online_cpus, parse_cpu_list
from .dpdk import DPDK_DRIVERS, dpdk_preflight
from .errors import (
    CommandFailedError,
    CommandNotFoundError,
    HostError,
    HugepageError,
    ModuleLoadError,
    ModuleMemoryError,
    ModuleNotBuiltError,
)
from .hugepages import (
    SIZE_1G_KB,
    SIZE_2M_KB,
    HugepageState,
    dpdk_hugepages_from_option,
    ensure_2m_hugepages,
    hugepage_state,
    read_meminfo,
    set_runtime_hugepages,
)
from .hugepages_1g import boot_hugepages, ensure_1g_hugepages
from .interfaces import (
    Route,
    default_gateway,
    default_route_interfaces,
    interface_address,
    is_bridge,
    read_routes,
)
from .kernel_module import (
    kernel_upgraded_without_module,
    load_module,
    module_available,
    module_built_for_running_kernel,
    module_loaded,
    module_options,
    persist_module,
    releases_with_module,
    running_kernel,
)

__all__ = [
    "DPDK_DRIVERS",
    "SIZE_1G_KB",
    "SIZE_2M_KB",
    "CommandFailedError",
    "CommandNotFoundError",
    "HostError",
    "HugepageError",
    "HugepageState",
    "ModuleLoadError",
    "ModuleMemoryError",
    "ModuleNotBuiltError",
    "Route",
    "boot_hugepages",
    "coremask_to_cpus",
    "cpus_to_list",
    "cpuset_to_cpus",
    "default_gateway",
    "default_route_interfaces",
    "dpdk_hugepages_from_option",
    "dpdk_preflight",
    "ensure_1g_hugepages",
    "ensure_2m_hugepages",
    "hugepage_state",
    "interface_address",
    "is_bridge",
    "kernel_upgraded_without_module",
    "load_module",
    "module_available",
    "module_built_for_running_kernel",
    "module_loaded",
    "module_options",
    "online_cpus",
    "parse_cpu_list",
    "persist_module",
    "read_meminfo",
    "read_routes",
    "releases_with_module",
    "running_kernel",
    "set_runtime_hugepages",
]
