"""Feature: scaling the control plane in and out without losing anything.

Each scenario runs the leader's membership pass the way the charm's hooks would (one `lead()` per
hook, the application databag carried from hook to hook and from leader to leader) against a
stand-in Cassandra ring and RabbitMQ cluster that records every command. Every scenario checks
that survivors never change id, that every destructive command is issued at most once, and what
each unit would render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import ops

from contrail_common.containers import EngineError, ExecResult
from contrail_common.membership import (
    PLACEHOLDER,
    CassandraTarget,
    MembershipAppData,
    RabbitmqTarget,
    Roster,
    Targets,
    UnitFacts,
    addresses,
    lead,
    ordinal_list,
    report,
    retry,
    zoo_servers,
)
from contrail_common.membership.steps import Runner
from contrail_common.membership.testing import FakeCluster, host_id

APP = "contrail-controller"
CONTROLLER = Targets(
    cassandra=CassandraTarget("configdb-cassandra", 7201),
    rabbitmq=RabbitmqTarget("configdb-rabbitmq"),
    zookeeper=True,
)


def unit(n: int) -> str:
    return f"{APP}/{n}"


def address(n: int) -> str:
    return f"10.0.0.{n + 10}"


def hostname(n: int) -> str:
    return f"juju-c0ffee-{n}"


def node(n: int) -> str:
    return f"contrail@{hostname(n)}"


@dataclass
class Model:
    """One application's units, their leader and its databag, and the services' own view."""

    min_size: int = 1
    targets: Targets = CONTROLLER
    cluster: FakeCluster = field(default_factory=FakeCluster)
    on_relation: set[int] = field(default_factory=set)
    leader: int = 0
    data: MembershipAppData = field(default_factory=MembershipAppData)
    hooks: int = 0
    first_ids: dict[str, int] = field(default_factory=dict)
    runner: Runner | None = None

    def add(self, *numbers: int) -> None:
        for n in numbers:
            self.on_relation.add(n)
            self.cluster.join(address(n), hostname(n))

    def lose(self, *numbers: int) -> None:
        """The machines are gone: their services are down but still members."""
        for n in numbers:
            self.on_relation.discard(n)
            self.cluster.lose(address(n), hostname(n))

    def depart_running(self, *numbers: int) -> None:
        """The units left the relation; their services have not stopped yet."""
        for n in numbers:
            self.on_relation.discard(n)

    def hook(self) -> MembershipAppData:
        assert self.leader in self.on_relation, "the leader is a unit on the relation"
        present = {
            unit(n): UnitFacts(address=address(n), hostname=hostname(n)) for n in self.on_relation
        }
        led = lead(self.data, present, self.min_size, self.targets, self.runner or self.cluster)
        self.data = led.data
        self.hooks += 1
        self._check_ids()
        return self.data

    def settle(self, limit: int = 10) -> None:
        for _ in range(limit):
            before = self.data
            if self.hook() == before:
                return
        raise AssertionError(f"membership did not settle in {limit} hooks")

    def _check_ids(self) -> None:
        for member in self.data.members:
            assert member.id is not None
            seen = self.first_ids.setdefault(member.unit, member.id)
            assert seen == member.id, f"{member.unit} changed id from {seen} to {member.id}"
        all_ids = [m.id for m in self.data.members]
        assert len(all_ids) == len(set(all_ids))

    # -- what the units render and show ----------------------------------------------------

    def ids(self) -> dict[str, int]:
        return {m.unit: m.id or 0 for m in self.data.members}

    def rendered(self) -> dict[str, object]:
        roster = Roster(self.data)
        return {
            "ZOOKEEPER_NODES": ordinal_list(roster.members),
            "ZOO_SERVERS": zoo_servers(roster.in_service("zookeeper")),
            "CASSANDRA_SEEDS": addresses(roster.in_service("cassandra")),
            "RABBITMQ_NODES": addresses(roster.in_service("rabbitmq")),
            "CONFIG_NODES": addresses(roster.present),
        }

    def status(self) -> tuple[list[str], list[str]]:
        found = report(self.data, self.min_size, APP)
        return [s.message for s in found.problems], found.notes

    def destructive(self) -> list[tuple[str, ...]]:
        return self.cluster.issued("removenode") + self.cluster.issued("forget_cluster_node")


def removenodes(model: Model, n: int) -> list[tuple[str, ...]]:
    return model.cluster.issued("removenode", host_id(address(n)))


def forgets(model: Model, n: int) -> list[tuple[str, ...]]:
    return model.cluster.issued("forget_cluster_node", node(n))


def test_scale_out_1_to_3_to_5_keeps_ids_and_issues_nothing():
    """GIVEN one unit WHEN two, then two more units join THEN they get ids 2, 3, then 4, 5,
    the first keeps 1, every list grows at the end, and no command runs in any container."""
    model = Model()
    model.add(0)
    model.settle()
    assert model.ids() == {unit(0): 1}
    model.add(1, 2)
    model.settle()
    assert model.ids() == {unit(0): 1, unit(1): 2, unit(2): 3}
    model.add(3, 4)
    model.settle()
    assert model.ids() == {unit(n): n + 1 for n in range(5)}
    rendered = model.rendered()
    assert rendered["ZOOKEEPER_NODES"] == [address(n) for n in range(5)]
    assert rendered["ZOO_SERVERS"] == " ".join(
        f"server.{n + 1}={address(n)}:2888:3888" for n in range(5)
    )
    assert rendered["CASSANDRA_SEEDS"] == rendered["RABBITMQ_NODES"] == rendered["CONFIG_NODES"]
    assert model.cluster.calls == []
    assert model.status() == ([], [])


def test_scale_in_5_to_3_removes_one_member_at_a_time():
    """GIVEN five members (min-cluster-size 3) WHEN unit 1 leaves while its services still run
    and unit 3's machine is lost THEN the removal of unit 1 waits for them to stop, unit 3's is
    held behind it (Blocked), and once unit 1 is down both run: removenode and
    forget_cluster_node once each, ZooKeeper's list without them, ids 1, 3, 5 left in place."""
    model = Model(min_size=3)
    model.add(0, 1, 2, 3, 4)
    model.settle()
    before = model.rendered()

    model.depart_running(1)
    model.lose(3)
    model.settle()
    problems, notes = model.status()
    assert notes == [
        f"removing {unit(1)} (member 2): cassandra pending (waiting for {address(1)} to stop "
        "(Cassandra: UN)), rabbitmq pending, zookeeper pending"
    ]
    assert problems == [
        f"scale-in of {unit(3)} (member 4) held: the removal of {unit(1)} (member 2) is in "
        "progress; it starts once that is complete"
    ]
    assert model.destructive() == []
    assert model.rendered()["ZOO_SERVERS"] == before["ZOO_SERVERS"]  # nothing re-created yet

    model.cluster.lose(address(1), hostname(1))  # its containers stopped
    model.settle()
    assert model.ids() == {unit(0): 1, unit(2): 3, unit(4): 5}
    for n in (1, 3):
        assert len(removenodes(model, n)) == 1 and len(forgets(model, n)) == 1
    assert len(model.destructive()) == 4
    rendered = model.rendered()
    assert rendered["ZOOKEEPER_NODES"] == [
        address(0), PLACEHOLDER, address(2), PLACEHOLDER, address(4),
    ]  # fmt: skip
    assert rendered["ZOO_SERVERS"] == (
        f"server.1={address(0)}:2888:3888 server.3={address(2)}:2888:3888 "
        f"server.5={address(4)}:2888:3888"
    )
    assert rendered["CASSANDRA_SEEDS"] == [address(0), address(2), address(4)]
    assert rendered["RABBITMQ_NODES"] == [address(0), address(2), address(4)]
    assert model.status() == ([], [])
    assert sorted(model.cluster.ring) == [address(0), address(2), address(4)]


