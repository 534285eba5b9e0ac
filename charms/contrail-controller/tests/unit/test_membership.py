"""Feature: the controller's cluster grows and shrinks with stable member ids (ops.testing).

Every unit runs its real charm code (`contrail_common.testing_peers.Peers`: one host tree and
engine each, the peer databags carried between them), against a stand-in Cassandra ring and
RabbitMQ cluster that records every command run in a container. After each step every unit's
rendered env files are read back: its ZooKeeper id as the image counts it (its own address's
position in the zookeeper container's ZOOKEEPER_NODES), ZOO_SERVERS, the Cassandra seeds, the
RabbitMQ nodes and the client lists, and each destructive command is counted.
"""

from __future__ import annotations

import pytest
from charm import ContrailControllerCharm
from conftest import TAG, VERSION, analytics, image_names, kubernetes
from ops import testing

from contrail_common.containers import ExecResult
from contrail_common.membership import PLACEHOLDER
from contrail_common.membership.testing import host_id
from contrail_common.testing_peers import Peers, unit_hostname
from contrail_common.testing_peers import unit_address as address

APP = "contrail-controller"


@pytest.fixture
def peers(tmp_path) -> Peers:
    return Peers(
        ContrailControllerCharm,
        "controller-cluster",
        tmp_path,
        image_names(),
        VERSION,
        {"image-tag": TAG, "min-cluster-size": 1},
        relations=lambda: [analytics(), kubernetes()],
    )


def zookeeper_id(peers: Peers, n: int) -> int:
    """The myid the zookeeper entrypoint derives: the 1-based position of the unit's own
    address in its ZOOKEEPER_NODES, placeholders counted."""
    nodes = peers.env(n, "configdb-zookeeper")["ZOOKEEPER_NODES"].split(",")
    return nodes.index(address(n)) + 1


def assert_rendered(peers: Peers, ids: dict[int, int], serving: dict[int, int] | None = None):
    """Every unit renders the same lists: members by id (`ids`: unit -> id), with `serving`
    (default: the same) still in the services' own lists (departed, not yet removed)."""
    serving = ids if serving is None else serving
    by_id = {member: address(n) for n, member in serving.items()}
    ordinal = [by_id.get(i, PLACEHOLDER) for i in range(1, max(by_id) + 1)]
    in_service = [by_id[i] for i in sorted(by_id)]
    clients = [address(n) for n, _ in sorted(ids.items(), key=lambda item: item[1])]
    for n in ids:
        zookeeper = peers.env(n, "configdb-zookeeper")
        assert zookeeper["ZOOKEEPER_NODES"].split(",") == ordinal, n
        assert zookeeper["ZOO_SERVERS"] == " ".join(
            f"server.{i}={by_id[i]}:2888:3888" for i in sorted(by_id)
        ), n
        assert zookeeper_id(peers, n) == ids[n], n
        cassandra = peers.env(n, "configdb-cassandra")
        assert cassandra["CASSANDRA_SEEDS"].split(",") == in_service, n
        rabbitmq = peers.env(n, "configdb-rabbitmq")
        assert rabbitmq["RABBITMQ_NODES"].split(",") == in_service, n
        api = peers.env(n, "config-api")
        assert api["CONFIG_NODES"].split(",") == clients, n
        assert api["ZOOKEEPER_NODES"].split(",") == clients, n
    assert peers.member_ids() == {f"{APP}/{n}": serving[n] for n in serving}


def destructive(peers: Peers) -> list[tuple[str, ...]]:
    cluster = peers.cluster
    return [
        *cluster.issued("removenode"), *cluster.issued("forget_cluster_node"),
        *cluster.issued("decommission"), *cluster.issued("reset"),
    ]  # fmt: skip


def removenodes(peers: Peers, n: int) -> list[tuple[str, ...]]:
    return peers.cluster.issued("removenode", host_id(address(n)))


def forgets(peers: Peers, n: int) -> list[tuple[str, ...]]:
    return peers.cluster.issued("forget_cluster_node", f"contrail@{unit_hostname(n)}")


def messages(peers: Peers) -> dict[int, str]:
    return {n: f"{s.name}: {s.message}" for n, s in peers.statuses().items()}


def all_active(peers: Peers) -> bool:
    return all(s.name == "active" for s in peers.statuses().values())


def test_scale_out_1_to_3_to_5_appends_ids_and_keeps_every_survivors(peers):
    peers.add(1)
    assert_rendered(peers, {0: 1})
    peers.add(2)
    assert_rendered(peers, {0: 1, 1: 2, 2: 3})
    peers.add(2)
    assert_rendered(peers, {n: n + 1 for n in range(5)})
    assert all_active(peers), messages(peers)
    assert peers.cluster.calls == []


def test_scale_in_5_to_3_removes_each_member_once_and_keeps_the_survivors_ids(peers):
    """GIVEN five units (min-cluster-size 3) WHEN unit 4 is removed (it leaves cleanly) and
    unit 1's machine is lost THEN unit 4 decommissions itself and resets its RabbitMQ node, the
    leader runs removenode and forget_cluster_node once for unit 1, and the three survivors keep
    ids 1, 3, 4 with a placeholder at 2."""
    peers.configure(**{"min-cluster-size": 3})
    peers.add(5)
    peers.remove(4)
    assert peers.cluster.issued("decommission") == [("nodetool", "decommission", "-p", "7201")]
    assert peers.cluster.issued("reset") == [("rabbitmqctl", "reset")]
    assert_rendered(peers, {0: 1, 1: 2, 2: 3, 3: 4})
    peers.lose(1)
    peers.update_status()
    assert_rendered(peers, {0: 1, 2: 3, 3: 4})
    assert peers.env(0, "configdb-zookeeper")["ZOOKEEPER_NODES"].split(",")[1] == PLACEHOLDER
    assert len(removenodes(peers, 1)) == 1 and len(forgets(peers, 1)) == 1
    assert removenodes(peers, 4) == [] and forgets(peers, 4) == []
    assert all_active(peers), messages(peers)


