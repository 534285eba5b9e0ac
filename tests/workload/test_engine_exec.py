"""Commands in containers (`exec`) against real dockerd and containerd (each test on both).

The last test runs a member removal through real `exec` against stand-in `nodetool` and
`rabbitmqctl` scripts that record what they were asked and answer like the real tools.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from test_engines import spec, wait_for

from contrail_common.containers import (
    ContainerState,
    EngineError,
    ExecTimeoutError,
    Mount,
    RestartPolicy,
)
from contrail_common.membership import (
    CassandraTarget,
    MembershipAppData,
    RabbitmqTarget,
    Targets,
    UnitFacts,
    lead,
)
from contrail_common.membership.testing import host_id

pytestmark = pytest.mark.workload


def test_exit_code_and_output(engine, project, images):
    engine.apply(project, [spec("svc", images["1"])])
    result = engine.exec(project, "svc", ["sh", "-c", "echo out; echo err >&2; exit 3"], 30)
    assert result.exit_code == 3
    # stdout and stderr together; their relative order is the engine's to keep.
    assert sorted(result.output.splitlines()) == ["err", "out"]
    assert engine.exec(project, "svc", ["true"]) == (0, "")


def test_argv_reaches_the_command_as_it_is_with_the_containers_env(engine, project, images):
    engine.apply(project, [spec("svc", images["1"], env={"ROLE": "config-database"})])
    words = ["a b", "$ROLE", "*", ";", "|", "'q'"]
    assert engine.exec(project, "svc", ["echo", *words]).output == " ".join(words) + "\n"
    assert engine.exec(project, "svc", ["sh", "-c", "echo $ROLE"]).output == "config-database\n"


def test_a_command_past_its_timeout_is_killed(engine, project, images):
    engine.apply(project, [spec("svc", images["1"])])
    started = time.monotonic()
    with pytest.raises(ExecTimeoutError) as raised:
        engine.exec(project, "svc", ["sh", "-c", "echo started; exec sleep 300"], 2)
    assert time.monotonic() - started < 30
    assert raised.value.output == "started\n"
    assert "still running after 2s" in str(raised.value)

    def gone() -> bool:
        listing = engine.exec(project, "svc", ["ps", "-o", "args"]).output.splitlines()
        return not any(re.fullmatch(r"\s*sleep 300\s*", line) for line in listing)

    assert wait_for(gone, timeout=20)
    assert engine.status(project)["svc"].state == ContainerState.RUNNING


def test_a_missing_or_stopped_container_is_an_error(engine, project, images):
    engine.apply(
        project,
        [spec("done", images["1"], command=("true",), restart=RestartPolicy.NO)],
    )
    with pytest.raises(EngineError, match="has no container named nobody"):
        engine.exec(project, "nobody", ["true"])
    wait_for(lambda: engine.status(project)["done"].state == ContainerState.EXITED)
    with pytest.raises(EngineError, match="not running"):
        engine.exec(project, "done", ["true"])


def test_a_command_that_cannot_start_is_an_error(engine, project, images):
    engine.apply(project, [spec("svc", images["1"])])
    with pytest.raises(
        EngineError, match=r"cannot run no-such-tool in .*executable file not found"
    ):
        engine.exec(project, "svc", ["no-such-tool", "status"])


NODETOOL = """#!/bin/sh
echo "nodetool $*" >> /stand-in/calls.log
case "$1" in
  status) cat /stand-in/ring ;;
  removenode)
    if [ "$4" = status ]; then echo "RemovalStatus: No removals in process."; exit 0; fi
    grep -q "$4" /stand-in/ring || { echo "error: Host ID not found: $4"; exit 1; }
    grep -v "$4" /stand-in/ring > /stand-in/ring.new && mv /stand-in/ring.new /stand-in/ring ;;
  *) exit 2 ;;
esac
"""

RABBITMQCTL = """#!/bin/sh
echo "rabbitmqctl $*" >> /stand-in/calls.log
case "$1" in
  cluster_status) cat /stand-in/cluster.json ;;
  forget_cluster_node)
    echo '{"disk_nodes": ["contrail@juju-1"], "running_nodes": ["contrail@juju-1"]}' \\
      > /stand-in/cluster.json ;;
  *) exit 2 ;;
esac
"""


def stand_in_dir(root: Path) -> Path:
    """Scripts standing in for the tools, and the state they answer from."""
    (root / "bin").mkdir(mode=0o755)
    for name, text in (("nodetool", NODETOOL), ("rabbitmqctl", RABBITMQCTL)):
        script = root / "bin" / name
        script.write_text(text)
        script.chmod(0o755)
    (root / "ring").write_text(
        "--  Address    Load       Tokens  Owns   Host ID                               Rack\n"
        f"UN  10.0.0.1   1.1 MiB    256     66.7%  {host_id('10.0.0.1')}  rack1\n"
        f"DN  10.0.0.2   ?          256     66.7%  {host_id('10.0.0.2')}  rack1\n"
    )
    (root / "cluster.json").write_text(
        '{"disk_nodes": ["contrail@juju-1", "contrail@juju-2"], '
        '"running_nodes": ["contrail@juju-1"]}'
    )
    (root / "calls.log").write_text("")
    return root


def test_a_member_removal_runs_each_command_once_through_real_exec(
    engine, project, images, host_dir
):
    """GIVEN the leader's Cassandra and RabbitMQ containers (stand-ins) and member 2 lost
    WHEN the leader's membership pass runs, then runs again THEN removenode and
    forget_cluster_node ran once each, in the right containers, and member 2 is gone."""
    state = stand_in_dir(host_dir)
    stand_in = {
        "mounts": (Mount(source=str(state), target="/stand-in"),),
        "env": {"PATH": "/stand-in/bin:/bin"},
    }
    engine.apply(
        project, [spec("configdb-cassandra", images["1"], **stand_in),
                  spec("configdb-rabbitmq", images["1"], **stand_in)],
    )  # fmt: skip
    targets = Targets(
        CassandraTarget("configdb-cassandra", 7201), RabbitmqTarget("configdb-rabbitmq"), True
    )

    def run(container, argv, timeout):
        return engine.exec(project, container, argv, timeout)

    units = {f"c/{n}": UnitFacts(f"10.0.0.{n}", hostname=f"juju-{n}") for n in (1, 2)}
    data = lead(MembershipAppData(), units, 1, targets, run).data
    for _ in range(2):  # the departure, then a pass with nothing left to do
        data = lead(data, {"c/1": units["c/1"]}, 1, targets, run).data
    assert [(m.unit, m.id) for m in data.members] == [("c/1", 1)]
    assert data.removals == []
    assert (state / "calls.log").read_text().splitlines() == [
        "nodetool status -p 7201",
        f"nodetool removenode -p 7201 {host_id('10.0.0.2')}",
        "rabbitmqctl cluster_status --formatter json",
        "rabbitmqctl forget_cluster_node contrail@juju-2",
    ]
