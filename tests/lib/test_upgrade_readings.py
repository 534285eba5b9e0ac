"""The database readings the upgrade relies on, against outputs as the tools print them."""

from __future__ import annotations

from typing import Optional

import pytest

from contrail_common.upgrade import health, nodetool, rabbitmq, zookeeper

# Cassandra 3.11 `nodetool -p 7201 status` on a 3-node config database, one node down, with
# the warning it prints when the keyspaces' replication differs.
NODETOOL = """\
Datacenter: datacenter1
=======================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address      Load       Tokens       Owns (effective)  Host ID                               Rack
UN  10.0.0.11    1.47 MiB   256          100.0%            0f5f3ed2-7ed0-4b47-9f5b-1cb2b2a3f0e1  rack1
UN  10.0.0.12    1.38 MiB   256          100.0%            5b0c1a4e-3f1d-4c55-9a6e-7e3c0d1f2a33  rack1
DN  10.0.0.13    1.41 MiB   256          100.0%            c3a9e1d2-1111-4f2b-8c3d-9e8f7a6b5c4d  rack1

"""
NODETOOL_JOINING_AND_STRANGER = """\
Datacenter: datacenter1
=======================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address      Load       Tokens       Owns    Host ID                               Rack
UN  10.0.0.11    1.47 MiB   256          ?       0f5f3ed2-7ed0-4b47-9f5b-1cb2b2a3f0e1  rack1
UJ  10.0.0.12    212.6 KiB  256          ?       5b0c1a4e-3f1d-4c55-9a6e-7e3c0d1f2a33  rack1
UN  10.0.0.13    1.41 MiB   256          ?       c3a9e1d2-1111-4f2b-8c3d-9e8f7a6b5c4d  rack1
DN  10.0.0.14    ?          256          ?       8d7c6b5a-2222-4e3d-9c8b-7a6f5e4d3c2b  rack1

Note: Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless
"""
MEMBERS = ["10.0.0.11", "10.0.0.12", "10.0.0.13"]

ZK_FOLLOWER = """\
Zookeeper version: 3.7.1-a2fb57c55f8e59cdd76c34b357ad5181df1258d5, built on 2022-05-07 06:45 UTC
Latency min/avg/max: 0/0.7465/12
Received: 18274
Sent: 18273
Connections: 6
Outstanding: 0
Zxid: 0x200000a3c
Mode: follower
Node count: 412
"""
ZK_LEADER = ZK_FOLLOWER.replace("Mode: follower", "Mode: leader") + (
    "Proposal sizes last/min/max: 92/36/1372\n"
)
ZK_STANDALONE = ZK_FOLLOWER.replace("Mode: follower", "Mode: standalone")
ZK_NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"
ZK_MNTR_LEADER = (
    "zk_version\t3.7.1-a2fb57c55f8e59cdd76c34b357ad5181df1258d5, built on 2022-05-07 06:45 UTC\n"
    "zk_server_state\tleader\n"
    "zk_znode_count\t412\n"
    "zk_watch_count\t37\n"
    "zk_followers\t2\n"
    "zk_synced_followers\t1\n"
    "zk_pending_syncs\t0\n"
    "zk_open_file_descriptor_count\t61\n"
)

# RabbitMQ 3.10 `rabbitmqctl cluster_status --formatter json` (trimmed of feature flags and
# listeners, which the checks do not read), node 3 stopped.
RABBIT_JSON = """\
{"alarms":[],"cluster_name":"contrail@ctl-1","disk_nodes":["contrail@ctl-1","contrail@ctl-2",\
"contrail@ctl-3"],"feature_flags":[{"desc":"Support queues of type `quorum`","name":\
"quorum_queue","stability":"stable","state":"enabled"}],"listeners":{"contrail@ctl-1":[{\
"interface":"[::]","node":"contrail@ctl-1","port":25673,"protocol":"clustering","purpose":\
"inter-node and CLI tool communication"}]},"maintenance_status":{"contrail@ctl-1":\
"not under maintenance","contrail@ctl-2":"not under maintenance"},"partitions":{},\
"ram_nodes":[],"running_nodes":["contrail@ctl-2","contrail@ctl-1"],"versions":{\
"contrail@ctl-1":{"erlang_version":"25.0.4","rabbitmq_version":"3.10.7"},"contrail@ctl-2":{\
"erlang_version":"25.0.4","rabbitmq_version":"3.10.7"}}}
"""
# RabbitMQ 3.7 (R2011) prints an Erlang term after a banner.
RABBIT_TERM = """\
Cluster status of node contrail@ctl-1 ...
[{nodes,[{disc,['contrail@ctl-1','contrail@ctl-2','contrail@ctl-3']}]},
 {running_nodes,['contrail@ctl-3','contrail@ctl-2','contrail@ctl-1']},
 {cluster_name,<<"contrail@ctl-1">>},
 {partitions,[{'contrail@ctl-3',['contrail@ctl-1']}]},
 {alarms,[{'contrail@ctl-3',[]},{'contrail@ctl-2',[]},{'contrail@ctl-1',[]}]}]
"""


