"""The workload module without ops: config model, DPDK arguments, masks, cpuset, containers."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import yaml
from vrouter import (
    AGENT,
    CPUSET_SERVICES,
    DPDK_ARGS,
    AgentConfig,
    AgentInputs,
    DpdkDriver,
    HostFacts,
    contrail_cpuset,
    dpdk_args,
    hex_mask,
    services,
)

from contrail_common.base_charm import Cluster
from contrail_common.config import InvalidConfigError
from contrail_common.host import DPDK_DRIVERS

CHARMCRAFT = Path(__file__).resolve().parents[2] / "charmcraft.yaml"
# Options Juju passes that no container reads (nrpe naming).
NOT_IN_THE_MODEL = {"nagios_context", "nagios_servicegroups"}


def options() -> dict:
    return yaml.safe_load(CHARMCRAFT.read_text())["config"]["options"]


def test_every_option_is_in_the_model_and_the_defaults_validate():
    declared = options()
    fields = {field.alias or name for name, field in AgentConfig.model_fields.items()}
    assert set(declared) - NOT_IN_THE_MODEL <= fields
    defaults = {key: spec["default"] for key, spec in declared.items() if "default" in spec}
    config = AgentConfig.load(defaults)
    assert (config.kernel_hugepages_2m, config.kernel_hugepages_1g) == (0, 0)
    assert config.dpdk_hugepages == "70%" and not config.dpdk


def test_the_driver_choices_are_the_host_helpers():
    assert typing.get_args(DpdkDriver) == DPDK_DRIVERS


def test_the_yield_flag_has_two_ascii_hyphens():
    flags = dict(DPDK_ARGS)
    assert flags["dpdk_yield_option"] == "--yield_option"
    assert all(flag.isascii() and flag.startswith("--") for flag in flags.values())


def test_dpdk_args_empty_by_default_and_flags_last():
    assert dpdk_args(AgentConfig.load({"dpdk": True})) == ""
    config = AgentConfig.load({"dpdk-no-gso": True, "dpdk-tx-ring-sz": "512"})
    assert dpdk_args(config) == "--vr_dpdk_tx_ring_sz 512 --no-gso"


@pytest.mark.parametrize(
    "mask, expected",
    [("1", "0x1"), ("0xF", "0xf"), ("f0", "0xf0"), ("0-3,8", "0x10f"), ("2", "0x2")],
)
def test_hex_mask(mask, expected):
    assert hex_mask(mask) == expected


@pytest.mark.parametrize("dpdk", [False, True])
def test_container_cpuset_is_computed_in_kernel_mode_as_in_dpdk_mode(dpdk):
    """tf-charms honoured container-cpuset only with dpdk=true."""
    config = AgentConfig.load(
        {"image-tag": "R24.1-latest", "dpdk": dpdk, "container-cpuset": "0x0f0f"}
    )
    assert contrail_cpuset(config) == "0-3,8-11"
    assert (
        contrail_cpuset(AgentConfig.load({"dpdk": dpdk, "container-cpuset": "2-3,5"})) == "2-3,5"
    )
    assert contrail_cpuset(AgentConfig.load({"dpdk": dpdk})) == ""
    names = {s.name for s in services(config, Cluster("", "", [], 1), AgentInputs())}
    assert set(CPUSET_SERVICES) <= names


def test_kernel_init_env_follows_the_running_kernel():
    config = AgentConfig.load({"image-tag": "R24.1-latest"})
    cluster = Cluster("", "", [], 1)

    def kernel_init(release: str) -> dict:
        inputs = AgentInputs(host=HostFacts(kernel_release=release))
        (service,) = [
            s for s in services(config, cluster, inputs) if s.name == "vrouter-kernel-init"
        ]
        return dict(service.env)

    assert kernel_init("6.8.0-48-generic") != kernel_init("6.8.0-51-generic")


def test_tsn_nodes_only_in_csn_mode():
    cluster = Cluster("", "", [], 1)
    inputs = AgentInputs(tsn_nodes=["10.0.0.10", "10.0.0.12"])
    (agent,) = [
        s
        for s in services(AgentConfig.load({"image-tag": "R24.1-latest"}), cluster, inputs)
        if s.name == AGENT
    ]
    assert "TSN_NODES" not in agent.env
    csn = AgentConfig.load({"image-tag": "R24.1-latest", "csn-mode": "tsn-no-forwarding"})
    (agent,) = [s for s in services(csn, cluster, inputs) if s.name == AGENT]
    assert (agent.env["TSN_AGENT_MODE"], agent.env["TSN_NODES"]) == (
        "tsn-no-forwarding",
        "10.0.0.10,10.0.0.12",
    )


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("kernel-hugepages-2m", "1k", "kernel-hugepages-2m: must be a number such as 1024"),
        (
            "dpdk-hugepages",
            "0%",
            "dpdk-hugepages '0%' is neither a page count (1024) nor a share of RAM",
        ),
        (
            "dpdk-coremask",
            "0xg",
            "dpdk-coremask: '0xg' is not a hex CPU mask (0xf) or a CPU list (0-3,8)",
        ),
        ("vhost-gateway", "gw", "vhost-gateway: must be auto, empty or an IPv4 address"),
        (
            "vrouter-module-options",
            "a=b;c",
            "vrouter-module-options: invalid kernel module option 'a=b;c'",
        ),
        ("l3mh-cidr", "10.0.0.1", "l3mh-cidr: must be a CIDR with a prefix length"),
        (
            "tcmalloc-heap-limit-mb",
            "x",
            "tcmalloc-heap-limit-mb: must be empty or a whole number of MiB",
        ),
    ],
)
def test_messages_name_the_option_and_the_fix(option, value, message):
    with pytest.raises(InvalidConfigError) as error:
        AgentConfig.load({option: value})
    assert message in str(error.value)
    assert error.value.options == [option]


def test_empty_optional_values_are_unset():
    config = AgentConfig.load(
        {"dpdk-pmd-txd-size": "", "tcmalloc-heap-limit-mb": "", "sriov-numvfs": " "}
    )
    assert (config.dpdk_pmd_txd_size, config.tcmalloc_heap_limit_mb, config.sriov_numvfs) == (
        None,
        None,
        (),
    )
