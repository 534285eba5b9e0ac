"""Feature: commands in containers on the in-memory engine, as the unit tests script them."""

from __future__ import annotations

import pytest

from contrail_common.containers import (
    ContainerSpec,
    EngineError,
    ExecResult,
    ExecTimeoutError,
)
from contrail_common.containers.memory_engine import ExecCall, MemoryEngine
from contrail_common.membership import (
    CassandraTarget,
    MembershipAppData,
    RabbitmqTarget,
    Targets,
    UnitFacts,
    lead,
)
from contrail_common.membership.testing import FakeCluster

IMAGE = "registry.example:5000/contrail/external-cassandra:R24.1"


@pytest.fixture
def engine() -> MemoryEngine:
    engine = MemoryEngine()
    engine.add_image(IMAGE)
    engine.pull(IMAGE)
    engine.apply("ctl-0", [ContainerSpec(name=n, image=IMAGE) for n in ("db", "mq")])
    return engine


def test_calls_are_recorded_and_answered_as_scripted(engine):
    engine.script_exec(["nodetool", "status"], ExecResult(0, "UN 10.0.0.1"), ExecResult(1, "down"))
    assert engine.exec("ctl-0", "db", ["nodetool", "status", "-p", "7201"], 30) == (
        0,
        "UN 10.0.0.1",
    )
    assert engine.exec("ctl-0", "db", ["nodetool", "status"]).exit_code == 1
    assert engine.exec("ctl-0", "db", ["nodetool", "status"]).output == "down"  # the last repeats
    assert engine.exec("ctl-0", "mq", ["rabbitmqctl", "ping"]) == (
        127,
        "rabbitmqctl: not scripted in this test\n",
    )
    assert engine.exec_calls[0] == ExecCall(
        "ctl-0", "db", ("nodetool", "status", "-p", "7201"), 30
    )
    assert [c.name for c in engine.exec_calls] == ["db", "db", "db", "mq"]


def test_a_scripted_error_is_raised(engine):
    engine.script_exec(["sleep"], ExecTimeoutError("ctl-0-db", ("sleep", "9"), 1, "partial"))
    with pytest.raises(ExecTimeoutError) as raised:
        engine.exec("ctl-0", "db", ["sleep", "9"], 1)
    assert raised.value.output == "partial"
    assert str(raised.value) == "sleep in ctl-0-db was still running after 1s"


def test_only_running_containers_of_the_project_run_commands(engine):
    with pytest.raises(EngineError, match="project ctl-0 has no container named web"):
        engine.exec("ctl-0", "web", ["true"])
    with pytest.raises(EngineError, match="project ctl-1 has no container named db"):
        engine.exec("ctl-1", "db", ["true"])
    engine.crash("ctl-0", "db", 1)
    with pytest.raises(EngineError, match="ctl-0-db is not running"):
        engine.exec("ctl-0", "db", ["true"])
    for argv in ([], ["a\0b"]):
        with pytest.raises(EngineError, match="argv must be"):
            engine.exec("ctl-0", "mq", argv)
    with pytest.raises(EngineError, match="timeout must be positive"):
        engine.exec("ctl-0", "mq", ["true"], 0)
    assert engine.exec_calls == []


def test_the_leader_removes_a_member_through_engine_exec(engine):
    """GIVEN the leader's containers on an engine and a stand-in cluster answering in them
    WHEN a member's machine is lost THEN the removal commands run in the right containers."""
    cluster = FakeCluster()
    engine.exec_handler = cluster.answer
    for n in (1, 2):
        cluster.join(f"10.0.0.{n}", f"juju-{n}")
    cluster.lose("10.0.0.2", "juju-2")
    targets = Targets(CassandraTarget("db", 7201), RabbitmqTarget("mq"), zookeeper=True)

    def run(container, argv, timeout):
        return engine.exec("ctl-0", container, argv, timeout)

    units = {f"c/{n}": UnitFacts(f"10.0.0.{n}", hostname=f"juju-{n}") for n in (1, 2)}
    first = lead(MembershipAppData(), units, 1, targets, run).data
    led = lead(first, {"c/1": units["c/1"]}, 1, targets, run).data
    assert [m.unit for m in led.members] == ["c/1"]
    assert [(c.name, c.argv[:2]) for c in engine.exec_calls] == [
        ("db", ("nodetool", "status")),
        ("db", ("nodetool", "removenode")),
        ("mq", ("rabbitmqctl", "cluster_status")),
        ("mq", ("rabbitmqctl", "forget_cluster_node")),
    ]