# -- Cassandra -------------------------------------------------------------------------------


def test_nodetool_rows_are_read_with_their_status_state_and_host_id():
    nodes = nodetool.parse_status(NODETOOL)
    assert [(n.address, n.code) for n in nodes] == [
        ("10.0.0.11", "UN"), ("10.0.0.12", "UN"), ("10.0.0.13", "DN"),
    ]  # fmt: skip
    assert nodes[2].host_id == "c3a9e1d2-1111-4f2b-8c3d-9e8f7a6b5c4d"
    assert nodetool.ring_problems(nodes, MEMBERS) == ["10.0.0.13 is DN (Down, Normal)"]


def test_a_joining_node_and_one_no_longer_a_member_are_both_named():
    nodes = nodetool.parse_status(NODETOOL_JOINING_AND_STRANGER)
    assert nodetool.ring_problems(nodes, MEMBERS) == [
        "10.0.0.12 is UJ (Up, Joining)",
        "10.0.0.14 (DN) is in the ring but not a member",
    ]
    assert nodetool.ring_problems(nodes, [*MEMBERS, "10.0.0.15"])[-2] == (
        "10.0.0.15 is not in the ring"
    )


def test_a_nodetool_error_is_not_taken_for_an_empty_ring():
    with pytest.raises(nodetool.NodetoolError, match="Failed to connect"):
        nodetool.parse_status(
            "nodetool: Failed to connect to '127.0.0.1:7201' - ConnectException: "
            "'Connection refused (Connection refused)'.\n"
        )


# -- ZooKeeper -------------------------------------------------------------------------------


def test_srvr_answers_are_read():
    assert zookeeper.parse_srvr(ZK_FOLLOWER) == zookeeper.ZkServer(
        "follower", "3.7.1", "0x200000a3c"
    )
    assert zookeeper.parse_srvr(ZK_LEADER).mode == "leader"
    assert not zookeeper.parse_srvr(ZK_NOT_SERVING).serving


def test_a_quorum_has_one_leader_and_every_other_member_following():
    servers: dict[str, Optional[zookeeper.ZkServer]] = {
        "contrail-controller/0": zookeeper.parse_srvr(ZK_FOLLOWER),
        "contrail-controller/1": zookeeper.parse_srvr(ZK_LEADER),
        "contrail-controller/2": zookeeper.parse_srvr(ZK_FOLLOWER),
    }
    assert zookeeper.quorum_problems(servers) == []
    servers["contrail-controller/2"] = zookeeper.parse_srvr(ZK_NOT_SERVING)
    assert zookeeper.quorum_problems(servers) == [
        "contrail-controller/2: not serving (outside the quorum)"
    ]
    servers["contrail-controller/1"] = None
    assert zookeeper.quorum_problems(servers) == [
        "contrail-controller/1: no answer",
        "contrail-controller/2: not serving (outside the quorum)",
        "no leader: the ensemble has no quorum",
    ]


def test_one_member_serves_standalone():
    assert zookeeper.quorum_problems({"u/0": zookeeper.parse_srvr(ZK_STANDALONE)}) == []
    assert zookeeper.quorum_problems({"u/0": None}) == ["u/0: no answer"]


