"""Feature: reading the services' own view of the cluster, and the commands as argv lists."""

from __future__ import annotations

import json

import pytest

from contrail_common.membership import CassandraTarget, RabbitmqTarget, Targets
from contrail_common.membership.probes import rabbit_cluster, removal_running, ring
from contrail_common.membership.text import one_line

NODETOOL_STATUS = """\
Datacenter: datacenter1
=======================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address       Load       Tokens       Owns (effective)  Host ID                               Rack
UN  10.0.0.11     2.35 MiB   256          66.2%             5d8c1a8b-4a4b-4c1e-9c7a-0e6f3e9f1a11  rack1
DN  10.0.0.12     ?          256          67.1%             0B1C2D3E-AAAA-4BBB-8CCC-123456789ABC  rack1
Datacenter: dc2
===============
UL  fd00::13      1.9 KiB    256          66.7%             f0e1d2c3-b4a5-4968-8776-655443322110  rack1

Note: Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless
"""


def test_nodetool_status_rows_by_address_in_every_datacenter():
    nodes = ring(NODETOOL_STATUS)
    assert {a: (n.state, n.host_id, n.up) for a, n in nodes.items()} == {
        "10.0.0.11": ("UN", "5d8c1a8b-4a4b-4c1e-9c7a-0e6f3e9f1a11", True),
        "10.0.0.12": ("DN", "0b1c2d3e-aaaa-4bbb-8ccc-123456789abc", False),
        "fd00::13": ("UL", "f0e1d2c3-b4a5-4968-8776-655443322110", True),
    }
    assert ring("nodetool: Failed to connect to '127.0.0.1:7201'") == {}


def test_removenode_status():
    assert not removal_running("RemovalStatus: No removals in process.\n")
    assert removal_running(
        "RemovalStatus: Removing token (-9). Waiting for replication from [/10.0.0.11]"
    )


def test_rabbitmq_cluster_status_in_every_form_the_images_print():
    modern = {
        "cluster_name": "contrail@juju-1",
        "disk_nodes": ["contrail@juju-1", "contrail@juju-2"],
        "ram_nodes": ["contrail@juju-3"],
        "running_nodes": ["contrail@juju-1"],
    }
    legacy = {
        "nodes": {"disc": ["contrail@juju-1", "contrail@juju-2"], "ram": ["contrail@juju-3"]},
        "running_nodes": ["contrail@juju-1"],
    }
    for document in (modern, legacy):
        cluster = rabbit_cluster(
            "Cluster status of node contrail@juju-1 ...\n" + json.dumps(document)
        )
        assert cluster.members == {"contrail@juju-1", "contrail@juju-2", "contrail@juju-3"}
        assert cluster.running == {"contrail@juju-1"}
    term = (
        "Cluster status of node 'contrail@juju-1' ...\n"
        "[{nodes,[{disc,['contrail@juju-1','contrail@juju-2']},{ram,['contrail@juju-3']}]},\n"
        " {running_nodes,['contrail@juju-1']},\n {cluster_name,<<\"contrail@juju-1\">>},\n"
        " {partitions,[]},\n {alarms,[{'contrail@juju-1',[]}]}]"
    )
    cluster = rabbit_cluster(term)
    assert cluster.members == {"contrail@juju-1", "contrail@juju-2", "contrail@juju-3"}
    assert cluster.running == {"contrail@juju-1"}
    for bad in (
        "Error: unable to perform an operation on node",
        "[]",
        "{}",
        '{"running_nodes": []}',
    ):
        with pytest.raises(ValueError):
            rabbit_cluster(bad)


def test_commands_are_the_images_own_forms():
    cassandra = CassandraTarget("configdb-cassandra", 7201)
    assert cassandra.status() == ["nodetool", "status", "-p", "7201"]
    assert cassandra.removenode("abc") == ["nodetool", "removenode", "-p", "7201", "abc"]
    assert cassandra.removal_status() == ["nodetool", "removenode", "-p", "7201", "status"]
    assert RabbitmqTarget.cluster_status() == [
        "rabbitmqctl",
        "cluster_status",
        "--formatter",
        "json",
    ]
    assert RabbitmqTarget.forget("contrail@h") == [
        "rabbitmqctl",
        "forget_cluster_node",
        "contrail@h",
    ]
    controller = Targets(cassandra, RabbitmqTarget("configdb-rabbitmq"), zookeeper=True)
    assert controller.services() == ["cassandra", "rabbitmq", "zookeeper"]
    assert Targets().services() == []


def test_output_becomes_one_short_status_line():
    assert one_line("error:\n\tHost ID\x1b[0m  not found\n") == "error: Host ID [0m not found"
    long = one_line("x" * 500)
    assert len(long) == 200 and long.endswith("...")
