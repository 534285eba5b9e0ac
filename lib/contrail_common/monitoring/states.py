"""The container states a unit records for its monitors: the Nagios check and the exporter.

Both run without root and never talk to the container engine: the charm writes what it read
from the engine on every status pass into a world-readable file (names, states, exit codes,
the time; nothing secret), and they read that.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Optional

from ..containers.state import ContainerStatus
from ..hostpaths import HostRoot
from ..rendering import write_file

STATE_DIR = "/var/lib/contrail-charms/container-states"


def state_file(project: str) -> str:
    """Where the container states of a unit's project are recorded (a host path)."""
    return f"{STATE_DIR}/{project}.json"


def make_dirs(path: Path) -> None:
    """Create `path` and its missing parents, each 0755 (unprivileged monitors read below it)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        os.chmod(directory, 0o755)  # noqa: S103 - the monitors' users must read below it


def record_container_states(
    host: HostRoot,
    project: str,
    states: Mapping[str, ContainerStatus],
    one_shot: Collection[str] = (),
    now: Optional[float] = None,
) -> Path:
    """Write the states the monitors read: 0644, names and states only."""
    record = {
        "project": project,
        "recorded_at": round(time.time() if now is None else now, 3),
        "containers": {
            name: {
                "state": status.state.value,
                "exit_code": status.exit_code,
                "one_shot": name in one_shot,
            }
            for name, status in sorted(states.items())
        },
    }
    path = host.path(state_file(project))
    make_dirs(path.parent)
    write_file(path, json.dumps(record, indent=1, sort_keys=True) + "\n", 0o644)
    return path


def remove_container_states(host: HostRoot, project: str) -> None:
    host.path(state_file(project)).unlink(missing_ok=True)
