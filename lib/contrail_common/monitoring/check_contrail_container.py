#!/usr/bin/env python3
"""Nagios plugin: the state of one Contrail container, as its charm last recorded it.

Installed by the Contrail charms as /usr/local/lib/nagios/plugins/check_contrail_container and
run by nagios-nrpe-server as the `nagios` user. It needs no root and no sudoers entry: it only
reads the world-readable state file the charm writes on every status pass
(/var/lib/contrail-charms/container-states/<unit>.json: container names, states, exit codes
and the time they were recorded; nothing secret). Python 3 standard library only.

    check_contrail_container --state-file FILE --container NAME [--max-age SECONDS]

Exit codes (Nagios): 0 OK running (or a one-shot container that finished with 0), 1 WARNING
restarting / created / paused, 2 CRITICAL exited / missing, 3 UNKNOWN when the file is
missing, unreadable, malformed or older than --max-age (the charm has stopped recording).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Optional

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
LABELS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
DEFAULT_MAX_AGE = 900.0

_WARNING_STATES = ("restarting", "created", "paused")


def evaluate(
    record: Any, container: str, max_age: float = DEFAULT_MAX_AGE, now: Optional[float] = None
) -> tuple[int, str]:
    """The Nagios code and message for one container of a decoded state file."""
    if not isinstance(record, dict) or not isinstance(record.get("containers"), dict):
        return UNKNOWN, "state file is not a container state record"
    recorded_at = record.get("recorded_at")
    if not isinstance(recorded_at, (int, float)) or isinstance(recorded_at, bool):
        return UNKNOWN, "state file has no recorded_at time"
    age = (time.time() if now is None else now) - recorded_at
    if age > max_age:
        return UNKNOWN, (
            f"container states were recorded {age:.0f} s ago (max {max_age:.0f} s); "
            "the charm records them on every status update: check juju status"
        )
    entry = record["containers"].get(container)
    if not isinstance(entry, dict):
        return CRITICAL, f"{container} missing (not among the unit's containers)"
    state = str(entry.get("state", ""))
    exit_code = entry.get("exit_code")
    if state == "running":
        return OK, f"{container} running"
    if state == "exited" and exit_code == 0 and entry.get("one_shot"):
        return OK, f"{container} completed"
    if state == "exited":
        return CRITICAL, f"{container} exited (exit code {exit_code})"
    if state == "missing":
        return CRITICAL, f"{container} missing"
    if state in _WARNING_STATES:
        last = f" (last exit code {exit_code})" if exit_code is not None else ""
        return WARNING, f"{container} {state}{last}"
    return UNKNOWN, f"{container} in unknown state {state!r}"


def check(path: str, container: str, max_age: float = DEFAULT_MAX_AGE) -> tuple[int, str]:
    """Read the state file and evaluate one container; every read problem is UNKNOWN."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except FileNotFoundError:
        return UNKNOWN, f"no state file {path} (the charm writes it once the unit is ready)"
    except PermissionError:
        return UNKNOWN, f"cannot read {path}: permission denied"
    except (OSError, ValueError) as error:
        return UNKNOWN, f"cannot read {path}: {error}"
    return evaluate(record, container, max_age)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="The state of one Contrail container, as its charm last recorded it."
    )
    parser.add_argument("--state-file", required=True)
    parser.add_argument("--container", required=True)
    parser.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE)
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        return UNKNOWN  # argparse printed the usage; Nagios shows UNKNOWN
    code, message = check(args.state_file, args.container, args.max_age)
    print(f"{LABELS[code]}: {message}")
    return code


if __name__ == "__main__":
    sys.exit(main())
