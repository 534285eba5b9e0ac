"""A unit's own readings for the one-at-a-time stages: through its engine, its introspect and
ZooKeeper's client port; a reading that fails is "not back yet", never healthy."""

from __future__ import annotations

import socket
import threading

from fake_introspect import bgp_neighbors, neighbor
from test_upgrade_readings import NODETOOL, RABBIT_JSON, ZK_FOLLOWER

from contrail_common.containers import ContainerSpec, ExecResult, ExecTimeoutError
from contrail_common.containers.memory_engine import MemoryEngine
from contrail_common.membership.commands import CassandraTarget, RabbitmqTarget
from contrail_common.monitoring.introspect import IntrospectError
from contrail_common.upgrade.readings import Probes, Reader, four_letter_word

IMAGE = "opensdn/contrail-external-cassandra:R24.1-latest"
MEMBERS = ["10.0.0.11", "10.0.0.12", "10.0.0.13"]
CONFIG_DB = Probes(
    control_introspect=8083,
    cassandra=CassandraTarget("configdb-cassandra", 7201),
    zookeeper_port=2181,
    rabbitmq=RabbitmqTarget("configdb-rabbitmq"),
)
HEALTHY_RING = NODETOOL.replace("DN  10.0.0.13", "UN  10.0.0.13")


def engine_with(*containers: str) -> MemoryEngine:
    engine = MemoryEngine()
    engine.add_image(IMAGE)
    engine.pull(IMAGE)
    engine.apply("ctl-0", [ContainerSpec(name=name, image=IMAGE) for name in containers])
    return engine


def reader(engine: MemoryEngine, probes: Probes = CONFIG_DB, **kwargs) -> Reader:
    kwargs.setdefault("ask", lambda address, port, word, timeout: ZK_FOLLOWER)
    return Reader(probes, engine, "ctl-0", "10.0.0.11", **kwargs)


def test_the_config_database_is_back_when_all_three_say_so():
    engine = engine_with("configdb-cassandra", "configdb-rabbitmq")
    engine.script_exec(["nodetool", "status", "-p", "7201"], ExecResult(0, HEALTHY_RING))
    engine.script_exec(["rabbitmqctl", "cluster_status"], ExecResult(0, RABBIT_JSON))
    health = reader(engine).membership(MEMBERS)
    # RABBIT_JSON has contrail@ctl-3 stopped: not back yet, and it says why.
    assert not health.ok and health.detail.startswith("RabbitMQ:")
    running = RABBIT_JSON.replace(
        '"running_nodes":["contrail@ctl-2","contrail@ctl-1"]',
        '"running_nodes":["contrail@ctl-2","contrail@ctl-1","contrail@ctl-3"]',
    )
    engine.script_exec(["rabbitmqctl", "cluster_status"], ExecResult(0, running))
    assert reader(engine).membership(MEMBERS).ok


def test_a_reading_that_fails_counts_as_not_back():
    engine = engine_with("configdb-rabbitmq")  # no Cassandra container: exec refused
    engine.script_exec(["rabbitmqctl"], ExecResult(2, "Error: unable to perform an operation"))

    def silent(address: str, port: int, word: str, timeout: float) -> str:
        raise ConnectionRefusedError("connection refused")

    health = reader(engine, ask=silent).membership(MEMBERS)
    assert not health.ok
    assert "Cassandra: no nodetool status" in health.detail
    assert "ZooKeeper: no srvr answer" in health.detail
    assert "RabbitMQ: no cluster_status" in health.detail


def test_a_nodetool_past_its_timeout_is_no_answer():
    engine = engine_with("database-cassandra")
    engine.script_exec(["nodetool"], ExecTimeoutError("c", ("nodetool",), 90, ""))
    probes = Probes(cassandra=CassandraTarget("database-cassandra", 7200))
    health = reader(engine, probes).membership(MEMBERS)
    assert (health.ok, health.detail) == (False, "Cassandra: no nodetool status")


def test_the_analytics_database_reads_cassandra_alone():
    engine = engine_with("database-cassandra")
    engine.script_exec(["nodetool", "status", "-p", "7200"], ExecResult(0, HEALTHY_RING))
    probes = Probes(cassandra=CassandraTarget("database-cassandra", 7200))
    assert reader(engine, probes).membership(MEMBERS).ok


def test_sessions_from_the_control_introspect():
    page = bgp_neighbors(
        [
            neighbor("ctl-2", "10.0.0.12"),
            neighbor("ctl-3", "10.0.0.13", state="Active"),
            neighbor("node-1", "10.0.1.1", encoding="XMPP"),
        ]
    )
    asked = []

    def fetch(url: str, timeout: float) -> str:
        asked.append(url)
        return page

    counts = reader(engine_with(), fetch=fetch).sessions()
    assert asked == ["http://10.0.0.11:8083/Snh_BgpNeighborReq"]
    assert counts is not None
    assert (counts.bgp_up, counts.bgp_total, counts.xmpp_up, counts.xmpp_total) == (1, 2, 1, 1)

    def down(url: str, timeout: float) -> str:
        raise IntrospectError("connection refused")

    assert reader(engine_with(), fetch=down).sessions() is None
    assert reader(engine_with(), Probes()).sessions() is None


def test_four_letter_word_reads_until_the_server_closes():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    asked = []

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            asked.append(connection.recv(16))
            connection.sendall(ZK_FOLLOWER.encode())

    thread = threading.Thread(target=serve)
    thread.start()
    answer = four_letter_word("127.0.0.1", server.getsockname()[1], "srvr", 5.0)
    thread.join()
    server.close()
    assert asked == [b"srvr"] and answer == ZK_FOLLOWER
