"""The upgrade facts of `images/upgrade.yaml`, as the values the upgrade code uses.

Each fact there says why and cites where (per release line); this module only hands out the
`value`s, so a number such as the agent's quit timeout lives in one place with its reason.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

_FILE = Path(__file__).parents[1] / "images" / "upgrade.yaml"


@dataclass(frozen=True)
class Fact:
    id: str
    fact: str
    value: Any
    source: Mapping[str, str]
    needle: str


@functools.cache
def load() -> dict[str, Fact]:
    data = yaml.safe_load(_FILE.read_text())
    return {
        entry["id"]: Fact(
            id=entry["id"],
            fact=" ".join(entry["fact"].split()),
            value=entry.get("value"),
            source=entry["source"],
            needle=entry["needle"],
        )
        for entry in data["facts"]
    }


@functools.cache
def sources() -> dict[str, dict[str, str]]:
    """Per line, `builder`/`controller`/`vrouter`/`deployer` -> `owner/repo@commit`."""
    return yaml.safe_load(_FILE.read_text())["sources"]


def value(fact_id: str) -> Any:
    return load()[fact_id].value


# The values the upgrade code relies on, read once.
AGENT_QUIT_SIGNAL: str = value("agent-quit-signal")
AGENT_RESTART_SIGNAL: str = value("agent-restart-signal")
AGENT_QUIT_TIMEOUT: int = value("agent-quit-timeout")
DPDK_QUIT_SIGNAL: str = value("dpdk-quit-signal")
LOADED_MODULE_VERSION: str = value("loaded-module-version")
BUILT_MODULE_PATH: str = value("built-module-path")
STALE_MODULES: str = value("stale-modules-removed")
VERSION_LABEL: str = value("version-label")


def component_minor(component: str, line: str) -> Optional[str]:
    """`major.minor` of a third-party component (`zookeeper`, `cassandra`, `rabbitmq`) on a
    release line; None when the line alone does not say."""
    return value(f"{component}-version").get(line)