def test_scale_in_3_to_1_is_refused_while_min_cluster_size_is_3():
    """GIVEN three members and min-cluster-size 3 WHEN two machines are lost THEN nothing is
    run at all, the lists keep all three members, and status says why and what to do; once
    min-cluster-size is 1 the two removals run one after the other."""
    model = Model(min_size=3)
    model.add(0, 1, 2)
    model.settle()
    before = model.rendered()
    model.lose(1, 2)
    model.settle()
    assert model.cluster.calls == []
    assert model.rendered() == {**before, "CONFIG_NODES": [address(0)]}
    assert model.status() == (
        [
            f"scale-in refused, removal of {unit(1)} (member 2), {unit(2)} (member 3) held: "
            f"1 of min-cluster-size 3 units left: add 2 (juju add-unit {APP} -n 2) or lower "
            "min-cluster-size"
        ],
        [],
    )

    model.min_size = 1
    model.settle()
    assert model.ids() == {unit(0): 1}
    for n in (1, 2):
        assert len(removenodes(model, n)) == 1 and len(forgets(model, n)) == 1
    assert model.rendered()["ZOO_SERVERS"] == f"server.1={address(0)}:2888:3888"


def test_a_leader_change_mid_removal_issues_nothing_twice():
    """GIVEN a removenode that outlives its timeout (Cassandra goes on removing) WHEN leadership
    moves to another unit THEN the new leader only follows `removenode status`, and once the
    node is gone it goes on with RabbitMQ and ZooKeeper: every command issued once."""
    model = Model()
    model.add(0, 1, 2)
    model.settle()
    model.cluster.slow_removenode = True
    model.lose(2)
    model.hook()
    step = model.data.removals[0].steps[0]
    assert (step.service, step.state) == ("cassandra", "issued")
    assert len(removenodes(model, 2)) == 1

    model.leader = 1
    model.settle()
    assert model.data.removals[0].steps[0].state == "issued"
    assert "in progress" in model.status()[1][0]
    assert len(removenodes(model, 2)) == 1

    model.cluster.finish_removals()
    model.settle()
    assert model.ids() == {unit(0): 1, unit(1): 2}
    assert len(removenodes(model, 2)) == 1 and len(forgets(model, 2)) == 1


