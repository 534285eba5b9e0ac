"""The HA overlay in the whole model: a VIP, and scaling the control plane out and in.

The same sequences as the charms' ops.testing suites, with every charm of the bundle running:
add-unit and remove-unit (clean, or a lost machine) on the HA overlay. Each machine's engine
answers the commands run in its containers from a stand-in Cassandra ring and RabbitMQ cluster
(`services.py`). After each step: every unit active or clearly blocked, no surviving unit's
ZooKeeper id (or Kafka broker id) changed, and every removal command issued exactly once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from model import Model, Unit

from contrail_common.membership import PLACEHOLDER
from contrail_common.membership.testing import host_id
from contrail_common.testing import read_env_file

REPO = Path(__file__).resolve().parents[2]
STANDARD = REPO / "bundles" / "k8s-contrail.yaml"
HA = REPO / "bundles" / "overlays" / "ha.yaml"
CONTROLLER = "contrail-controller"
VIP = "10.0.0.100"


@pytest.fixture
def ha():
    model = Model(STANDARD, [HA])
    model.deploy()
    yield model
    model.close()


def env(unit: Unit, container: str) -> dict[str, str]:
    return read_env_file(unit.machine.host, unit.name.replace("/", "-"), container)


def position_id(unit: Unit, container: str, variable: str) -> int:
    """The id the image derives: the unit's own address's position in the list."""
    return env(unit, container)[variable].split(",").index(unit.machine.address) + 1


def zookeeper_ids(model: Model) -> dict[str, int]:
    return {
        u.name: position_id(u, "configdb-zookeeper", "ZOOKEEPER_NODES")
        for u in model.apps[CONTROLLER].units
    }


def kafka_ids(model: Model) -> dict[str, int]:
    return {
        u.name: position_id(u, "alarm-kafka", "KAFKA_NODES")
        for u in model.apps["contrail-analytics"].units
    }


def not_active(model: Model) -> dict[str, str]:
    return {n: str(s) for n, s in model.statuses().items() if s.name != "active"}


def app_bag(model: Model, app: str, other: str) -> dict:
    for relation in model.relations:
        if {side.app for side in relation.sides} == {app, other}:
            return {k: json.loads(v) for k, v in model.app_bags[(relation.id, app)].items()}
    raise KeyError((app, other))


def issued(model: Model, app: str, *verbs: str) -> list[tuple[str, ...]]:
    return model.services.cluster(app).issued(*verbs)


def test_the_ha_overlay_rehearses_with_a_vip(ha):
    assert not_active(ha) == {}
    for unit in ha.apps[CONTROLLER].units:
        assert f"VIP {VIP}" in unit.status.message
        assert env(unit, "config-api")["CONFIG_API_LISTEN_ALL"] == "true"
        assert env(unit, "webui-web")["CONFIG_API_VIP"] == VIP
    to_agents = app_bag(ha, CONTROLLER, "contrail-agent")
    assert to_agents["controller-vip"] == VIP
    assert len(to_agents["controller-ips"]) == 3, "agents keep the unit list"


def test_controller_scale_out_3_to_5_then_in_to_3_keeps_every_zookeeper_id(ha):
    first = zookeeper_ids(ha)
    assert sorted(first.values()) == [1, 2, 3]
    ha.add_unit(CONTROLLER)
    ha.add_unit(CONTROLLER)
    grown = zookeeper_ids(ha)
    assert {n: grown[n] for n in first} == first and sorted(grown.values()) == [1, 2, 3, 4, 5]
    assert not_active(ha) == {}

    ha.remove_unit(CONTROLLER, 4)  # leaves cleanly
    ha.remove_unit(CONTROLLER, 1, clean=False)  # its machine is lost
    survivors = zookeeper_ids(ha)
    assert survivors == {n: grown[n] for n in survivors}
    assert set(survivors) == {f"{CONTROLLER}/{n}" for n in (0, 2, 3)}
    unit0 = ha.apps[CONTROLLER].units[0]
    assert env(unit0, "configdb-zookeeper")["ZOOKEEPER_NODES"].split(",")[1] == PLACEHOLDER
    lost = ha.machines["6"].address  # where the HA overlay puts contrail-controller/1
    assert len(issued(ha, CONTROLLER, "removenode", host_id(lost))) == 1
    assert len(issued(ha, CONTROLLER, "forget_cluster_node")) == 1
    assert len(issued(ha, CONTROLLER, "decommission")) == 1
    assert len(issued(ha, CONTROLLER, "reset")) == 1
    assert not_active(ha) == {}
    assert len(app_bag(ha, CONTROLLER, "contrail-agent")["controller-ips"]) == 3


def test_scale_in_below_min_cluster_size_is_refused_with_a_status(ha):
    before = {u.name: env(u, "configdb-zookeeper") for u in ha.apps[CONTROLLER].units}
    ha.remove_unit(CONTROLLER, 2)
    ha.remove_unit(CONTROLLER, 1, clean=False)
    (survivor,) = ha.apps[CONTROLLER].units
    assert survivor.status.name == "blocked"
    assert "scale-in refused" in survivor.status.message
    assert "min-cluster-size 3" in survivor.status.message
    assert env(survivor, "configdb-zookeeper") == before[survivor.name], "nothing re-created"
    for verb in ("removenode", "forget_cluster_node", "decommission", "reset"):
        assert issued(ha, CONTROLLER, verb) == []
    ha.add_unit(CONTROLLER)
    ha.add_unit(CONTROLLER)
    assert zookeeper_ids(ha)[survivor.name] == 1
    assert not_active(ha) == {}
    for verb in ("removenode", "forget_cluster_node"):
        assert len(issued(ha, CONTROLLER, verb)) == 2


def test_a_leader_that_leaves_hands_over_and_nothing_runs_twice(ha):
    """GIVEN four controller units WHEN the leader is removed THEN while leaving it changes
    nothing and decommissions itself, the next leader drops it with no command of its own, and
    the survivors keep their ids."""
    ha.add_unit(CONTROLLER)
    ha.elect(CONTROLLER, 2)
    ha.remove_unit(CONTROLLER, 2)
    assert [u.name for u in ha.apps[CONTROLLER].units if u.leader] == [f"{CONTROLLER}/0"]
    assert zookeeper_ids(ha) == {f"{CONTROLLER}/0": 1, f"{CONTROLLER}/1": 2, f"{CONTROLLER}/3": 4}
    assert issued(ha, CONTROLLER, "removenode") == []
    assert issued(ha, CONTROLLER, "forget_cluster_node") == []
    assert len(issued(ha, CONTROLLER, "decommission")) == 1
    assert len(issued(ha, CONTROLLER, "reset")) == 1
    assert not_active(ha) == {}


def test_analyticsdb_and_analytics_scale_out_and_in_with_stable_ids(ha):
    kafka = kafka_ids(ha)
    ha.add_unit("contrail-analyticsdb")
    ha.add_unit("contrail-analytics")
    assert {n: kafka_ids(ha)[n] for n in kafka} == kafka
    ha.remove_unit("contrail-analyticsdb", 0, clean=False)
    ha.remove_unit("contrail-analytics", 1)
    expected = {**kafka, "contrail-analytics/3": 4}
    del expected["contrail-analytics/1"]
    assert kafka_ids(ha) == expected
    assert len(issued(ha, "contrail-analyticsdb", "removenode")) == 1
    assert not_active(ha) == {}
