"""Feature: the analytics database scales out and in without losing a Cassandra node's data
(ops.testing, every unit, against a stand-in ring that records every nodetool command)."""

from __future__ import annotations

import pytest
from charm import ContrailAnalyticsdbCharm
from conftest import TAG, VERSION, analytics, controller, image_names

from contrail_common.membership.testing import host_id
from contrail_common.testing_peers import Peers
from contrail_common.testing_peers import unit_address as address


@pytest.fixture
def peers(tmp_path) -> Peers:
    return Peers(
        ContrailAnalyticsdbCharm,
        "analyticsdb-cluster",
        tmp_path,
        image_names(),
        VERSION,
        {"image-tag": TAG, "min-cluster-size": 3},
        relations=lambda: [controller(), analytics()],
    )


def seeds(peers: Peers) -> dict[int, list[str]]:
    return {
        n: peers.env(n, "database-cassandra")["CASSANDRA_SEEDS"].split(",") for n in peers.units
    }


def test_scale_out_and_in_decommissions_or_removes_each_node_once(peers):
    peers.add(5)
    assert set(map(tuple, seeds(peers).values())) == {tuple(address(n) for n in range(5))}
    peers.remove(3)  # leaves cleanly: decommissions itself
    peers.lose(1)  # its machine is gone: the leader removes it from the ring
    survivors = [address(n) for n in (0, 2, 4)]
    assert seeds(peers) == {n: survivors for n in (0, 2, 4)}
    assert peers.cluster.issued("decommission") == [("nodetool", "decommission", "-p", "7200")]
    assert peers.cluster.issued("removenode") == [
        ("nodetool", "removenode", "-p", "7200", host_id(address(1)))
    ]
    assert sorted(peers.cluster.ring) == survivors
    assert all(s.name == "active" for s in peers.statuses().values())


def test_a_removal_below_min_cluster_size_is_refused(peers):
    peers.add(3)
    peers.lose(2)
    assert peers.cluster.issued("removenode") == []
    status = peers.statuses()[0]
    assert status.name == "blocked" and "scale-in refused" in status.message
    assert seeds(peers)[0] == [address(n) for n in range(3)], "the ring keeps its member"
