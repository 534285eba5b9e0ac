"""`systemctl` through an injectable runner, for the monitors' services (nrpe, the exporter)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

# `subprocess.run` or a fake with the same call form (argument lists only).
Runner = Callable[..., "subprocess.CompletedProcess[Any]"]


def systemctl(runner: Runner, *args: str) -> str:
    """Run `systemctl ARGS`; return why it failed, or "" when it succeeded."""
    argv = ["systemctl", *args]
    try:
        result = runner(argv, capture_output=True, text=True, check=False, timeout=120)
    except (OSError, subprocess.SubprocessError) as error:
        return f"{' '.join(argv)} failed: {error}"
    if result.returncode != 0:
        detail = str(result.stderr or result.stdout or "").strip()
        return f"{' '.join(argv)} failed ({result.returncode}): {detail}"
    return ""
