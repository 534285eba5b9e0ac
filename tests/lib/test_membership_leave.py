"""Feature: a departing unit takes itself out of Cassandra and RabbitMQ, when that is safe."""

from __future__ import annotations

from test_membership_removal import CONTROLLER, address, hostname, unit

from contrail_common.containers import ExecResult, ExecTimeoutError
from contrail_common.membership import (
    MembershipAppData,
    RabbitmqTarget,
    Targets,
    UnitFacts,
    lead,
)
from contrail_common.membership.leave import leave, refusal
from contrail_common.membership.testing import FakeCluster


def formed(cluster: FakeCluster, *numbers: int, min_size: int = 1) -> MembershipAppData:
    present = {}
    for n in numbers:
        cluster.join(address(n), hostname(n))
        present[unit(n)] = UnitFacts(address(n), hostname=hostname(n))
    return lead(MembershipAppData(), present, min_size, CONTROLLER, cluster).data


def test_a_unit_leaving_five_decommissions_and_leaves_rabbitmq_then_the_leader_only_looks():
    """GIVEN five members and min-cluster-size 3 WHEN unit 4 leaves THEN it decommissions its
    Cassandra node and resets its RabbitMQ node, and the leader's removal issues nothing."""
    cluster = FakeCluster()
    data = formed(cluster, 0, 1, 2, 3, 4, min_size=3)
    departure = leave(data, unit(4), 3, CONTROLLER, cluster.on(address(4), hostname(4)))
    assert departure.refused == "" and departure.failed == []
    assert departure.done == [
        "nodetool decommission in configdb-cassandra",
        "rabbitmqctl stop_app in configdb-rabbitmq",
        "rabbitmqctl reset in configdb-rabbitmq",
    ]
    assert address(4) not in cluster.ring and f"contrail@{hostname(4)}" not in cluster.rabbit
    present = {unit(n): UnitFacts(address(n), hostname=hostname(n)) for n in range(4)}
    led = lead(data, present, 3, CONTROLLER, cluster)
    assert [m.unit for m in led.data.members] == [unit(n) for n in range(4)]
    assert cluster.issued("removenode") == [] and cluster.issued("forget_cluster_node") == []


def test_a_unit_leaving_three_at_min_cluster_size_3_runs_nothing():
    cluster = FakeCluster()
    data = formed(cluster, 0, 1, 2, min_size=3)
    cluster.calls.clear()
    departure = leave(data, unit(2), 3, CONTROLLER, cluster.on(address(2), hostname(2)))
    assert departure.refused == (
        "2 member(s) would stay, fewer than min-cluster-size 3; the leader holds the removal "
        "until a unit is added"
    )
    assert cluster.calls == [] and departure.done == []


def test_a_unit_leaving_during_another_removal_runs_nothing():
    cluster = FakeCluster()
    data = formed(cluster, 0, 1, 2, 3)
    cluster.lose(address(1), hostname(1))
    cluster.slow_removenode = True
    present = {unit(n): UnitFacts(address(n), hostname=hostname(n)) for n in (0, 2, 3)}
    data = lead(data, present, 1, CONTROLLER, cluster).data
    assert data.removals
    assert refusal(data, unit(3), 1) == (
        f"the removal of {unit(1)} is in progress; the leader removes this unit after it"
    )


def test_a_unit_that_never_became_a_member_has_nothing_to_leave():
    assert refusal(MembershipAppData(), unit(0), 1) == "it is not a member yet"


def test_a_failed_decommission_still_leaves_rabbitmq_and_says_what_failed():
    cluster = FakeCluster()
    data = formed(cluster, 0, 1, 2)
    own = cluster.on(address(2), hostname(2))

    def slow_decommission(container, argv, timeout):
        if "decommission" in argv:
            raise ExecTimeoutError(container, tuple(argv), timeout, "")
        return own(container, argv, timeout)

    departure = leave(data, unit(2), 1, CONTROLLER, slow_decommission)
    assert departure.failed == [
        "nodetool decommission in configdb-cassandra: still running after 1800s"
    ]
    assert departure.done == [
        "rabbitmqctl stop_app in configdb-rabbitmq",
        "rabbitmqctl reset in configdb-rabbitmq",
    ]


def test_a_refused_reset_is_reported_with_its_output():
    cluster = FakeCluster()
    data = formed(cluster, 0, 1)

    def refusing(container, argv, timeout):
        if "reset" in argv:
            return ExecResult(69, "Error: Mnesia is still running\n")
        return cluster.on(address(1), hostname(1))(container, argv, timeout)

    departure = leave(data, unit(1), 1, Targets(rabbitmq=RabbitmqTarget("rabbit")), refusing)
    assert departure.failed == [
        "rabbitmqctl reset in rabbit exited 69: Error: Mnesia is still running"
    ]
