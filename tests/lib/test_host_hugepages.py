"""2 MiB hugepages via sysctl, 1 GiB via a GRUB drop-in, the DPDK page option; one real-kernel test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contrail_common.host import (
    SIZE_1G_KB,
    SIZE_2M_KB,
    HugepageError,
    HugepageState,
    boot_hugepages,
    dpdk_hugepages_from_option,
    ensure_1g_hugepages,
    ensure_2m_hugepages,
    hugepage_state,
    read_meminfo,
    set_runtime_hugepages,
)
from contrail_common.host.hugepages import default_hugepage_kb
from contrail_common.hostpaths import HostRoot
from contrail_common.testing import RecordingRunner as Runner
from contrail_common.testing import write_host_file as write

SYSCTL = "/etc/sysctl.d/60-contrail-hugepages.conf"
GRUB = "/etc/default/grub.d/60-contrail-hugepages.cfg"
POOL_2M = "/sys/kernel/mm/hugepages/hugepages-2048kB"
POOL_1G = "/sys/kernel/mm/hugepages/hugepages-1048576kB"
MEMINFO = """MemTotal:       16777216 kB
MemFree:         8388608 kB
HugePages_Total:       0
HugePages_Free:        0
Hugepagesize:       2048 kB
"""
CMDLINE = "BOOT_IMAGE=/vmlinuz-6.8.0-48-generic root=UUID=1234 ro console=ttyS0\n"


@pytest.fixture
def host(tmp_path: Path) -> HostRoot:
    host = HostRoot(tmp_path)
    write(host, "/proc/meminfo", MEMINFO)
    write(host, "/proc/cmdline", CMDLINE)
    write(host, "/proc/sys/vm/nr_hugepages", "0\n")
    for pool in (POOL_2M, POOL_1G):
        write(host, f"{pool}/nr_hugepages", "0\n")
        write(host, f"{pool}/free_hugepages", "0\n")
    return host


def test_meminfo_and_sysfs_state(host: HostRoot):
    assert read_meminfo(host)["MemTotal"] == 16777216
    assert default_hugepage_kb(host) == SIZE_2M_KB
    write(host, f"{POOL_2M}/nr_hugepages", "8\n")
    write(host, f"{POOL_2M}/free_hugepages", "5\n")
    assert hugepage_state(host, SIZE_2M_KB, 8) == HugepageState(SIZE_2M_KB, 8, 8, 5)
    assert hugepage_state(host, 4096) == HugepageState(4096, 0, 0, 0)  # unsupported size


def test_2m_pages_written_to_sysctl_and_runtime(host: HostRoot):
    # The "kernel" gives all of them: the pool file already says 4.
    write(host, f"{POOL_2M}/nr_hugepages", "4\n")
    write(host, f"{POOL_2M}/free_hugepages", "4\n")
    state = ensure_2m_hugepages(host, 4)
    assert state == HugepageState(SIZE_2M_KB, 4, 4, 4, changed=True)
    assert state.shortfall is None and state.problem is None
    drop_in = host.path(SYSCTL)
    assert drop_in.read_text().splitlines()[-1] == "vm.nr_hugepages = 4"
    assert drop_in.stat().st_mode & 0o777 == 0o644
    assert host.path("/proc/sys/vm/nr_hugepages").read_text() == "4\n"
    assert not ensure_2m_hugepages(host, 4).changed


def test_2m_shortfall_reports_what_the_kernel_allocated(host: HostRoot):
    # Fragmented memory: the kernel's pool shows 3 whatever was asked.
    write(host, f"{POOL_2M}/nr_hugepages", "3\n")
    write(host, f"{POOL_2M}/free_hugepages", "3\n")
    state = ensure_2m_hugepages(host, 4)
    assert (state.requested, state.allocated, state.free) == (4, 3, 3)
    assert state.shortfall == "3 of 4 2 MiB hugepages allocated; reboot or request fewer"
    assert state.problem == state.shortfall


def test_zero_pages_leaves_the_host_alone(host: HostRoot):
    write(host, "/proc/sys/vm/nr_hugepages", "7\n")  # someone else's pages
    state = ensure_2m_hugepages(host, 0)
    assert not state.changed and state.problem is None
    assert not host.path(SYSCTL).exists()
    assert host.path("/proc/sys/vm/nr_hugepages").read_text() == "7\n"
    assert not host.path("/etc").exists()


def test_zero_pages_removes_our_earlier_drop_in_only(host: HostRoot):
    ensure_2m_hugepages(host, 4)
    assert ensure_2m_hugepages(host, 0).changed
    assert not host.path(SYSCTL).exists()
    assert host.path("/proc/sys/vm/nr_hugepages").read_text() == "4\n"  # runtime untouched


def test_2m_refused_when_default_size_is_1g(host: HostRoot):
    write(
        host,
        "/proc/meminfo",
        MEMINFO.replace("Hugepagesize:       2048", "Hugepagesize:    1048576"),
    )
    with pytest.raises(HugepageError, match="default hugepage size is 1 GiB"):
        ensure_2m_hugepages(host, 1024)
    assert not host.path(SYSCTL).exists()


def test_unwritable_runtime_value_is_a_status(host: HostRoot):
    host.path("/proc/sys/vm/nr_hugepages").unlink()
    host.path("/proc/sys/vm/nr_hugepages").mkdir()  # any OSError, as a read-only /proc/sys
    with pytest.raises(HugepageError, match=r"cannot set 2 MiB hugepages \(Is a directory\)"):
        ensure_2m_hugepages(host, 4)
    with pytest.raises(ValueError):
        ensure_2m_hugepages(host, -1)


def test_1g_drop_in_update_grub_once_and_reboot_required(host: HostRoot):
    runner = Runner()
    state = ensure_1g_hugepages(host, 4, runner=runner)
    assert host.path(GRUB).read_text().splitlines()[-1] == (
        'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT '
        'default_hugepagesz=1G hugepagesz=1G hugepages=4"'
    )
    assert host.path(GRUB).stat().st_mode & 0o777 == 0o644
    assert runner.calls == [["update-grub"]]
    assert state.changed and state.reboot_required
    assert state.problem == (
        "reboot required: 1 GiB hugepages (4) take effect at boot; "
        "run the reboot action or reboot the machine"
    )
    assert state.shortfall is None  # nothing to compare before the reboot
    again = ensure_1g_hugepages(host, 4, runner=runner)
    assert not again.changed and again.reboot_required
    assert runner.calls == [["update-grub"]]  # unchanged drop-in: grub.cfg left alone


def test_1g_after_reboot_with_pages(host: HostRoot):
    runner = Runner()
    ensure_1g_hugepages(host, 4, runner=runner)
    write(
        host,
        "/proc/cmdline",
        CMDLINE.strip() + " default_hugepagesz=1G hugepagesz=1G hugepages=4\n",
    )
    write(host, f"{POOL_1G}/nr_hugepages", "4\n")
    write(host, f"{POOL_1G}/free_hugepages", "4\n")
    state = ensure_1g_hugepages(host, 4, runner=runner)
    assert state == HugepageState(SIZE_1G_KB, 4, 4, 4, reboot_required=False, changed=False)
    assert state.problem is None
    write(host, f"{POOL_1G}/nr_hugepages", "2\n")  # booted with 4, the kernel found 2
    assert ensure_1g_hugepages(host, 4, runner=runner).problem == (
        "2 of 4 1 GiB hugepages allocated; request fewer"
    )
    assert ensure_1g_hugepages(host, 8, runner=runner).reboot_required  # a new count
    assert len(runner.calls) == 2


def test_1g_with_2m_pages_moves_them_to_the_boot_line(host: HostRoot):
    ensure_2m_hugepages(host, 512)
    state = ensure_1g_hugepages(host, 2, pages_2m=512, runner=Runner())
    assert "hugepages=2 hugepagesz=2M hugepages=512" in host.path(GRUB).read_text()
    assert not host.path(SYSCTL).exists()  # vm.nr_hugepages would count 1 GiB pages at boot
    assert state.reboot_required
    write(host, "/proc/cmdline", "ro default_hugepagesz=1G hugepagesz=1G hugepages=2\n")
    assert ensure_1g_hugepages(host, 2, pages_2m=512, runner=Runner()).reboot_required
    write(
        host,
        "/proc/cmdline",
        "ro default_hugepagesz=1G hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=512\n",
    )
    assert not ensure_1g_hugepages(host, 2, pages_2m=512, runner=Runner()).reboot_required


def test_1g_zero_removes_our_drop_in(host: HostRoot):
    runner = Runner()
    assert not ensure_1g_hugepages(host, 0, runner=runner).changed
    assert runner.calls == []
    ensure_1g_hugepages(host, 4, runner=runner)
    state = ensure_1g_hugepages(host, 0, runner=runner)
    assert state.changed and not state.reboot_required and state.problem is None
    assert not host.path(GRUB).exists()
    assert runner.calls == [["update-grub"], ["update-grub"]]


def test_update_grub_failure_reverts_so_the_next_hook_retries(host: HostRoot):
    failing = Runner(1, "/usr/sbin/grub-mkconfig: error: out of disk space\n")
    with pytest.raises(HugepageError) as caught:
        ensure_1g_hugepages(host, 4, runner=failing)
    assert str(caught.value) == (
        "1 GiB hugepages not applied: update-grub failed: "
        "/usr/sbin/grub-mkconfig: error: out of disk space"
    )
    assert not host.path(GRUB).exists()
    runner = Runner()
    assert ensure_1g_hugepages(host, 4, runner=runner).changed
    assert runner.calls == [["update-grub"]]
    with pytest.raises(HugepageError, match="update-grub not found"):
        ensure_1g_hugepages(host, 8, runner=Runner(missing=True))
    assert "hugepages=4" in host.path(GRUB).read_text()  # the previous drop-in is back


def test_1g_needs_cpu_support(host: HostRoot):
    for name in ("nr_hugepages", "free_hugepages"):
        host.path(f"{POOL_1G}/{name}").unlink()
    host.path(POOL_1G).rmdir()
    runner = Runner()
    with pytest.raises(HugepageError, match="no 1 GiB page support"):
        ensure_1g_hugepages(host, 4, runner=runner)
    assert runner.calls == [] and not host.path(GRUB).exists()


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        (CMDLINE, {}),
        ("ro hugepages=16 hugepagesz=1G hugepages=4", {SIZE_2M_KB: 16, SIZE_1G_KB: 4}),
        ("ro default_hugepagesz=1G hugepages=8", {SIZE_1G_KB: 8}),
        (
            "ro hugepagesz=2M hugepages=64 hugepagesz=1073741824 hugepages=2",
            {SIZE_2M_KB: 64, SIZE_1G_KB: 2},
        ),
        ("ro hugepagesz=1g hugepages=x", {}),
    ],
)
def test_boot_line_parsing(host: HostRoot, cmdline: str, expected: dict[int, int]):
    write(host, "/proc/cmdline", cmdline + "\n")
    assert boot_hugepages(host) == expected


@pytest.mark.parametrize(
    ("value", "pages"),
    [("1024", 1024), (" 512 ", 512), ("0", 0), ("70%", 5734), ("100%", 8192), ("1%", 81)],
)
def test_dpdk_hugepages_option(value: str, pages: int):
    assert dpdk_hugepages_from_option(value, 16777216) == pages


@pytest.mark.parametrize("value", ["", "abc", "-5", "0%", "101%", "1.5", "70 %", "0x10", "²"])
def test_dpdk_hugepages_option_rejects_bad_values(value: str):
    with pytest.raises(ValueError, match="neither a page count"):
        dpdk_hugepages_from_option(value, 16777216)


def test_real_kernel_allocates_2m_hugepages():
    """On the real host: ask for 2 more 2 MiB pages, read back what the kernel gave, restore."""
    runtime = Path("/proc/sys/vm/nr_hugepages")
    pool = Path(f"{POOL_2M}/nr_hugepages")
    if os.geteuid() != 0 or not os.access(runtime, os.W_OK) or not pool.exists():
        pytest.skip("needs root and a writable /proc/sys/vm/nr_hugepages")
    if default_hugepage_kb(HostRoot()) != SIZE_2M_KB:
        pytest.skip("vm.nr_hugepages counts other than 2 MiB pages on this host")
    before = int(runtime.read_text())
    target = before + 2
    try:
        allocated = set_runtime_hugepages(runtime, pool, target)
        assert allocated == int(pool.read_text())  # the readback is the kernel's own number
        state = hugepage_state(HostRoot(), SIZE_2M_KB, requested=target)
        assert state.allocated == allocated
        if allocated < target:  # allowed: fragmented memory; then it must be reported
            assert (
                state.shortfall
                == f"{allocated} of {target} 2 MiB hugepages allocated; reboot or request fewer"
            )
        else:
            assert allocated == target and state.shortfall is None
    finally:
        runtime.write_text(f"{before}\n")
    assert int(runtime.read_text()) == before
