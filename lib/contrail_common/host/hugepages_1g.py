"""1 GiB hugepages: a GRUB drop-in for the boot line, and "reboot required" until booted with it.

The kernel cannot find 1 GiB of contiguous memory once running, so these pages are reserved on
the kernel command line. The helper never reboots: it reports `reboot_required` and the charm
shows it as a blocked status until an operator (or the reboot action) reboots.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

from ..hostpaths import HostRoot
from ..rendering import write_file
from .commands import Runner, last_error_line, run
from .errors import CommandNotFoundError, HostError, HugepageError
from .hugepages import (
    MANAGED,
    SIZE_1G_KB,
    SIZE_2M_KB,
    SYSCTL_DROP_IN,
    HugepageState,
    hugepage_dir,
    hugepage_state,
)

_ROOT = HostRoot()
# 60: after the cloud images' 50-cloudimg-settings.cfg, which sets the variable outright.
GRUB_DROP_IN = "/etc/default/grub.d/60-contrail-hugepages.cfg"
_SIZE = re.compile(r"([0-9]+)([KMGT]?)", re.IGNORECASE)
_UNITS_KB = {"": 1 / 1024, "K": 1, "M": 1024, "G": 1024**2, "T": 1024**3}


def _size_kb(text: str) -> int | None:
    """A kernel `memparse` size (`1G`, `2M`, `2048K`) in kB."""
    match = _SIZE.fullmatch(text)
    if not match:
        return None
    return int(int(match.group(1)) * _UNITS_KB[match.group(2).upper()])


def boot_hugepages(host: HostRoot = _ROOT) -> dict[int, int]:
    """Page counts by size (kB) the running kernel was booted with, from `/proc/cmdline`.

    `hugepages=N` counts pages of the size named by the last `hugepagesz=` before it, or of the
    default size when none came before, as the kernel reads it.
    """
    words = host.path("/proc/cmdline").read_text().split()
    default = SIZE_2M_KB
    for word in words:
        if word.startswith("default_hugepagesz="):
            default = _size_kb(word.partition("=")[2]) or default
    counts: dict[int, int] = {}
    current: int | None = None
    for word in words:
        key, _, value = word.partition("=")
        if key == "hugepagesz":
            current = _size_kb(value)
        elif key == "hugepages" and value.isdigit():
            counts[current or default] = int(value)
    return counts


def grub_drop_in(count: int, pages_2m: int = 0) -> str:
    """The drop-in appending the hugepage words to the default kernel command line."""
    words = f"default_hugepagesz=1G hugepagesz=1G hugepages={count}"
    if pages_2m:
        words += f" hugepagesz=2M hugepages={pages_2m}"
    return f'{MANAGED}GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT {words}"\n'


def ensure_1g_hugepages(
    host: HostRoot = _ROOT,
    count: int = 0,
    pages_2m: int = 0,
    runner: Runner = subprocess.run,
) -> HugepageState:
    """Put `count` 1 GiB pages (and `pages_2m` 2 MiB pages) on the boot line via GRUB.

    `update-grub` runs only when the drop-in changed. With 1 GiB as the default size the 2 MiB
    sysctl drop-in would count 1 GiB pages at boot, so it is removed and 2 MiB pages go on the
    boot line too. `count` 0 removes our drop-in (no reboot is forced for that).
    """
    if count < 0 or pages_2m < 0:
        raise ValueError("hugepage counts must not be negative")
    drop_in = host.path(GRUB_DROP_IN)
    if count == 0:
        changed = drop_in.exists() and _update_grub(drop_in, None, runner)
        return replace(hugepage_state(host, SIZE_1G_KB), changed=changed)
    if not hugepage_dir(host, SIZE_1G_KB).is_dir():
        raise HugepageError("this CPU has no 1 GiB page support (pdpe1gb); use 2 MiB hugepages")
    changed = _update_grub(drop_in, grub_drop_in(count, pages_2m), runner)
    sysctl = host.path(SYSCTL_DROP_IN)
    if sysctl.exists():
        sysctl.unlink()
        changed = True
    booted = boot_hugepages(host)
    reboot = booted.get(SIZE_1G_KB, 0) != count
    if pages_2m:
        reboot = reboot or booted.get(SIZE_2M_KB, 0) != pages_2m
    state = hugepage_state(host, SIZE_1G_KB, requested=count)
    return HugepageState(SIZE_1G_KB, count, state.allocated, state.free, reboot, changed)


def _update_grub(drop_in: Path, content: str | None, runner: Runner) -> bool:
    """Write (or with None remove) the drop-in and run update-grub if it changed.

    When update-grub fails the old drop-in is put back, so the next hook sees a change again
    and retries instead of leaving a drop-in that never reached grub.cfg.
    """
    previous = drop_in.read_bytes() if drop_in.exists() else None
    if content is None:
        drop_in.unlink(missing_ok=True)
        changed = previous is not None
    else:
        changed = write_file(drop_in, content, 0o644)
    if not changed:
        return False
    try:
        result = run(runner, ["update-grub"], timeout=600)
        failure = (
            None if result.returncode == 0 else f"update-grub failed: {last_error_line(result)}"
        )
    except CommandNotFoundError:
        failure = "update-grub not found; without GRUB set the kernel command line by hand"
    except HostError as error:  # timed out
        failure = str(error)
    if failure is not None:
        if previous is None:
            drop_in.unlink(missing_ok=True)
        else:
            write_file(drop_in, previous, 0o644)
        raise HugepageError(f"1 GiB hugepages not applied: {failure}")
    return True
