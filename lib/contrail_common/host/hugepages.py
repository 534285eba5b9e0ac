"""Hugepages: what the kernel has, 2 MiB pages via sysctl, and the DPDK page-count option.

2 MiB pages can be allocated at runtime (`vm.nr_hugepages`), persisted in a sysctl.d drop-in.
The kernel may give fewer than asked when memory is fragmented, so the state always reports
what it actually allocated. 1 GiB pages only come from the boot line (see `hugepages_1g`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from ..hostpaths import HostRoot
from ..rendering import write_file
from .errors import HugepageError

_ROOT = HostRoot()
SIZE_2M_KB = 2048
SIZE_1G_KB = 1048576
SYSCTL_DROP_IN = "/etc/sysctl.d/60-contrail-hugepages.conf"
MANAGED = "# Managed by the contrail charms; changes are overwritten.\n"
_COUNT = re.compile(r"[0-9]+")
_PERCENT = re.compile(r"([0-9]{1,3})%")


def size_label(size_kb: int) -> str:
    if size_kb == SIZE_1G_KB:
        return "1 GiB"
    if size_kb == SIZE_2M_KB:
        return "2 MiB"
    return f"{size_kb} kB"


@dataclass(frozen=True)
class HugepageState:
    """Hugepages of one size: asked for, allocated by the kernel, free (not in use)."""

    size_kb: int
    requested: int
    allocated: int
    free: int
    reboot_required: bool = False
    changed: bool = False  # whether this call changed a persistent file

    @property
    def shortfall(self) -> str | None:
        """Status text when the kernel allocated fewer pages than requested."""
        if self.reboot_required or self.allocated >= self.requested:
            return None
        label = size_label(self.size_kb)
        # 2 MiB pages can be retried after a reboot defragments memory; 1 GiB pages are
        # already allocated at boot, so only a smaller count helps.
        remedy = "request fewer" if self.size_kb == SIZE_1G_KB else "reboot or request fewer"
        return f"{self.allocated} of {self.requested} {label} hugepages allocated; {remedy}"

    @property
    def reboot_message(self) -> str | None:
        if not self.reboot_required:
            return None
        return (
            f"reboot required: {size_label(self.size_kb)} hugepages ({self.requested}) take "
            "effect at boot; run the reboot action or reboot the machine"
        )

    @property
    def problem(self) -> str | None:
        """The one status text to show for this size, if any (blocked)."""
        return self.reboot_message or self.shortfall


def read_meminfo(host: HostRoot = _ROOT) -> dict[str, int]:
    """`/proc/meminfo` as numbers: sizes in kB, `HugePages_*` as page counts."""
    values: dict[str, int] = {}
    for line in host.path("/proc/meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[key.strip()] = int(fields[0])
    return values


def default_hugepage_kb(host: HostRoot = _ROOT) -> int:
    """The default hugepage size, the one `vm.nr_hugepages` counts (2 MiB unless booted else)."""
    return read_meminfo(host).get("Hugepagesize", SIZE_2M_KB)


def hugepage_dir(host: HostRoot, size_kb: int) -> Path:
    return host.path(f"/sys/kernel/mm/hugepages/hugepages-{size_kb}kB")


def _read_count(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except FileNotFoundError:
        return 0


def hugepage_state(
    host: HostRoot = _ROOT, size_kb: int = SIZE_2M_KB, requested: int = 0
) -> HugepageState:
    """The kernel's pool of one page size, from sysfs (zero when the size is unsupported)."""
    directory = hugepage_dir(host, size_kb)
    return HugepageState(
        size_kb,
        requested,
        allocated=_read_count(directory / "nr_hugepages"),
        free=_read_count(directory / "free_hugepages"),
    )


def set_runtime_hugepages(write_path: Path, readback_path: Path, count: int) -> int:
    """Ask the kernel for `count` pages through `write_path`; return what it allocated.

    The kernel allocates what it can and the pool file then shows the real number, which may
    be lower. Separate from the sysctl drop-in so it can be tested on the real kernel.
    """
    # One write of the whole number: procfs and sysfs parse each write() on its own.
    with open(write_path, "w") as handle:
        handle.write(f"{count}\n")
    return int(readback_path.read_text().strip())


def ensure_2m_hugepages(host: HostRoot = _ROOT, count: int = 0) -> HugepageState:
    """Reserve `count` 2 MiB pages now and at boot; the state reports any shortfall.

    `count` 0 leaves the running kernel alone: no memory is reserved unasked, and pages in use
    are not pulled away. A drop-in of ours from an earlier count is removed, so the next boot
    no longer reserves them.
    """
    if count < 0:
        raise ValueError("hugepage count must not be negative")
    drop_in = host.path(SYSCTL_DROP_IN)
    if count == 0:
        removed = drop_in.exists()
        drop_in.unlink(missing_ok=True)
        return replace(hugepage_state(host, SIZE_2M_KB), changed=removed)
    default_kb = default_hugepage_kb(host)
    if default_kb != SIZE_2M_KB:
        # vm.nr_hugepages counts default-size pages: with 1 GiB as default it would reserve
        # `count` GiB at boot. Both sizes then belong on the boot line instead.
        raise HugepageError(
            "cannot set 2 MiB hugepages by sysctl: the default hugepage size is "
            f"{size_label(default_kb)}; reboot to apply the new boot line, "
            "or set them with the 1 GiB pages"
        )
    changed = write_file(drop_in, f"{MANAGED}vm.nr_hugepages = {count}\n", 0o644)
    directory = hugepage_dir(host, SIZE_2M_KB)
    try:
        allocated = set_runtime_hugepages(
            host.path("/proc/sys/vm/nr_hugepages"), directory / "nr_hugepages", count
        )
    except OSError as error:  # read-only /proc/sys in a container, or no hugetlb support
        raise HugepageError(
            f"cannot set 2 MiB hugepages ({error.strerror}); "
            "hugepages need a VM or bare-metal machine with hugetlb support"
        ) from None
    free = _read_count(directory / "free_hugepages")
    return HugepageState(SIZE_2M_KB, count, allocated, free, changed=changed)


def dpdk_hugepages_from_option(value: str, mem_total_kb: int) -> int:
    """2 MiB pages for DPDK from the option: a page count (`1024`) or a share of RAM (`70%`).

    Bad values raise ValueError with a text fit for a blocked status (the old charm crashed).
    """
    text = str(value).strip()
    if _COUNT.fullmatch(text):
        return int(text)
    match = _PERCENT.fullmatch(text)
    if match and 0 < int(match.group(1)) <= 100:
        return mem_total_kb * int(match.group(1)) // 100 // SIZE_2M_KB
    raise ValueError(
        f"dpdk-hugepages {value!r} is neither a page count (1024) nor a share of RAM (1-100%)"
    )