def test_a_leader_lost_mid_removal_hands_over_to_the_next_leader():
    """GIVEN the leader started removing unit 2 WHEN the leader's own machine is lost too
    THEN the next leader finishes unit 2's removal, then removes the old leader."""
    model = Model()
    model.add(0, 1, 2)
    model.settle()
    model.cluster.slow_removenode = True
    model.lose(2)
    model.hook()
    model.lose(0)
    model.leader = 1
    model.cluster.slow_removenode = False
    model.cluster.finish_removals()
    model.settle()
    assert model.ids() == {unit(1): 2}
    for n in (0, 2):
        assert len(removenodes(model, n)) == 1 and len(forgets(model, n)) == 1
    assert model.rendered()["ZOOKEEPER_NODES"] == [PLACEHOLDER, address(1)]


def test_a_unit_that_left_cleanly_needs_no_command():
    """GIVEN a unit that decommissioned itself and left RabbitMQ before going THEN the leader
    only looks: no removenode, no forget_cluster_node, and the member is dropped."""
    model = Model()
    model.add(0, 1, 2)
    model.settle()
    model.on_relation.discard(1)
    model.cluster.leave_cleanly(address(1), hostname(1))
    model.settle()
    assert model.ids() == {unit(0): 1, unit(2): 3}
    assert model.destructive() == []
    assert {argv[:2] for _, argv in model.cluster.calls} == {
        ("nodetool", "status"),
        ("rabbitmqctl", "cluster_status"),
    }


def test_a_unit_lost_without_a_clean_stop_is_removed_from_every_service():
    model = Model()
    model.add(0, 1, 2)
    model.settle()
    model.lose(1)
    model.settle()
    assert removenodes(model, 1) == [("nodetool", "removenode", "-p", "7201", host_id(address(1)))]
    assert forgets(model, 1) == [("rabbitmqctl", "forget_cluster_node", node(1))]
    assert [c for c, _ in model.cluster.calls] == [
        "configdb-cassandra", "configdb-cassandra", "configdb-rabbitmq", "configdb-rabbitmq",
    ]  # fmt: skip


def test_a_failed_step_blocks_until_the_operator_retries_it():
    """GIVEN forget_cluster_node fails THEN the removal is Blocked naming the output, later hooks
    do not issue it again, and after `retry` it is issued once more and completes."""
    model = Model()
    model.add(0, 1, 2)
    model.settle()
    failures = {"left": 1}

    def flaky(container: str, argv: Sequence[str], timeout: float) -> ExecResult:
        if "forget_cluster_node" in argv and failures["left"]:
            failures["left"] -= 1
            model.cluster.calls.append((container, tuple(argv)))
            return ExecResult(2, "Error: unable to connect to node\n")
        return model.cluster(container, argv, timeout)

    model.runner = flaky
    model.lose(2)
    model.settle()
    assert model.status()[0] == [
        f"removal of {unit(2)} (member 3): rabbitmq failed: rabbitmqctl forget_cluster_node "
        f"{node(2)} exited 2: Error: unable to connect to node"
    ]
    assert len(forgets(model, 2)) == 1
    model.data = model.data.model_copy(update={"removals": retry(model.data.removals, 3)})
    model.settle()
    assert len(forgets(model, 2)) == 2 and len(removenodes(model, 2)) == 1
    assert model.ids() == {unit(0): 1, unit(1): 2}


