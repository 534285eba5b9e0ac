"""The metrics exporter against real containers (each test runs on docker and containerd).

The states are recorded as the charms record them, the exporter is installed as the charms
install it, and it runs as the unit's systemd service runs it: the system python3 with
Debian's python3-prometheus-client, as an unprivileged user, scraped over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import signal
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_engines import spec, wait_for
from test_nagios_plugin import host, unprivileged  # noqa: F401 - the shared scratch host

from contrail_common.containers import ContainerState, RestartPolicy
from contrail_common.monitoring import cos
from contrail_common.monitoring import states as recorded_states
from contrail_common.testing import RecordingRunner, free_port, scrape_metrics

pytestmark = pytest.mark.workload


def up_by_container(text: str) -> dict[str, float]:
    return {
        sample.labels["container"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "contrail_container_up"
    }


def test_exporter_reports_running_exited_and_restarting_containers(engine, project, images, host):  # noqa: F811
    engine.apply(
        project,
        [
            spec("healthy", images["1"]),
            spec("stopped", images["1"], restart=RestartPolicy.NO, command=("sh", "-c", "exit 3")),
            spec("looping", images["1"], command=("sh", "-c", "sleep 0.2; exit 5")),
        ],
    )
    states = wait_for(
        lambda: (
            (s := engine.status(project, ["healthy", "stopped", "looping"]))["looping"].state
            == ContainerState.RESTARTING
            and s["stopped"].state == ContainerState.EXITED
            and s
        )
    )
    path = recorded_states.record_container_states(host, project, states)
    service = cos.ExporterService(host, "probe/0", project, RecordingRunner())
    service._install_sources()  # the files `ensure` installs, without systemd
    exporter = host.path(cos.EXPORTER_DIR) / "contrail_exporter.py"
    port = free_port()
    process = subprocess.Popen(
        [cos.SYSTEM_PYTHON, "-E", "-s", str(exporter), "--listen", f"127.0.0.1:{port}",
         "--state-file", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/",
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, **unprivileged(),
    )  # fmt: skip
    try:
        first = scrape_metrics(port, process)
        # The charm's next status pass records the recovery; the next scrape shows it.
        engine.apply(project, [spec("healthy", images["1"]), spec("stopped", images["1"])])
        recovered = wait_for(
            lambda: (
                (s := engine.status(project, ["healthy", "stopped"]))["stopped"].state
                == ContainerState.RUNNING
                and s
            )
        )
        recorded_states.record_container_states(host, project, recovered)
        second = scrape_metrics(port, process)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert up_by_container(first) == {"healthy": 1, "stopped": 0, "looping": 0}
    exit_codes = {
        s.labels["container"]: s.value
        for f in text_string_to_metric_families(first)
        for s in f.samples
        if s.name == "contrail_container_exit_code"
    }
    assert exit_codes["stopped"] == 3
    assert up_by_container(second) == {"healthy": 1, "stopped": 1}
