"""The image contract as data (`contract.yaml`, `reads/<line>.yaml`) and the checks on an env.

`problems()` is what the charms run before creating containers: required variables, forbidden
ones, value formats and image defaults that are wrong here. `unread()` is what the tests run
on every rendered env file: variables that no script of the image reads and no recorded reason
explains.
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .releases import ReleaseLine

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Rule:
    variable: str
    images: tuple[str, ...]
    kind: str
    why: str
    source: Mapping[str, str]
    format: str = ""
    when: Mapping[str, str] = field(default_factory=dict)
    default: str = ""

    def applies(self, line: str, image: str, env: Mapping[str, str]) -> bool:
        return (
            line in self.source
            and image in self.images
            and all(env.get(k) == v for k, v in self.when.items())
        )


@dataclass(frozen=True)
class Exemption:
    variables: tuple[str, ...]
    images: tuple[str, ...]
    why: str

    def covers(self, image: str, variable: str) -> bool:
        return variable in self.variables and ("*" in self.images or image in self.images)


@dataclass(frozen=True)
class Contract:
    rules: tuple[Rule, ...]
    exemptions: tuple[Exemption, ...]


@functools.cache
def load() -> Contract:
    data = yaml.safe_load((_HERE / "contract.yaml").read_text())
    rules = tuple(
        Rule(
            variable=r["variable"],
            images=tuple(r["images"]),
            kind=r["kind"],
            why=" ".join(r["why"].split()),
            source=r["source"],
            format=r.get("format", ""),
            when=r.get("when", {}),
            default=str(r.get("default", "")),
        )
        for r in data["rules"]
    )
    exemptions = tuple(
        Exemption(tuple(e["variables"]), tuple(e["images"]), " ".join(e["why"].split()))
        for e in data["exempt"]
    )
    return Contract(rules, exemptions)


@dataclass(frozen=True)
class ImageReads:
    """The names an image's scripts read (along its FROM chain) and `X__*__*` patterns."""

    names: frozenset[str]
    patterns: tuple[str, ...]

    def reads(self, variable: str) -> bool:
        return variable in self.names or any(
            fnmatch.fnmatchcase(variable, p) for p in self.patterns
        )


@functools.cache
def _derived(line: str) -> dict:
    return yaml.safe_load((_HERE / "reads" / f"{line}.yaml").read_text())


@functools.cache
def image_reads(line: str, image: str) -> ImageReads:
    images = _derived(line)["images"]
    if image not in images:
        raise KeyError(f"{line} builds no image {image}")
    names: set[str] = set()
    patterns: list[str] = []
    seen = set()
    while image and image not in seen:
        seen.add(image)
        entry = images[image]
        names.update(entry["reads"])
        patterns.extend(entry.get("patterns", ()))
        image = entry.get("from", "")
    return ImageReads(frozenset(names), tuple(patterns))


def unread(line: str, image: str, env: Mapping[str, str]) -> list[str]:
    """The variables of `env` that no script of the image reads and no exemption explains."""
    reads = image_reads(line, image)
    exemptions = load().exemptions
    return sorted(
        name
        for name in env
        if not reads.reads(name) and not any(e.covers(image, name) for e in exemptions)
    )


def problems(
    release: ReleaseLine, image: str, env: Mapping[str, str], address: str = ""
) -> list[str]:
    """Every way `env` breaks the contract of `image` on `release`; empty when it keeps it.

    `address` is this unit's own address, which a `members` list must hold.
    """
    found = []
    for rule in load().rules:
        if not rule.applies(release.name, image, env):
            continue
        value = env.get(rule.variable)
        if value is None:
            if rule.kind in ("required", "not-default"):
                found.append(f"{rule.variable} is not set ({rule.why})")
            continue
        if rule.kind == "forbidden":
            found.append(f"{rule.variable} must not be set ({rule.why})")
        elif rule.kind == "not-default" and value in ("", rule.default):
            found.append(f"{rule.variable} is the image default ({rule.why})")
        elif rule.format and not _well_formed(rule.format, value, address):
            found.append(f"{rule.variable}={value!r} is not {_FORMATS[rule.format]}")
    return found


_FORMATS = {
    "image": "an image reference <registry>/<name>:<tag>",
    "members": "a comma list of addresses holding this unit's own",
    "space-list": "a space-separated list",
    "cidr": "one CIDR",
    "keystone-proto": "http or https",
    "port": "a port number",
}


def _well_formed(kind: str, value: str, address: str) -> bool:
    if kind == "image":
        return bool(re.fullmatch(r"[^\s/]+(?:/[^\s/:]+)+:[A-Za-z0-9_][A-Za-z0-9_.-]*", value))
    if kind == "members":
        items = value.split(",")
        return all(items) and " " not in value and (not address or address in items)
    if kind == "space-list":
        return bool(value) and "," not in value
    if kind == "cidr":
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return False
        return "/" in value
    if kind == "keystone-proto":
        return value in ("http", "https")
    if kind == "port":
        return value.isdigit() and 0 < int(value) < 65536
    raise ValueError(f"unknown format {kind}")
