"""The pre-upgrade-check report: every item from the facts the leader read, each failure with
its fix."""

from __future__ import annotations

import dataclasses

from test_upgrade_readings import (
    NODETOOL,
    RABBIT_JSON,
    RABBIT_TERM,
    ZK_FOLLOWER,
    ZK_LEADER,
    ZK_NOT_SERVING,
)

from contrail_common.monitoring.introspect import Peer
from contrail_common.upgrade.fields import UpgradeReportFields
from contrail_common.upgrade.precheck import CheckFacts, report

NEW = "R24.1-2025-03-01"
UNITS = [f"contrail-controller/{n}" for n in range(3)]
ADDRESSES = ["10.0.0.11", "10.0.0.12", "10.0.0.13"]
IMAGES = {
    f"opensdn/contrail-controller-config-api:{NEW}": "sha256:1a",
    f"opensdn/contrail-controller-control-control:{NEW}": "sha256:2b",
}


def _peers(node: int, xmpp_state: str = "Established") -> list[Peer]:
    others = [a for a in ADDRESSES if a != ADDRESSES[node]]
    bgp = [Peer("bgp", f"ctl-{a}", a, "Established") for a in others]
    return [*bgp, Peer("xmpp", "worker-1", "10.0.1.21", xmpp_state)]


def _healthy() -> CheckFacts:
    running_all = RABBIT_JSON.replace(
        '"running_nodes":["contrail@ctl-2","contrail@ctl-1"]',
        '"running_nodes":["contrail@ctl-2","contrail@ctl-1","contrail@ctl-3"]',
    )
    return CheckFacts(
        app="contrail-controller",
        target=NEW,
        target_line="R24.1",
        members=UNITS,
        addresses=ADDRESSES,
        nodetool_status=NODETOOL.replace("DN  10.0.0.13", "UN  10.0.0.13"),
        zookeeper_srvr={UNITS[0]: ZK_FOLLOWER, UNITS[1]: ZK_LEADER, UNITS[2]: ZK_FOLLOWER},
        rabbitmq_status=running_all,
        control_peers={unit: _peers(n) for n, unit in enumerate(UNITS)},
        images={unit: dict(IMAGES) for unit in UNITS},
        applications={
            "contrail-analytics": UpgradeReportFields(
                upgrade_running="R24.1-2025-01-10",
                upgrade_target=NEW,
                upgrade_units=3,
                upgrade_prepared_units=3,
            ),
            "contrail-agent": UpgradeReportFields(
                upgrade_target=NEW, upgrade_units=2, upgrade_prepared_units=2
            ),
        },
    )


def test_a_healthy_three_unit_controller_passes_every_item():
    result = report(_healthy())
    assert result.passed
    assert result.results() == {
        "result": "passed",
        "items": {
            "units": "ok: 3 contrail-controller units: one can restart at a time",
            "cassandra": "ok: 3 nodes Up and Normal",
            "zookeeper": (
                "ok: quorum: contrail-controller/0 follower, contrail-controller/1 leader, "
                "contrail-controller/2 follower"
            ),
            "rabbitmq": "ok: 3 nodes running",
            "bgp": "ok: 6 BGP sessions Established",
            "xmpp": "ok: 3 XMPP sessions Established",
            "images": f"ok: 6 images of {NEW} present",
            "applications": "ok: prepared: contrail-agent, contrail-analytics",
            "agents": f"ok: every reporting unit can take {NEW}",
        },
    }


