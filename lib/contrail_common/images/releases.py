"""Release lines: which images, registry and kernels a Contrail / OpenSDN image tag stands for.

The community images moved twice: Docker Hub `tungstenfabric` until 2023-11, `opensdn` from
2024-01, and image names `contrail-*` became `opensdn-*` in 2025. A tag alone says which line it
belongs to (`R24.1-latest`, `R2011-2022-11-20`, a nightly date such as `2024-09-01`), and the
line says the rest: the registry's default, the image-name prefix, the kernels its vRouter
module builds on, and the container env differences recorded in `contract.yaml`.
Where each fact comes from is in the README's release matrix and in `contract.yaml`.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

# A kernel version as (major, minor); patch levels do not decide whether the module builds,
# except for the focal 5.4.0-131 prototype change that only the pre-2022-11 R2011 tags hit.
KernelVersion = tuple[int, int]


@dataclass(frozen=True)
class ReleaseLine:
    name: str
    # The community registry (Docker Hub organisation) that publishes this line.
    registry: str
    # Images are `<prefix>-<component>`: contrail-nodemgr, opensdn-nodemgr.
    prefix: str
    # The kernels whose vRouter module this line's source and build container can build.
    kernel_min: KernelVersion
    kernel_max: KernelVersion
    # Whether the node managers can watch containers in a containerd namespace of ours
    # (CONTAINERD_NAMESPACE, tf-controller 21.4 and later). Older ones know only Docker,
    # CRI-O and the CRI of Kubernetes pods.
    nodemgr_containerd: bool

    def kernel_supported(self, version: KernelVersion) -> bool:
        return self.kernel_min <= version <= self.kernel_max

    @property
    def kernel_range(self) -> str:
        low, high = (".".join(map(str, v)) for v in (self.kernel_min, self.kernel_max))
        return low if low == high else f"{low} to {high}"


R2011 = ReleaseLine(
    name="R2011",
    registry="tungstenfabric",
    prefix="contrail",
    kernel_min=(5, 4),
    kernel_max=(5, 4),
    nodemgr_containerd=False,
)
R24_1 = ReleaseLine(
    name="R24.1",
    registry="opensdn",
    prefix="contrail",
    kernel_min=(5, 4),
    kernel_max=(6, 0),
    nodemgr_containerd=True,
)
R25_1 = ReleaseLine(
    name="R25.1",
    registry="opensdn",
    prefix="opensdn",
    kernel_min=(5, 15),
    kernel_max=(6, 9),
    nodemgr_containerd=True,
)
LINES = {line.name: line for line in (R2011, R24_1, R25_1)}

# Nightly date tags of TF / OpenSDN master, by what the source could do on that day: the
# ubuntu:22.04 build container (2024-02-16), `opensdn-*` names (2025-04-25), 6.x kernels
# (2025-04-28). Older nightlies built with a UBI8 container that cannot run jammy's tools.
_R24_1_NIGHTLIES = datetime.date(2024, 2, 16)
_R25_1_NIGHTLIES = datetime.date(2025, 4, 25)
# Master's moving tags: the newest nightly, which is the R25.1-and-later line.
_MASTER_TAGS = frozenset({"latest", "latest-stable", "nightly", "master", "dev", "main"})

_BRANCH_TAG = re.compile(r"R(\d+)(?:\.(\d+))?(?:-(?:latest|\d{4}-\d{2}-\d{2})(?:-stable)?)?")
_DATE_TAG = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:-stable)?")


class UnknownReleaseError(ValueError):
    """The tag names no release line the collection knows; `str()` says what to do."""


def _known() -> str:
    return ", ".join(LINES)


def line_for_tag(tag: str, override: str = "auto") -> ReleaseLine:
    """The release line of an image tag, or of `override` when it names one.

    Accepted: `R2011-latest`, `R2011-2022-11-20`, `R24.1-latest`, `R25.1-2025-12-01` (R26.1
    and later follow R25.1), nightly dates `2024-09-01` or `2025-06-01-stable`, and `latest`.
    """
    if override != "auto":
        if override not in LINES:
            raise UnknownReleaseError(f"release-line: must be auto or one of {_known()}")
        return LINES[override]
    branch = _BRANCH_TAG.fullmatch(tag)
    if branch:
        return _branch_line(tag, int(branch.group(1)), int(branch.group(2) or 0))
    date = _DATE_TAG.fullmatch(tag)
    if date:
        return _nightly_line(tag, *(int(part) for part in date.groups()))
    if tag in _MASTER_TAGS:
        return R25_1
    if re.fullmatch(r"2011\.L\d.*|R2011\.L\d.*", tag):
        raise UnknownReleaseError(
            _unknown(
                tag, "a Juniper 2011.Lx release, which the community registries never carried"
            )
        )
    raise UnknownReleaseError(_unknown(tag, "not a tag of a known line"))


def _branch_line(tag: str, major: int, minor: int) -> ReleaseLine:
    """`R<major>.<minor>-...`: a release branch's tags."""
    if (major, minor) == (2011, 0):
        return R2011
    if (major, minor) == (24, 1):
        return R24_1
    if 25 <= major < 100:
        return R25_1
    raise UnknownReleaseError(
        _unknown(tag, f"of line {tag.split('-')[0]}, which the charms do not support")
    )


def _nightly_line(tag: str, year: int, month: int, day: int) -> ReleaseLine:
    """`YYYY-MM-DD`: a master nightly, by what master could build on that day."""
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        raise UnknownReleaseError(_unknown(tag, "not a valid date")) from None
    if date >= _R25_1_NIGHTLIES:
        return R25_1
    if date >= _R24_1_NIGHTLIES:
        return R24_1
    raise UnknownReleaseError(
        _unknown(tag, "a nightly from before 2024-02-16, which cannot build the vRouter on 22.04")
    )


def _unknown(tag: str, why: str) -> str:
    return (
        f"image-tag: {tag} is {why}; use a tag of {_known()} (such as R24.1-latest), "
        "or set release-line for a tag of your own registry"
    )


def kernel_version(release: str) -> KernelVersion | None:
    """`5.15.0-91-generic` -> (5, 15); None when `uname -r` says something else."""
    match = re.match(r"(\d+)\.(\d+)", release)
    return (int(match.group(1)), int(match.group(2))) if match else None
