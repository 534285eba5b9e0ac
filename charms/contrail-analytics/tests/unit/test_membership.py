"""Feature: analytics scales out and in with stable Kafka broker ids (ops.testing, every unit).

A Kafka broker's id is its position in the kafka container's KAFKA_NODES, kept in its log
volume, so the list is ordinal by member id; analytics has nothing to remove members from, so a
departed member is dropped at once (unless that would go below min-cluster-size).
"""

from __future__ import annotations

import pytest
from charm import ContrailAnalyticsCharm
from conftest import TAG, VERSION, analyticsdb, controller, image_names

from contrail_common.membership import PLACEHOLDER
from contrail_common.testing_peers import Peers
from contrail_common.testing_peers import unit_address as address

APP = "contrail-analytics"


@pytest.fixture
def peers(tmp_path) -> Peers:
    return Peers(
        ContrailAnalyticsCharm,
        "analytics-cluster",
        tmp_path,
        image_names(),
        VERSION,
        {"image-tag": TAG, "min-cluster-size": 3},
        relations=lambda: [controller(), analyticsdb()],
    )


def broker_ids(peers: Peers) -> dict[int, int]:
    """Each unit's broker.id as the kafka entrypoint derives it."""
    return {
        n: peers.env(n, "alarm-kafka")["KAFKA_NODES"].split(",").index(address(n)) + 1
        for n in peers.units
    }


def test_kafka_broker_ids_never_move(peers):
    peers.add(3)
    assert broker_ids(peers) == {0: 1, 1: 2, 2: 3}
    peers.add(2)
    assert broker_ids(peers) == {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
    peers.remove(4)
    peers.lose(1)
    assert broker_ids(peers) == {0: 1, 2: 3, 3: 4}
    for n in peers.units:
        kafka = peers.env(n, "alarm-kafka")["KAFKA_NODES"].split(",")
        assert kafka == [address(0), PLACEHOLDER, address(2), address(3)]
        # Every other list is the members' addresses, without placeholders.
        assert peers.env(n, "analytics-api")["KAFKA_NODES"].split(",") == [
            address(0), address(2), address(3),
        ]  # fmt: skip
    assert peers.cluster.calls == []
    assert all(s.name == "active" for s in peers.statuses().values())
