"""CPU sets: kernel lists (`0-3,8`), hex masks (`0xf`), and the CPUs online on the host.

The old charm converted hex masks with `int(x, 16)` and crashed on a typo; here every bad value
is a ValueError whose text can go straight into a blocked status.
"""

from __future__ import annotations

import re

from ..hostpaths import HostRoot

_ROOT = HostRoot()
_ITEM = re.compile(r"([0-9]+)(?:-([0-9]+))?")
_HEX = re.compile(r"(?:0[xX])?([0-9a-fA-F]+)")
_MAX_CPUS = 8192  # the kernel's NR_CPUS ceiling; refuses absurd ranges before expanding them


def parse_cpu_list(text: str) -> set[int]:
    """CPUs of a kernel CPU list such as `0-3,8` (the sysfs and cpuset format)."""
    cpus: set[int] = set()
    items = text.strip().split(",")
    for item in items:
        match = _ITEM.fullmatch(item.strip())
        if not match:
            raise ValueError(f"{text.strip()!r} is not a CPU list like 0-3,8")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if last < first or last >= _MAX_CPUS:
            raise ValueError(f"{text.strip()!r} has a bad CPU range {item.strip()}")
        cpus.update(range(first, last + 1))
    return cpus


def coremask_to_cpus(value: str) -> set[int]:
    """CPUs of a DPDK coremask: a hex mask (`0xf`, or bare `f` as DPDK's -c and taskset read
    it, so the old default `1` means CPU 0) or, when it has `,` or `-`, a CPU list (`0-3,8`)."""
    text = value.strip()
    if "," in text or "-" in text:
        return parse_cpu_list(text)
    match = _HEX.fullmatch(text)
    if not match:
        raise ValueError(f"{value!r} is not a hex CPU mask (0xf) or a CPU list (0-3,8)")
    mask = int(match.group(1), 16)
    if mask == 0:
        raise ValueError(f"CPU mask {value!r} names no CPU")
    if mask.bit_length() > _MAX_CPUS:
        raise ValueError(f"CPU mask {value!r} is longer than any host's CPU count")
    return {cpu for cpu in range(mask.bit_length()) if mask >> cpu & 1}


def cpuset_to_cpus(value: str) -> set[int]:
    """CPUs of the `container-cpuset` option: `0x` hex mask, otherwise a CPU list (old form)."""
    text = value.strip()
    return coremask_to_cpus(text) if text.lower().startswith("0x") else parse_cpu_list(text)


def cpus_to_list(cpus: set[int]) -> str:
    """The kernel list form of a CPU set, ranges collapsed: {0, 1, 2, 3, 8} -> `0-3,8`."""
    parts: list[str] = []
    ordered = sorted(cpus)
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        first, last = ordered[start], ordered[end]
        parts.append(str(first) if first == last else f"{first}-{last}")
        start = end + 1
    return ",".join(parts)


def online_cpus(host: HostRoot = _ROOT) -> set[int]:
    """The CPUs online now, from `/sys/devices/system/cpu/online`."""
    return parse_cpu_list(host.path("/sys/devices/system/cpu/online").read_text())
