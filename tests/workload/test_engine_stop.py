"""The stop signal against real dockerd and containerd (each test on both).

A stand-in for the vRouter agent records which signal ended it: an ordinary re-create sends
the signal the container was created with (SIGTERM, which keeps the agent's data plane), and
`stop()` the one it is given (SIGQUIT, which tears the data plane down for an upgrade).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_engines import wait_for

from contrail_common.containers import ContainerSpec, ContainerState, Mount
from contrail_common.upgrade import facts

pytestmark = pytest.mark.workload

# Records each start and the signal that ended it; `wait` returns at once on a trapped signal,
# where a foreground sleep would delay the trap until it ends.
STAND_IN = """
record() { sleep {TEARDOWN}; echo "$1" >> /signals/received; exit 0; }
trap 'record SIGQUIT' QUIT
trap 'record SIGTERM' TERM
{IGNORE}
echo started >> /signals/starts
while true; do sleep 1 & wait $!; done
"""


def agent(
    image: str, signals: Path, ignore: str = "", teardown: int = 0, **fields
) -> ContainerSpec:
    """The stand-in; `teardown`: seconds its handler takes (the agent's takes up to 120)."""
    script = STAND_IN.replace("{IGNORE}", f"trap '' {ignore}" if ignore else "")
    script = script.replace("{TEARDOWN}", str(teardown))
    return ContainerSpec(
        name="vrouter-agent",
        image=image,
        command=("sh", "-c", script),
        mounts=(Mount(source=str(signals), target="/signals"),),
        **fields,
    )


def started(signals: Path, times: int = 1) -> bool:
    starts = signals / "starts"
    return starts.exists() and len(starts.read_text().split()) >= times


def received(signals: Path) -> list[str]:
    path = signals / "received"
    return path.read_text().split() if path.exists() else []


def test_a_re_create_sends_sigterm_and_an_upgrade_stop_sigquit(engine, project, images, host_dir):
    engine.apply(project, [agent(images["1"], host_dir)])
    assert wait_for(lambda: started(host_dir))

    # An ordinary re-create (here a new image): the creation's signal, SIGTERM.
    engine.apply(project, [agent(images["2"], host_dir)])
    assert received(host_dir) == [facts.AGENT_RESTART_SIGNAL] == ["SIGTERM"]
    assert wait_for(lambda: started(host_dir, 2))

    # The upgrade's stop: SIGQUIT, and the container is gone, not restarted.
    began = time.monotonic()
    assert engine.stop(project, "vrouter-agent", facts.AGENT_QUIT_SIGNAL, facts.AGENT_QUIT_TIMEOUT)
    assert time.monotonic() - began < 30  # the trap exits at once; no wait for the timeout
    assert received(host_dir) == ["SIGTERM", "SIGQUIT"]
    time.sleep(5)  # longer than the test containerd's restart monitor interval (2 s)
    assert engine.status(project) == {}
    assert len((host_dir / "starts").read_text().split()) == 2

    # The next apply creates it again.
    assert engine.apply(project, [agent(images["2"], host_dir)]).created == ["vrouter-agent"]
    assert wait_for(lambda: started(host_dir, 3))
    assert engine.status(project)["vrouter-agent"].state == ContainerState.RUNNING


def test_a_container_that_ignores_the_signal_is_killed_after_the_timeout(
    engine, project, images, host_dir
):
    engine.apply(project, [agent(images["1"], host_dir, ignore="QUIT")])
    assert wait_for(lambda: started(host_dir))
    began = time.monotonic()
    assert engine.stop(project, "vrouter-agent", "SIGQUIT", 2)
    took = time.monotonic() - began
    assert 2 <= took < 30, took
    assert received(host_dir) == []
    assert engine.status(project) == {}


def test_a_slow_teardown_is_waited_for(engine, project, images, host_dir):
    """Nothing kills the container before its timeout: on containerd the restart monitor
    would, if the container were still labelled for it (its pass runs every 2 s here)."""
    engine.apply(project, [agent(images["1"], host_dir, teardown=6)])
    assert wait_for(lambda: started(host_dir))
    began = time.monotonic()
    assert engine.stop(project, "vrouter-agent", "SIGQUIT", 60)
    assert 6 <= time.monotonic() - began < 40
    assert received(host_dir) == ["SIGQUIT"]


def test_stop_with_the_creation_signal_and_of_a_missing_container(
    engine, project, images, host_dir
):
    engine.apply(project, [agent(images["1"], host_dir, stop_signal="SIGQUIT", stop_timeout=120)])
    assert wait_for(lambda: started(host_dir))
    assert engine.stop(project, "vrouter-agent", "SIGQUIT", 120)
    assert received(host_dir) == ["SIGQUIT"]
    assert not engine.stop(project, "vrouter-agent", "SIGQUIT", 120)