def test_a_member_without_a_host_name_fails_with_what_to_run():
    model = Model(targets=Targets(rabbitmq=RabbitmqTarget("configdb-rabbitmq")))
    model.add(0, 1)
    model.settle()
    stripped = [m.model_copy(update={"hostname": None}) for m in model.data.members]
    model.data = model.data.model_copy(update={"members": stripped})
    model.lose(1)
    model.hook()
    problems, _ = model.status()
    assert problems == [
        f"removal of {unit(1)} (member 2): rabbitmq failed: {unit(1)} never published its host "
        "name, so its RabbitMQ node is unknown: run rabbitmqctl forget_cluster_node "
        "contrail@<its host> in configdb-rabbitmq"
    ]
    assert model.destructive() == []


def test_a_probe_that_cannot_run_waits_and_issues_nothing():
    model = Model()
    model.add(0, 1)
    model.settle()

    def missing(container: str, argv: Sequence[str], timeout: float) -> ExecResult:
        raise EngineError(f"project contrail-controller-0 has no container named {container}")

    model.runner = missing
    model.lose(1)
    model.settle()
    step = model.data.removals[0].steps[0]
    assert step.state == "pending"
    assert step.detail == (
        "cannot run nodetool status in configdb-cassandra: project contrail-controller-0 has "
        "no container named configdb-cassandra"
    )


def test_a_departed_unit_that_returns_before_anything_ran_is_kept():
    model = Model()
    model.add(0, 1)
    model.settle()
    model.depart_running(1)
    model.hook()
    assert [r.member for r in model.data.removals] == [2]
    model.on_relation.add(1)
    model.settle()
    assert model.data.removals == [] and model.ids() == {unit(0): 1, unit(1): 2}
    assert not any(m.departed for m in model.data.members)


def test_a_unit_joining_during_a_removal_gets_a_fresh_id():
    model = Model()
    model.add(0, 1, 2)
    model.settle()
    model.depart_running(2)
    model.add(3)
    model.settle()
    assert model.ids() == {unit(0): 1, unit(1): 2, unit(2): 3, unit(3): 4}
    model.cluster.lose(address(2), hostname(2))
    model.settle()
    assert model.ids() == {unit(0): 1, unit(1): 2, unit(3): 4}
    assert model.rendered()["ZOOKEEPER_NODES"] == [address(0), address(1), PLACEHOLDER, address(3)]


def test_a_dying_leader_changes_nothing():
    """GIVEN the leader is itself being removed (it sees every other unit depart) THEN its pass
    leaves the data as it was, for the next leader."""
    model = Model()
    model.add(0, 1, 2)
    model.settle()
    data = model.data
    led = lead(data, {unit(0): None}, 1, CONTROLLER, model.cluster, dying=True)
    assert led.data is data and model.cluster.calls == []


def test_analyticsdb_removes_from_cassandra_only_and_analytics_from_nothing():
    db = Model(targets=Targets(cassandra=CassandraTarget("database-cassandra", 7200)))
    db.add(0, 1)
    db.settle()
    db.lose(1)
    db.settle()
    assert db.cluster.issued("removenode") == [
        ("nodetool", "removenode", "-p", "7200", host_id(address(1)))
    ]
    assert db.cluster.issued("forget_cluster_node") == []

    analytics = Model(targets=Targets())
    analytics.add(0, 1, 2)
    analytics.settle()
    analytics.lose(0)
    analytics.leader = 1
    analytics.settle()
    assert analytics.cluster.calls == []
    # Kafka's broker ids stay where they were: 2 and 3 at their places.
    assert analytics.rendered()["ZOOKEEPER_NODES"] == [PLACEHOLDER, address(1), address(2)]


def test_status_types():
    model = Model(min_size=2)
    model.add(0, 1)
    model.settle()
    model.lose(1)
    model.settle()
    found = report(model.data, model.min_size, APP)
    assert [type(s) for s in found.problems] == [ops.BlockedStatus]
