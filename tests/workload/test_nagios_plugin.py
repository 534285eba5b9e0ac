"""The Nagios check plugin against real containers (each test runs on docker and containerd).

The states are recorded with the function the charms use on every status pass, the plugin is
installed as the charms install it, and it runs as a separate process with the system's
python3 (standard library only) as an unprivileged user, as nagios-nrpe-server runs it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_engines import spec, wait_for

from contrail_common.containers import ContainerState, RestartPolicy
from contrail_common.hostpaths import HostRoot
from contrail_common.monitoring import nrpe
from contrail_common.monitoring import states as recorded_states

pytestmark = pytest.mark.workload

SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture
def host() -> Iterator[HostRoot]:
    """A scratch host tree another user can read (pytest's tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="nagios-"))
    os.chmod(root, 0o755)  # noqa: S103 - the unprivileged plugin reads below it
    yield HostRoot(root)
    shutil.rmtree(root, ignore_errors=True)


def unprivileged() -> dict:
    """Run as `nobody` when the tests run as root: the check needs no root and no sudo."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return {}
    return {"user": "nobody", "group": "nogroup"}


def run_plugin(host: HostRoot, state_file: Path, container: str, *extra: str) -> tuple[int, str]:
    nrpe.NrpeFiles(host, "probe/0", "contrail_probe").install_plugin()  # as the charm does
    python = SYSTEM_PYTHON if Path(SYSTEM_PYTHON).exists() else "python3"
    result = subprocess.run(
        [python, "-I", str(host.path(nrpe.PLUGIN_PATH)), "--state-file", str(state_file),
         "--container", container, *extra],
        capture_output=True, text=True, check=False, timeout=60, cwd="/",
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, **unprivileged(),
    )  # fmt: skip
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1, "Nagios reads one line"
    return result.returncode, result.stdout.strip()


def test_plugin_reports_running_exited_and_restarting_containers(engine, project, images, host):
    engine.apply(
        project,
        [
            spec("healthy", images["1"]),
            spec("stopped", images["1"], restart=RestartPolicy.NO, command=("sh", "-c", "exit 3")),
            spec("looping", images["1"], command=("sh", "-c", "sleep 0.2; exit 5")),
        ],
    )
    expected = ["healthy", "stopped", "looping", "absent"]
    # One snapshot in which the crash loop is caught between two runs.
    states = wait_for(
        lambda: (
            (s := engine.status(project, expected))["looping"].state == ContainerState.RESTARTING
            and s["stopped"].state == ContainerState.EXITED
            and s
        )
    )
    path = recorded_states.record_container_states(host, project, states)
    assert oct(path.stat().st_mode & 0o777) == "0o644"

    assert run_plugin(host, path, "healthy") == (0, "OK: healthy running")
    code, message = run_plugin(host, path, "stopped")
    assert code == 2 and message == "CRITICAL: stopped exited (exit code 3)"
    code, message = run_plugin(host, path, "looping")
    assert code == 1 and message.startswith("WARNING: looping restarting")
    assert run_plugin(host, path, "absent") == (2, "CRITICAL: absent missing")


def test_plugin_is_unknown_without_fresh_states(engine, project, images, host):
    engine.apply(project, [spec("healthy", images["1"])])
    wait_for(lambda: engine.status(project)["healthy"].state == ContainerState.RUNNING)
    missing = host.path(recorded_states.state_file(project))
    code, message = run_plugin(host, missing, "healthy")
    assert code == 3 and message.startswith("UNKNOWN: no state file")

    stale = recorded_states.record_container_states(
        host, project, engine.status(project), now=time.time() - 1000
    )
    code, message = run_plugin(host, stale, "healthy")
    assert code == 3 and re.search(r"recorded 10\d\d s ago \(max 900 s\)", message)
    assert run_plugin(host, stale, "healthy", "--max-age", "2000") == (0, "OK: healthy running")

    os.chmod(stale, 0o600)  # as if a root-only file: the check says so instead of failing
    if unprivileged():
        code, message = run_plugin(host, stale, "healthy")
        assert code == 3 and "permission denied" in message
