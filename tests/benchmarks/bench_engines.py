"""Engine benchmark (not a test): 20 containers on each real engine.

Prints, per engine, the time of a first apply, of an unchanged re-apply (and the engine reads
and writes it made; writes must be zero), of one `status()`, and of removing the project; and
the ratio of the idle re-apply and of status to the first apply, all measured in this one run.

    tox -e bench [-- --containers N --repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workload"))

import hostenv
from testimages import push_test_images

from contrail_common.containers import (
    ContainerEngine,
    ContainerSpec,
    RegistryCredentials,
)
from contrail_common.containers.containerd_engine import ContainerdEngine
from contrail_common.containers.docker_engine import DockerEngine


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def bench(engine: ContainerEngine, image: str, count: int, repeat: int) -> dict[str, float]:
    specs = [
        ContainerSpec(
            name=f"svc{i:02d}",
            image=image,
            command=("sleep", "3600"),
            env={"INDEX": str(i)},
            labels={"net.juniper.contrail": "bench"},
            stop_signal="SIGKILL",
        )
        for i in range(count)
    ]
    project = "bench"
    engine.remove_project(project)
    first, report = timed(engine.apply, project, specs)
    assert len(report.created) == count  # type: ignore[attr-defined]
    idle_times, status_times, idle_reads, idle_writes = [], [], [], []
    for _ in range(repeat):
        reads, writes = engine.io.reads, engine.io.writes
        seconds, report = timed(engine.apply, project, specs)
        idle_times.append(seconds)
        idle_reads.append(engine.io.reads - reads)
        idle_writes.append(engine.io.writes - writes)
        assert len(report.unchanged) == count  # type: ignore[attr-defined]
        seconds, states = timed(engine.status, project)
        status_times.append(seconds)
        assert all(s.healthy for s in states.values())  # type: ignore[attr-defined]
    removal, _ = timed(engine.remove_project, project)
    return {
        "first": first,
        "idle": statistics.median(idle_times),
        "idle_reads": max(idle_reads),
        "idle_writes": max(idle_writes),
        "status": statistics.median(status_times),
        "remove": removal,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--containers", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()

    services = hostenv.start()
    try:
        credentials = RegistryCredentials(services.registry_user, services.registry_password)
        image = push_test_images(services, credentials)["1"]
        scratch = Path(tempfile.mkdtemp(prefix="bench-"))
        engines: list[ContainerEngine] = [
            DockerEngine(base_url=services.docker_url),
            ContainerdEngine(
                socket=services.containerd_socket,
                namespace=services.containerd_namespace,
                state_dir=scratch / "state",
                log_dir=scratch / "logs",
                volume_dir=scratch / "volumes",
                logrotate_conf=None,
            ),
        ]
        print(f"{options.containers} containers, median of {options.repeat} idle re-applies")
        header = f"{'engine':<11}{'first apply':>13}{'idle apply':>12}"
        header += f"{'idle reads':>12}{'idle writes':>13}"
        print(header + f"{'status':>10}{'remove':>10}{'idle/first':>12}{'status/first':>14}")
        for engine in engines:
            engine.pull(image, credentials, plain_http=True)
            r = bench(engine, image, options.containers, options.repeat)
            print(
                f"{engine.kind:<11}{r['first']:>12.3f}s{r['idle']:>11.3f}s"
                f"{int(r['idle_reads']):>12}{int(r['idle_writes']):>13}"
                f"{r['status']:>9.3f}s{r['remove']:>9.3f}s"
                f"{r['idle'] / r['first']:>12.3f}{r['status'] / r['first']:>14.3f}"
            )
    finally:
        hostenv.stop(services.rundir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