def test_scale_in_3_to_1_is_refused_at_min_cluster_size_3(peers):
    """GIVEN three units and min-cluster-size 3 WHEN one is removed and another's machine is
    lost THEN nothing is run in any container, every list keeps all three, and the survivor is
    Blocked naming the refusal and the way out; once a unit is added, both removals run."""
    peers.configure(**{"min-cluster-size": 3})
    peers.add(3)
    peers.remove(2)
    peers.lose(1)
    assert destructive(peers) == []
    assert_rendered(peers, {0: 1}, serving={0: 1, 1: 2, 2: 3})
    status = peers.statuses()[0]
    assert status.name == "blocked"
    assert status.message == (
        f"scale-in refused, removal of {APP}/2 (member 3), {APP}/1 (member 2) held: 1 of "
        f"min-cluster-size 3 units left: add 2 (juju add-unit {APP} -n 2) or lower "
        "min-cluster-size"
    )
    peers.add(2)
    peers.update_status()
    assert_rendered(peers, {0: 1, 3: 4, 4: 5})
    for n in (1, 2):
        assert len(removenodes(peers, n)) == 1 and len(forgets(peers, n)) == 1
    assert all_active(peers), messages(peers)


def test_a_leader_change_mid_removal_issues_nothing_twice(peers):
    peers.add(3)
    peers.cluster.slow_removenode = True
    peers.lose(2)
    assert len(removenodes(peers, 2)) == 1
    assert "removing" in peers.statuses()[0].message
    peers.elect(1)
    peers.update_status()
    assert len(removenodes(peers, 2)) == 1
    peers.cluster.finish_removals()
    peers.update_status()
    assert_rendered(peers, {0: 1, 1: 2})
    assert len(removenodes(peers, 2)) == 1 and len(forgets(peers, 2)) == 1
    assert all_active(peers), messages(peers)


def test_the_leader_removed_hands_over_and_is_removed_by_the_next(peers):
    """GIVEN three units WHEN the leader is removed THEN while leaving it changes nothing,
    leaves its services cleanly, and the next leader drops it without any command."""
    peers.add(3)
    peers.remove(0)
    assert peers.units[1].leader
    assert_rendered(peers, {1: 2, 2: 3})
    assert (
        peers.cluster.issued("removenode") == []
        and peers.cluster.issued("forget_cluster_node") == []
    )
    assert len(peers.cluster.issued("decommission")) == 1
    assert all_active(peers), messages(peers)


def test_a_unit_lost_without_a_clean_stop_is_removed_from_every_service(peers):
    peers.add(3)
    peers.lose(1)
    assert_rendered(peers, {0: 1, 2: 3})
    assert removenodes(peers, 1) == [("nodetool", "removenode", "-p", "7201", host_id(address(1)))]
    assert forgets(peers, 1) == [("rabbitmqctl", "forget_cluster_node", "contrail@juju-c0ffee-1")]
    assert all_active(peers), messages(peers)


def test_a_failed_step_blocks_until_the_operator_retries_it(peers):
    """GIVEN forget_cluster_node fails on the leader THEN the removal is Blocked naming the
    output and is not issued again on later hooks; retry-removal issues it once more."""
    peers.add(3)
    leader = peers.units[0].engine
    forget = ("rabbitmqctl", "forget_cluster_node")
    leader.script_exec(forget, ExecResult(2, "Error: unable to connect\n"), ExecResult(0, ""))
    peers.lose(2)
    peers.update_status()
    assert peers.statuses()[0].message == (
        f"removal of {APP}/2 (member 3): rabbitmq failed: rabbitmqctl forget_cluster_node "
        "contrail@juju-c0ffee-2 exited 2: Error: unable to connect"
    )
    assert [c.argv[:2] for c in leader.exec_calls].count(forget) == 1
    peers.run(
        peers.units[0], lambda ctx, state: ctx.on.action("retry-removal", params={"member": 3})
    )
    peers.settle()
    assert [c.argv[:2] for c in leader.exec_calls].count(forget) == 2
    assert_rendered(peers, {0: 1, 1: 2})
    assert all_active(peers), messages(peers)


def test_retry_removal_refuses_a_member_without_a_failed_step(peers):
    peers.add(1)
    with pytest.raises(testing.ActionFailed, match="member 7 has no failed removal step"):
        peers.run(
            peers.units[0],
            lambda ctx, state: ctx.on.action("retry-removal", params={"member": 7}),
        )


def test_the_application_status_follows_a_removal(peers):
    peers.add(3)
    peers.cluster.slow_removenode = True
    peers.lose(2)
    out = peers.run(peers.units[0], lambda ctx, state: ctx.on.update_status())
    assert out.app_status.message.startswith(f"removing {APP}/2 (member 3): cassandra issued")
    peers.cluster.finish_removals()
    peers.update_status()
    out = peers.run(peers.units[0], lambda ctx, state: ctx.on.update_status())
    assert out.app_status == testing.ActiveStatus("")
