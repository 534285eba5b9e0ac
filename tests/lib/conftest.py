"""Fixtures the probe charm's suites share."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "probe" / "src"))

from probe_charm import ProbeCharm

from contrail_common.testing import RecordingRunner


@pytest.fixture
def systemctl_runner(monkeypatch) -> RecordingRunner:
    """Records the probe charm's systemctl calls (nrpe restarts, the exporter's service)."""
    runner = RecordingRunner()
    monkeypatch.setattr(ProbeCharm, "systemctl_runner", lambda self: runner)
    return runner
