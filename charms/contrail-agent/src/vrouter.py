"""The vRouter workload: typed config, inputs, and its containers (no ops, no host access)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, BeforeValidator, model_validator

from contrail_common.addresses import parse_address, parse_network
from contrail_common.base_charm import Cluster
from contrail_common.config import SingleLine, WorkloadConfig, check_cluster_name
from contrail_common.containers import Mount
from contrail_common.host import (
    coremask_to_cpus,
    cpus_to_list,
    cpuset_to_cpus,
    dpdk_hugepages_from_option,
    module_options,
)
from contrail_common.services import Service, contrail_env, join, node_init, nodemgr, provisioner

VERSION_IMAGE = "vrouter-agent"
ROLE = "vrouter"
NODEMGR = "vrouter-nodemgr"
PROVISIONER = "vrouter-provisioner"
KERNEL_INIT = "vrouter-kernel-init"
KERNEL_INIT_DPDK = "vrouter-kernel-init-dpdk"
AGENT_DPDK = "vrouter-agent-dpdk"
AGENT = "vrouter-agent"
# The Contrail services container-cpuset is meant for (the old charm's nodemgr, provisioner,
# agent). Not applied yet: ContainerSpec has no CPU set and no Contrail image reads one from env.
CPUSET_SERVICES = (NODEMGR, PROVISIONER, AGENT)

# Option -> flag of the DPDK vRouter's command line. The old charm wrote the yield flag as a
# hyphen and an en-dash (U+2013), which the vRouter does not parse; these are plain ASCII.
DPDK_ARGS = (
    ("dpdk_main_mempool_size", "--vr_mempool_sz"),
    ("dpdk_pmd_txd_size", "--dpdk_txd_sz"),
    ("dpdk_pmd_rxd_size", "--dpdk_rxd_sz"),
    ("dpdk_rx_ring_sz", "--vr_dpdk_rx_ring_sz"),
    ("dpdk_tx_ring_sz", "--vr_dpdk_tx_ring_sz"),
    ("dpdk_yield_option", "--yield_option"),
)
DPDK_FLAGS = (
    ("dpdk_no_gro", "--no-gro"),
    ("dpdk_no_gso", "--no-gso"),
    ("dpdk_no_mrgbuf", "--no-mrgbuf"),
)

# -- option types ----------------------------------------------------------------------------

_IFNAME = re.compile(r"[^/:\s,]{1,15}")  # the kernel's rule (dev_valid_name), commas aside


def _check_cluster_name(value: str) -> str:
    text = value.strip()
    if text:
        try:
            check_cluster_name(text)
        except ValueError:
            raise ValueError(
                "must be the cluster_name set on contrail-kubernetes-master "
                "(lowercase letters, digits and '-', at most 63)"
            ) from None
    return text


def _interfaces(value: object) -> tuple[str, ...]:
    """`ens3` or `ens3,ens4` -> names; empty -> ()."""
    if isinstance(value, (tuple, list)):
        value = ",".join(str(item) for item in value)
    text = str(value or "").strip()
    if not text:
        return ()
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name in ("", ".", "..") or not _IFNAME.fullmatch(name):
            raise ValueError(
                f"{name!r} is not an interface name (1-15 characters, no '/', ':' or spaces)"
            )
    if len(set(names)) != len(names):
        raise ValueError("names an interface twice")
    return tuple(names)


InterfaceList = Annotated[tuple[str, ...], BeforeValidator(_interfaces)]


def _count(maximum: int, example: str):
    """A page or item count written as a string option; empty is 0."""

    def parse(value: object) -> int:
        if isinstance(value, bool):
            raise ValueError(f"must be a number such as {example}")
        if isinstance(value, int):
            number = value
        else:
            text = str(value or "").strip()
            if not text:
                return 0
            if not text.isdigit():
                raise ValueError(f"must be a number such as {example}")
            number = int(text)
        if not 0 <= number <= maximum:
            raise ValueError(f"must be between 0 and {maximum}")
        return number

    return BeforeValidator(parse)


# 2 MiB pages: up to 4 TiB; 1 GiB pages: up to 4 TiB.
PageCount2M = Annotated[int, _count(2_097_152, "1024")]
PageCount1G = Annotated[int, _count(4096, "2")]


def _optional_size(maximum: int):
    """An optional positive integer written as a string option; empty is unset (None)."""

    def parse(value: object) -> Optional[int]:
        text = str(value if value is not None else "").strip()
        if not text:
            return None
        if not text.isdigit() or not 1 <= int(text) <= maximum:
            raise ValueError(f"must be empty or a whole number from 1 to {maximum}")
        return int(text)

    return BeforeValidator(parse)


OptionalSize = Annotated[Optional[int], _optional_size(16_777_216)]


def _check_coremask(value: str) -> str:
    text = value.strip()
    if text:
        coremask_to_cpus(text)  # ValueError with a status-ready text
    return text


def _check_cpuset(value: str) -> str:
    text = value.strip()
    if text:
        cpuset_to_cpus(text)
    return text


def _check_gateway(value: str) -> str:
    text = value.strip()
    if text in ("", "auto"):
        return text
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ValueError("must be auto, empty or an IPv4 address such as 10.0.0.1") from None


def _check_ip(value: str) -> str:
    text = value.strip()
    if text:
        try:
            parse_address(text)
        except ValueError:
            raise ValueError(
                "must be empty or an IP address such as 10.0.0.5 (no IPv6 scope id)"
            ) from None
    return text


def _check_cidr(value: str) -> str:
    text = value.strip()
    if text:
        try:
            parse_network(text)
        except ValueError:
            raise ValueError(
                "must be empty or a CIDR such as 10.10.0.0/16 (no IPv6 scope id)"
            ) from None
        if "/" not in text:
            raise ValueError("must be a CIDR with a prefix length, such as 10.10.0.0/16")
    return text


def _check_dpdk_hugepages(value: str) -> str:
    text = value.strip()
    dpdk_hugepages_from_option(text, 0)  # checks the form; the size of RAM comes later
    return text


def _check_module_options(value: str) -> str:
    return " ".join(module_options(value))


def _check_percent(value: str) -> str:
    text = value.strip()
    if text:
        try:
            number = float(text)
        except ValueError:
            raise ValueError("must be empty or a percentage such as 50") from None
        if not 0 < number <= 100:
            raise ValueError("must be a percentage above 0 and at most 100")
    return text


def _vf_counts(value: object) -> tuple[int, ...]:
    if isinstance(value, (tuple, list)):
        value = ",".join(str(item) for item in value)
    text = str(value or "").strip()
    if not text:
        return ()
    counts = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or not 1 <= int(item) <= 1024:
            raise ValueError("must be a comma list of VF counts from 1 to 1024, such as 8,8")
        counts.append(int(item))
    return tuple(counts)


def _heap_limit(value: object) -> Optional[int]:
    """MiB, where 0 means no limit (tcmalloc's reading); empty is unset."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 1_048_576:
        raise ValueError("must be empty or a whole number of MiB from 0 (no limit) to 1048576")
    return int(text)


CoreMask = Annotated[str, AfterValidator(_check_coremask)]
DpdkDriver = Literal["uio_pci_generic", "igb_uio", "vfio-pci"]  # contrail_common.host.DPDK_DRIVERS

# -- the config model --------------------------------------------------------------------------


class AgentConfig(WorkloadConfig):
    kubernetes_cluster: Annotated[str, AfterValidator(_check_cluster_name)] = ""
    physical_interface: InterfaceList = ()
    vhost_gateway: Annotated[str, AfterValidator(_check_gateway)] = "auto"
    dpdk: bool = False
    hostname_use_fqdn: bool = True
    dpdk_driver: DpdkDriver = "uio_pci_generic"
    dpdk_hugepages: Annotated[str, AfterValidator(_check_dpdk_hugepages)] = "70%"
    kernel_hugepages_2m: PageCount2M = 0
    kernel_hugepages_1g: PageCount1G = 0
    dpdk_coremask: CoreMask = "1"
    dpdk_service_coremask: CoreMask = ""
    dpdk_ctrl_thread_coremask: CoreMask = ""
    dpdk_main_mempool_size: OptionalSize = None
    dpdk_pmd_txd_size: OptionalSize = None
    dpdk_pmd_rxd_size: OptionalSize = None
    dpdk_rx_ring_sz: OptionalSize = None
    dpdk_tx_ring_sz: OptionalSize = None
    dpdk_yield_option: Literal["", "0", "1"] = ""
    dpdk_no_gro: bool = False
    dpdk_no_gso: bool = False
    dpdk_no_mrgbuf: bool = False
    sriov_physical_interface: InterfaceList = ()
    sriov_numvfs: Annotated[tuple[int, ...], BeforeValidator(_vf_counts)] = ()
    csn_mode: Literal["", "tor", "tsn", "tsn-no-forwarding"] = ""
    max_vm_flows: Annotated[str, AfterValidator(_check_percent)] = ""
    l3mh_cidr: Annotated[str, AfterValidator(_check_cidr)] = ""
    xflow_node_ip: Annotated[str, AfterValidator(_check_ip)] = ""
    vrouter_module_options: Annotated[SingleLine, AfterValidator(_check_module_options)] = ""
    tcmalloc_heap_limit_mb: Annotated[Optional[int], BeforeValidator(_heap_limit)] = None
    container_cpuset: Annotated[str, AfterValidator(_check_cpuset)] = ""

    @model_validator(mode="after")
    def _check_combinations(self) -> AgentConfig:
        if len(self.sriov_physical_interface) != len(self.sriov_numvfs):
            raise ValueError(
                "sriov-physical-interface and sriov-numvfs need one VF count per interface "
                f"({len(self.sriov_physical_interface)} interfaces, "
                f"{len(self.sriov_numvfs)} counts)"
            )
        if len(self.physical_interface) > 1 and not self.l3mh_cidr:
            raise ValueError(
                "physical-interface names several interfaces, which needs l3mh-cidr "
                "(multi-homing); otherwise name one NIC or bond"
            )
        return self

    @property
    def agent_mode(self) -> str:
        return "dpdk" if self.dpdk else "kernel"


def dpdk_args(config: AgentConfig) -> str:
    """DPDK_COMMAND_ADDITIONAL_ARGS: the sizing options, then the on/off flags."""
    words: list[str] = []
    for option, flag_name in DPDK_ARGS:
        value = getattr(config, option)
        if value not in (None, ""):
            words += [flag_name, str(value)]
    words += [flag_name for option, flag_name in DPDK_FLAGS if getattr(config, option)]
    return " ".join(words)


def hex_mask(value: str) -> str:
    """A coremask as `0x...`: DPDK's scripts read a bare value as a CPU list for some masks
    and as hex for others, so the charm always passes the unambiguous form."""
    cpus = coremask_to_cpus(value)
    return hex(sum(1 << cpu for cpu in cpus))


def contrail_cpuset(config: AgentConfig) -> str:
    """container-cpuset as a CPU list, in kernel and DPDK mode alike (the old charm honoured it
    only with DPDK). Empty when unset. See CPUSET_SERVICES for why it is not applied yet."""
    if not config.container_cpuset:
        return ""
    return cpus_to_list(cpuset_to_cpus(config.container_cpuset))


# -- inputs ----------------------------------------------------------------------------------


@dataclass
class HostFacts:
    """What the containers' env needs from this machine, read once per evaluation."""

    kernel_release: str = ""
    hostname: str = ""
    gateway: str = ""  # VROUTER_GATEWAY, with vhost-gateway=auto resolved
    dpdk_hugepages: int = 0  # HUGE_PAGES: dpdk-hugepages as a 2 MiB page count


@dataclass
class AgentInputs:
    """What the agent learns from the controller, its peers and its host."""

    controller_ips: list[str] = field(default_factory=list)
    controller_data_ips: list[str] = field(default_factory=list)
    analytics_ips: list[str] = field(default_factory=list)
    analyticsdb_ips: list[str] = field(default_factory=list)
    auth_mode: str = "rbac"
    # This machine's Kubernetes cluster, as the controller knows it (empty: none known yet).
    cluster_name: str = ""
    pod_subnets: list[str] = field(default_factory=list)
    api_server: str = ""
    api_port: Optional[int] = None
    # csn-mode: the vhost0 addresses of every unit of the application, in the leader's order.
    tsn_nodes: list[str] = field(default_factory=list)
    host: HostFacts = field(default_factory=HostFacts)


# -- the containers ----------------------------------------------------------------------------


def notes(inputs: AgentInputs) -> list[str]:
    """What the images cannot do with these inputs, for the active status."""
    if len(inputs.pod_subnets) > 1:
        return [
            f"only pod subnet {inputs.pod_subnets[0]} is routed through vhost0 on this node "
            "(the vRouter agent routes one)"
        ]
    return []


def _present(env: Mapping[str, object]) -> dict[str, str]:
    """Only the variables that have a value: an empty one would override the image default."""
    return {key: str(value) for key, value in env.items() if value not in (None, "")}


def _contrail_base(config: AgentConfig, inputs: AgentInputs) -> dict[str, str]:
    """What every Contrail service reads: the control plane's addresses and modes."""
    return contrail_env(
        controller_ips=inputs.controller_ips,
        controller_data_ips=inputs.controller_data_ips,
        analytics_ips=inputs.analytics_ips,
        analyticsdb_ips=inputs.analyticsdb_ips,
        log_level=config.log_level,
        auth_mode=inputs.auth_mode,
        orchestrator="kubernetes" if inputs.cluster_name else "",
    )


def _contrail(config: AgentConfig, inputs: AgentInputs) -> dict[str, str]:
    """... plus this machine's Kubernetes cluster (pod routes, the vhost VMI policy)."""
    env = _contrail_base(config, inputs)
    env.update(
        _present(
            {
                # The agent routes this through vhost0 with one `ip route add`: one subnet.
                "KUBERNETES_POD_SUBNETS": inputs.pod_subnets[0] if inputs.pod_subnets else "",
                "KUBERNETES_API_SERVER": inputs.api_server,
                "KUBERNETES_API_SECURE_PORT": inputs.api_port,
            }
        )
    )
    return env


def _identity(config: AgentConfig, inputs: AgentInputs) -> dict[str, str]:
    """How the node manager, provisioner and agent name this vRouter and find its address."""
    return _present(
        {
            "VROUTER_HOSTNAME": inputs.host.hostname,
            "VROUTER_GATEWAY": inputs.host.gateway,
            # The old charm rendered the literal text `l3mh_cidr` here; this is the value.
            "L3MH_CIDR": config.l3mh_cidr,
        }
    )


def _dpdk(config: AgentConfig, inputs: AgentInputs) -> dict[str, str]:
    return _present(
        {
            "AGENT_MODE": "dpdk",
            "PHYSICAL_INTERFACE": join(config.physical_interface),
            "DPDK_UIO_DRIVER": config.dpdk_driver,
            "HUGE_PAGES": inputs.host.dpdk_hugepages,
        }
    )


def _agent(config: AgentConfig, inputs: AgentInputs) -> dict[str, str]:
    env = {
        **_contrail(config, inputs),
        **_identity(config, inputs),
        "AGENT_MODE": config.agent_mode,
    }
    env.update(
        _present(
            {
                "PHYSICAL_INTERFACE": join(config.physical_interface),
                "SRIOV_PHYSICAL_INTERFACE": join(config.sriov_physical_interface),
                "SRIOV_VF": join(config.sriov_numvfs),
                "TSN_AGENT_MODE": config.csn_mode,
                "TSN_NODES": join(inputs.tsn_nodes) if config.csn_mode else "",
                "VROUTER_AGENT__FLOWS__max_vm_flows": config.max_vm_flows,
                "XFLOW_NODE_IP": config.xflow_node_ip,
                "TCMALLOC_HEAP_LIMIT_MB": config.tcmalloc_heap_limit_mb,
            }
        )
    )
    if config.dpdk:
        env["DPDK_UIO_DRIVER"] = config.dpdk_driver
    else:
        # The agent loads the module (vhost0 init) and maps its tables on the hugepages that
        # systemd mounts at /dev/hugepages (of the default size, 1 GiB once booted with them).
        env.update(
            _present(
                {
                    "VROUTER_MODULE_OPTIONS": config.vrouter_module_options,
                    "HUGE_PAGES_1GB": config.kernel_hugepages_1g or None,
                    "HUGE_PAGES_2MB": config.kernel_hugepages_2m or None,
                }
            )
        )
    return env


_LOADBALANCER = Mount(
    source="/var/lib/contrail/loadbalancer", target="/var/lib/contrail/loadbalancer"
)
_KERNEL_INIT_MOUNTS = (
    Mount(source="/usr/src", target="/usr/src"),
    Mount(source="/lib/modules", target="/lib/modules"),
)
_DPDK_MOUNTS = (
    Mount(source="/dev", target="/dev"),
    Mount(source="/var/run", target="/var/run"),
    Mount(source="/lib/modules", target="/lib/modules"),
)
_AGENT_MOUNTS = (
    Mount(source="/etc", target="/host/etc"),
    Mount(source="/dev", target="/dev"),
    Mount(source="/var/run", target="/var/run"),
    Mount(source="/etc/resolv.conf", target="/etc/resolv.conf", read_only=True),
    Mount(source="/lib/modules", target="/lib/modules"),
    Mount(source="/var/lib/contrail", target="/var/lib/contrail"),
)


def services(config: AgentConfig, cluster: Cluster, inputs: AgentInputs) -> list[Service]:
    """node-init, node manager, provisioner, the kernel or DPDK datapath, and the agent."""
    contrail = _contrail(config, inputs)
    base = _contrail_base(config, inputs)  # the node manager and provisioner need no pod routes
    identity = _identity(config, inputs)
    manager = nodemgr("vrouter", ROLE, {**base, **identity})
    result = [
        node_init(_contrail_base(config, inputs), config.image("status")),
        dataclasses.replace(manager, mounts=(*manager.mounts, _LOADBALANCER)),
        provisioner(
            "vrouter",
            ROLE,
            {
                **base,
                **identity,
                **_present({"AGENT_MODE": config.agent_mode, "TSN_AGENT_MODE": config.csn_mode}),
            },
        ),
    ]
    if config.dpdk:
        dpdk = _dpdk(config, inputs)
        result += [
            Service(
                KERNEL_INIT_DPDK,
                "vrouter-kernel-init-dpdk",
                ROLE,
                {"LOG_LEVEL": config.log_level, **dpdk},
                mounts=_DPDK_MOUNTS,
                privileged=True,
                one_shot=True,
            ),
            Service(
                AGENT_DPDK,
                "vrouter-agent-dpdk",
                ROLE,
                {
                    "LOG_LEVEL": config.log_level,
                    # Without physical-interface the NIC is the one routing to the controller.
                    "CONTROL_NODES": contrail["CONTROL_NODES"],
                    **identity,
                    **dpdk,
                    **_present(
                        {
                            "CPU_CORE_MASK": config.dpdk_coremask
                            and hex_mask(config.dpdk_coremask),
                            "SERVICE_CORE_MASK": config.dpdk_service_coremask
                            and hex_mask(config.dpdk_service_coremask),
                            "DPDK_CTRL_THREAD_MASK": config.dpdk_ctrl_thread_coremask
                            and hex_mask(config.dpdk_ctrl_thread_coremask),
                            "DPDK_COMMAND_ADDITIONAL_ARGS": dpdk_args(config),
                        }
                    ),
                },
                mounts=(
                    *_DPDK_MOUNTS,
                    Mount(source="/var/lib/contrail", target="/var/lib/contrail"),
                ),
                privileged=True,
                pid_host=True,
            ),
        ]
    else:
        result.append(
            Service(
                KERNEL_INIT,
                "vrouter-kernel-build-init",
                ROLE,
                # The image reads `uname -r` itself; the release is here so that booting another
                # kernel changes this container's spec, and the engine re-creates it, which
                # builds the module for the new kernel.
                {"KERNEL_RELEASE": inputs.host.kernel_release},
                mounts=_KERNEL_INIT_MOUNTS,
                privileged=True,
                one_shot=True,
            )
        )
    result.append(
        Service(
            AGENT,
            "vrouter-agent",
            ROLE,
            _agent(config, inputs),
            mounts=_AGENT_MOUNTS,
            privileged=True,
            pid_host=True,
        )
    )
    return result