def test_every_failure_names_its_fix():
    found = dataclasses.replace(
        _healthy(),
        nodetool_status=NODETOOL,
        zookeeper_srvr={UNITS[0]: ZK_FOLLOWER, UNITS[1]: ZK_LEADER, UNITS[2]: ZK_NOT_SERVING},
        rabbitmq_status=RABBIT_JSON,
        control_peers={
            UNITS[0]: _peers(0),
            UNITS[1]: _peers(1, xmpp_state="Active"),
            UNITS[2]: None,
        },
        images={
            UNITS[0]: dict(IMAGES),
            UNITS[1]: {**IMAGES, f"opensdn/contrail-controller-config-api:{NEW}": None},
        },
        applications={
            "contrail-analytics": UpgradeReportFields(
                upgrade_target=NEW, upgrade_units=3, upgrade_prepared_units=1
            ),
            "contrail-kubernetes-master": UpgradeReportFields(upgrade_target="R24.1-2025-01-10"),
            "contrail-agent": UpgradeReportFields(
                upgrade_target=NEW,
                upgrade_units=2,
                upgrade_prepared_units=2,
                upgrade_problems={
                    "contrail-agent/1": "kernel headers missing for 6.8.0-31-generic ... "
                    "(sudo apt install linux-headers-6.8.0-31-generic)"
                },
            ),
        },
    )
    result = report(found)
    assert not result.passed
    items = result.results()["items"]
    assert result.results()["result"] == "failed"
    assert items["cassandra"] == (
        "failed: 10.0.0.13 is DN (Down, Normal); fix: start the Down node's configdb-cassandra "
        "(juju run contrail-controller/0 logs container=configdb-cassandra); a node that is no "
        "longer a member goes with `nodetool removenode <host id>`"
    )
    assert items["zookeeper"].startswith(
        "failed: contrail-controller/2: not serving (outside the quorum); fix: bring the "
        "ensemble back"
    )
    assert items["rabbitmq"].startswith("failed: not running: contrail@ctl-3; fix: start")
    assert items["bgp"].startswith(
        "failed: contrail-controller/2: introspect 8083 gave no answer; fix: each control node"
    )
    assert items["xmpp"].startswith("failed: contrail-controller/1: worker-1 Active; fix: agents")
    assert items["images"] == (
        f"failed: images of {NEW} missing on contrail-controller/1: "
        f"opensdn/contrail-controller-config-api:{NEW}; contrail-controller/2: not reported; "
        "fix: each unit pulls them on its next hook; juju status names an image that fails "
        "(registry, credentials, proxy)"
    )
    assert items["applications"] == (
        "failed: contrail-analytics holds the images on 1/3 units; contrail-kubernetes-master "
        f"is set to R24.1-2025-01-10 (juju config contrail-kubernetes-master image-tag={NEW}); "
        "fix: set image-tag on every Contrail application so each pulls ahead, and wait for "
        "the pulls (juju status)"
    )
    assert items["agents"].startswith(
        "failed: contrail-agent/1: kernel headers missing for 6.8.0-31-generic ... (sudo apt "
        "install linux-headers-6.8.0-31-generic); fix: each message names its fix"
    )


def test_one_controller_is_a_warning_that_the_upgrade_is_an_outage():
    found = dataclasses.replace(
        _healthy(),
        members=UNITS[:1],
        addresses=ADDRESSES[:1],
        nodetool_status=NODETOOL.split("UN  10.0.0.12")[0],
        zookeeper_srvr={UNITS[0]: ZK_FOLLOWER.replace("follower", "standalone")},
        rabbitmq_status=(
            '{"disk_nodes":["contrail@ctl-1"],"running_nodes":["contrail@ctl-1"],'
            '"partitions":{},"alarms":[]}'
        ),
        control_peers={UNITS[0]: [Peer("xmpp", "worker-1", "10.0.1.21", "Established")]},
        images={UNITS[0]: dict(IMAGES)},
    )
    result = report(found)
    assert result.passed
    assert result.results()["items"]["units"] == (
        "warning: 1 contrail-controller unit(s): Cassandra, ZooKeeper and RabbitMQ lose their "
        "quorum while one restarts, so the upgrade is an outage of the config API and the "
        "databases; fix: juju add-unit contrail-controller -n 2 (and min-cluster-size=3) before "
        "the upgrade, or accept the outage"
    )


def test_a_line_change_rabbitmq_cannot_roll_fails_the_check():
    found = dataclasses.replace(_healthy(), target="R25.1-2025-06-01", target_line="R25.1")
    versions = RABBIT_JSON.replace('"3.10.7"', '"3.7.20"')
    found = dataclasses.replace(found, rabbitmq_status=versions)
    items = report(found).results()["items"]
    assert items["rabbitmq-version"].startswith(
        "failed: RabbitMQ 3.7.20 cannot roll to 3.10 one node at a time (RabbitMQ rolls only "
        "between adjacent minor versions); fix: the config database would not rejoin"
    )
    # R2011's 3.7 prints no versions: nothing to judge.
    found = dataclasses.replace(found, rabbitmq_status=RABBIT_TERM)
    assert "rabbitmq-version" not in report(found).results()["items"]


def test_units_holding_different_builds_of_one_moving_tag_are_warned_about():
    found = _healthy()
    images = {unit: dict(IMAGES) for unit in UNITS}
    images[UNITS[2]][f"opensdn/contrail-controller-config-api:{NEW}"] = "sha256:9z"
    result = report(dataclasses.replace(found, images=images))
    assert result.passed
    assert result.results()["items"]["image-builds"] == (
        f"warning: units hold different builds of opensdn/contrail-controller-config-api:{NEW} "
        "(a moving tag pulled on different days); fix: pin a dated tag (such as "
        "R24.1-2025-03-01) so every unit runs one build"
    )


def test_unreadable_outputs_fail_their_item_without_failing_the_report_builder():
    found = dataclasses.replace(
        _healthy(),
        nodetool_status="nodetool: Failed to connect to '127.0.0.1:7201'",
        zookeeper_srvr={},
        rabbitmq_status="Error: unable to perform an operation on node",
    )
    items = report(found).results()["items"]
    assert items["cassandra"].startswith("failed: not nodetool status output")
    assert items["zookeeper"].startswith("failed: contrail-controller/0: no answer")
    assert items["rabbitmq"].startswith("failed: not rabbitmqctl cluster_status output")
