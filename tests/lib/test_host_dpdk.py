"""CPU list and coremask parsing, and the DPDK preflight on a generated fake host tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrail_common.host import (
    coremask_to_cpus,
    cpus_to_list,
    cpuset_to_cpus,
    dpdk_preflight,
    online_cpus,
    parse_cpu_list,
)
from contrail_common.hostpaths import HostRoot
from contrail_common.testing import write_host_file as write

RELEASE = "6.8.0-48-generic"
# ens3 carries the default route, ens4 (the DPDK NIC) only its own subnet.
ROUTE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "ens3\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "ens3\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
    "ens4\t0010A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
)
MASKS = {"dpdk-coremask": "0xf", "dpdk-service-coremask": "", "dpdk-ctrl-thread-coremask": "4-5"}


@pytest.fixture
def host(tmp_path: Path) -> HostRoot:
    """A clean 8-CPU host: ens3 management, ens4 data, uio_pci_generic built, 1024 free pages."""
    host = HostRoot(tmp_path)
    write(host, "/proc/sys/kernel/osrelease", f"{RELEASE}\n")
    write(host, "/proc/modules", "")
    write(host, "/proc/net/route", ROUTE)
    for nic in ("lo", "ens3", "ens4"):
        host.path(f"/sys/class/net/{nic}").mkdir(parents=True)
    write(host, f"/lib/modules/{RELEASE}/kernel/drivers/uio/uio_pci_generic.ko.zst", "elf")
    write(host, "/sys/devices/system/cpu/online", "0-7\n")
    write(host, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "1024\n")
    write(host, "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "1024\n")
    return host


def preflight(host: HostRoot, **changes) -> list[str]:
    arguments = {
        "interface": "ens4",
        "driver": "uio_pci_generic",
        "coremasks": MASKS,
        "hugepages": 1024,
    } | changes
    return dpdk_preflight(host, **arguments)


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("0-3,8", {0, 1, 2, 3, 8}), ("5", {5}), (" 0-1 , 4 \n", {0, 1, 4}), ("2-2", {2})],
)
def test_parse_cpu_list(text: str, cpus: set[int]):
    assert parse_cpu_list(text) == cpus


@pytest.mark.parametrize("text", ["", "a", "3-1", "0-", "-1", "0,,1", "0-3;8", "0-99999", "1.5"])
def test_parse_cpu_list_rejects_bad_lists(text: str):
    with pytest.raises(ValueError, match=r"CPU list|CPU range"):
        parse_cpu_list(text)


@pytest.mark.parametrize(
    ("mask", "cpus"),
    [
        ("0xf", {0, 1, 2, 3}),
        ("0x01", {0}),
        ("1", {0}),  # a bare number is a hex mask, as DPDK -c and taskset read it
        ("0X80018001", {0, 15, 16, 31}),
        ("0-3", {0, 1, 2, 3}),
        ("0-3,8", {0, 1, 2, 3, 8}),
    ],
)
def test_coremask_to_cpus(mask: str, cpus: set[int]):
    assert coremask_to_cpus(mask) == cpus


@pytest.mark.parametrize("mask", ["0xZZ", "0x", "", "zz", "0x0", "0x-1", "0x" + "f" * 3000])
def test_coremask_rejects_bad_hex(mask: str):
    with pytest.raises(ValueError):
        coremask_to_cpus(mask)


@pytest.mark.parametrize(
    ("mask", "text"),
    [
        ("0x01", "0"),
        ("0x03", "0-1"),
        ("0x80018001", "0,15-16,31"),
        ("0x0F0F0F0F", "0-3,8-11,16-19,24-27"),
        ("0xC003B019", "0,3-4,12-13,15-17,30-31"),
    ],
)
def test_hex_mask_to_cpuset_list(mask: str, text: str):
    # The old charm's conversion table; ranges here always collapse, also for two CPUs.
    assert cpus_to_list(cpuset_to_cpus(mask)) == text


def test_cpuset_option_without_0x_is_a_list():
    assert cpuset_to_cpus("1") == {1}
    assert cpuset_to_cpus("0,2-3") == {0, 2, 3}
    assert cpus_to_list(set()) == ""
    with pytest.raises(ValueError):
        cpuset_to_cpus("0xnope")


def test_online_cpus(host: HostRoot):
    write(host, "/sys/devices/system/cpu/online", "0-3,6-7\n")
    assert online_cpus(host) == {0, 1, 2, 3, 6, 7}


def test_clean_host_passes(host: HostRoot):
    assert preflight(host) == []


def test_missing_nic(host: HostRoot):
    assert preflight(host, interface="ens9") == [
        "DPDK interface ens9 not found; set physical-interface to a NIC"
    ]
    assert preflight(host, interface="") == ["DPDK needs physical-interface set to the data NIC"]
    assert preflight(host, interface="../x") == [
        "physical-interface '../x' is not a valid interface name"
    ]


def test_nic_taken_over_by_vhost0_is_fine(host: HostRoot):
    host.path("/sys/class/net/ens4").rmdir()  # DPDK bound it; vhost0 stands in
    host.path("/sys/class/net/vhost0").mkdir()
    assert preflight(host) == []


def test_only_uplink_is_refused(host: HostRoot):
    write(host, "/proc/net/route", ROUTE.replace("ens3", "ens4"))
    assert preflight(host) == [
        "DPDK interface ens4 is the only uplink; add a second NIC for management"
    ]
    # The default route on the DPDK NIC is fine while another interface keeps an address.
    write(host, "/proc/net/route", ROUTE.replace("ens3\t00000000", "ens4\t00000000"))
    assert preflight(host) == []


def test_missing_driver(host: HostRoot):
    assert preflight(host, driver="igb_uio") == [
        f"DPDK driver igb_uio missing for kernel {RELEASE}; build it (dpdk-kmods) or use uio_pci_generic"
    ]
    host.path("/sys/module/igb_uio").mkdir(parents=True)  # loaded by hand: fine
    assert preflight(host, driver="igb_uio") == []
    assert preflight(host, driver="mlx5") == [
        "dpdk-driver 'mlx5' is not one of uio_pci_generic, igb_uio, vfio-pci"
    ]


def test_vfio_needs_module_and_iommu(host: HostRoot):
    assert preflight(host, driver="vfio-pci") == [
        f"DPDK driver vfio-pci missing for kernel {RELEASE}; install linux-modules-extra-{RELEASE}",
        "vfio-pci needs an IOMMU: enable VT-d and intel_iommu=on, or uio_pci_generic",
    ]
    write(host, f"/lib/modules/{RELEASE}/kernel/drivers/vfio/pci/vfio-pci.ko", "elf")
    host.path("/sys/kernel/iommu_groups/0").mkdir(parents=True)
    assert preflight(host, driver="vfio-pci") == []


def test_coremask_beyond_the_cpus(host: HostRoot):
    masks = {
        "dpdk-coremask": "0xff0",
        "dpdk-service-coremask": "0x1",
        "dpdk-ctrl-thread-coremask": "0xZZ",
    }
    assert preflight(host, coremasks=masks) == [
        "dpdk-coremask 0xff0 names CPUs 8-11, but only 0-7 are online",
        "dpdk-ctrl-thread-coremask: '0xZZ' is not a hex CPU mask (0xf) or a CPU list (0-3,8)",
    ]


def test_too_few_free_hugepages(host: HostRoot):
    write(host, "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "100\n")
    assert preflight(host) == [
        "only 100 of 1024 2 MiB hugepages free for DPDK; lower dpdk-hugepages or reboot to free memory"
    ]
    assert preflight(host, hugepages=100) == []


def test_every_problem_at_once(host: HostRoot):
    write(host, "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n")
    problems = preflight(
        host, interface="ens9", driver="igb_uio", coremasks={"dpdk-coremask": "0x100"}
    )
    assert len(problems) == 4
