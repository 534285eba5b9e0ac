"""Running host programs through an injectable runner, so tests can record the calls."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from .errors import CommandFailedError, CommandNotFoundError

# `subprocess.run` or a fake with the same call form; always given an argument list, never a
# shell string, and called with capture_output=True, text=True, check=False, timeout=...
Runner = Callable[..., "subprocess.CompletedProcess[Any]"]


def run(runner: Runner, argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[Any]:
    """Run `argv`; a missing program or a timeout becomes a HostError naming the program."""
    try:
        return runner(list(argv), capture_output=True, text=True, check=False, timeout=timeout)
    except FileNotFoundError:
        raise CommandNotFoundError(f"{argv[0]} not found; install it on the host") from None
    except subprocess.TimeoutExpired:
        raise CommandFailedError(f"{argv[0]} timed out after {timeout:g} s") from None


def last_error_line(result: subprocess.CompletedProcess[Any], limit: int = 120) -> str:
    """The last non-empty line of stderr (or stdout), shortened to fit in a status."""
    text = str(result.stderr or "").strip() or str(result.stdout or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[-1] if lines else f"exit code {result.returncode}"
    return line if len(line) <= limit else line[: limit - 1] + "…"