def test_mntr_of_the_leader_counts_synced_followers():
    mntr = zookeeper.parse_mntr(ZK_MNTR_LEADER)
    assert mntr["zk_server_state"] == "leader"
    assert zookeeper.leader_problems(mntr, 3) == ["1 of 2 followers synced"]
    assert zookeeper.leader_problems({**mntr, "zk_synced_followers": "2"}, 3) == []
    assert zookeeper.leader_problems({"zk_server_state": "follower"}, 3) == [
        "this server is follower, not the leader"
    ]
    assert zookeeper.parse_mntr(ZK_NOT_SERVING) == {"zk_server_state": "not serving"}


def test_an_answer_from_something_else_is_an_error():
    with pytest.raises(zookeeper.ZookeeperError):
        zookeeper.parse_srvr("srvr is not executed because it is not in the whitelist.\n")


# -- RabbitMQ --------------------------------------------------------------------------------


def test_cluster_status_json_is_read():
    cluster = rabbitmq.parse_cluster_status(RABBIT_JSON)
    assert cluster.nodes == ("contrail@ctl-1", "contrail@ctl-2", "contrail@ctl-3")
    assert cluster.running == ("contrail@ctl-2", "contrail@ctl-1")
    assert cluster.versions == {"contrail@ctl-1": "3.10.7", "contrail@ctl-2": "3.10.7"}
    assert rabbitmq.cluster_problems(cluster, 3) == ["not running: contrail@ctl-3"]


def test_the_erlang_term_of_rabbitmq_3_7_is_read_with_its_partitions():
    cluster = rabbitmq.parse_cluster_status(RABBIT_TERM)
    assert cluster.nodes == ("contrail@ctl-1", "contrail@ctl-2", "contrail@ctl-3")
    assert set(cluster.running) == set(cluster.nodes)
    assert cluster.partitions == ("contrail@ctl-3",)
    assert rabbitmq.cluster_problems(cluster, 3) == ["network partition seen by contrail@ctl-3"]
    assert rabbitmq.cluster_problems(cluster, 4) == [
        "3 nodes clustered, 4 expected",
        "network partition seen by contrail@ctl-3",
    ]


def test_a_rabbitmqctl_error_is_an_error():
    with pytest.raises(rabbitmq.ClusterStatusError):
        rabbitmq.parse_cluster_status(
            "Error: unable to perform an operation on node 'contrail@ctl-1'. Please see "
            "diagnostics information and suggestions below.\n"
        )


def test_rabbitmq_rolls_only_between_adjacent_minor_versions():
    assert rabbitmq.rolling_problem(["3.10.7"], "3.10") is None
    assert rabbitmq.rolling_problem(["3.9.29"], "3.10") is None
    assert rabbitmq.rolling_problem(["3.7.20"], "3.10") == (
        "RabbitMQ 3.7.20 cannot roll to 3.10 one node at a time"
    )
    assert rabbitmq.rolling_problem(["3.7.20"], None) is None


# -- a config-database unit's membership, from its own readings ------------------------------


def test_a_config_database_unit_is_a_member_when_all_three_agree():
    ring = NODETOOL.replace("DN  10.0.0.13", "UN  10.0.0.13")
    rabbit = RABBIT_JSON.replace(
        '"running_nodes":["contrail@ctl-2","contrail@ctl-1"]',
        '"running_nodes":["contrail@ctl-2","contrail@ctl-1","contrail@ctl-3"]',
    )
    found = health.config_database_health(
        nodetool_status=ring, zookeeper_srvr=ZK_FOLLOWER, rabbitmq_status=rabbit, members=MEMBERS
    )
    assert found.ok and found.detail == ""


def test_a_config_database_unit_names_every_cluster_it_is_missing_from():
    found = health.config_database_health(
        nodetool_status=NODETOOL,
        zookeeper_srvr=ZK_NOT_SERVING,
        rabbitmq_status=None,
        members=MEMBERS,
    )
    assert not found.ok
    assert found.detail == (
        "Cassandra: 10.0.0.13 is DN (Down, Normal); "
        "ZooKeeper: this unit: not serving (outside the quorum); "
        "RabbitMQ: no cluster_status"
    )
    assert health.analytics_database_health(nodetool_status=None, members=MEMBERS).detail == (
        "Cassandra: no nodetool status"
    )
