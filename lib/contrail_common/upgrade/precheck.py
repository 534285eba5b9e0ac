"""The `pre-upgrade-check` report: one item per thing the rollout relies on, each failed one
naming its fix.

The controller leader reads the facts (the command outputs of its own units' database
containers, every control node's introspect, the images each unit holds, what the related
applications' leaders report) and hands them over; this module only judges, so it is tested
against recorded outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

from ..monitoring.introspect import Peer
from . import facts, nodetool, rabbitmq, zookeeper
from .fields import UpgradeReportFields

Verdict = Literal["ok", "warning", "failed"]


@dataclass(frozen=True)
class CheckItem:
    name: str
    verdict: Verdict
    detail: str
    fix: str = ""

    def line(self) -> str:
        if self.verdict == "ok":
            return f"ok: {self.detail}"
        fix = f"; fix: {self.fix}" if self.fix else ""
        return f"{self.verdict}: {self.detail}{fix}"


@dataclass(frozen=True)
class Report:
    items: tuple[CheckItem, ...]

    @property
    def passed(self) -> bool:
        return all(item.verdict != "failed" for item in self.items)

    def results(self) -> dict[str, Any]:
        """The action's results (keys are lowercase words with hyphens, as Juju wants)."""
        return {
            "result": "passed" if self.passed else "failed",
            "items": {item.name: item.line() for item in self.items},
        }


@dataclass(frozen=True)
class CheckFacts:
    """What the controller leader read for the check; None where a reading failed."""

    app: str
    target: str
    target_line: str
    members: Sequence[str]  # controller units, in the leader's order
    addresses: Sequence[str]  # their Cassandra addresses
    nodetool_status: Optional[str] = None
    zookeeper_srvr: Mapping[str, Optional[str]] = field(default_factory=dict)  # unit -> answer
    rabbitmq_status: Optional[str] = None
    control_peers: Mapping[str, Optional[Sequence[Peer]]] = field(default_factory=dict)
    # unit -> image reference -> local image ID (None: not on the unit)
    images: Mapping[str, Mapping[str, Optional[str]]] = field(default_factory=dict)
    # related application -> its leader's report
    applications: Mapping[str, UpgradeReportFields] = field(default_factory=dict)


def report(found: CheckFacts) -> Report:
    return Report(
        (
            _units(found),
            _cassandra(found),
            _zookeeper(found),
            *_rabbitmq(found),
            _bgp(found),
            _xmpp(found),
            *_images(found),
            _applications(found),
            _agent_kernels(found),
        )
    )


def _logs(found: CheckFacts, container: str) -> str:
    unit = found.members[0] if found.members else f"{found.app}/<unit>"
    return f"juju run {unit} logs container={container}"


def _units(found: CheckFacts) -> CheckItem:
    count = len(found.members)
    if count >= 3:
        return CheckItem("units", "ok", f"{count} {found.app} units: one can restart at a time")
    return CheckItem(
        "units",
        "warning",
        f"{count} {found.app} unit(s): Cassandra, ZooKeeper and RabbitMQ lose their quorum while "
        "one restarts, so the upgrade is an outage of the config API and the databases",
        f"juju add-unit {found.app} -n {3 - count} (and min-cluster-size=3) before the "
        "upgrade, or accept the outage",
    )


def _cassandra(found: CheckFacts) -> CheckItem:
    fix = (
        f"start the Down node's configdb-cassandra ({_logs(found, 'configdb-cassandra')}); "
        "a node that is no longer a member goes with `nodetool removenode <host id>`"
    )
    if found.nodetool_status is None:
        return CheckItem("cassandra", "failed", "nodetool status gave no answer", fix)
    try:
        ring = nodetool.parse_status(found.nodetool_status)
    except nodetool.NodetoolError as error:
        return CheckItem("cassandra", "failed", str(error), fix)
    problems = nodetool.ring_problems(ring, found.addresses)
    if problems:
        return CheckItem("cassandra", "failed", "; ".join(problems), fix)
    return CheckItem("cassandra", "ok", f"{len(ring)} nodes Up and Normal")


def _zookeeper(found: CheckFacts) -> CheckItem:
    fix = f"bring the ensemble back before the upgrade ({_logs(found, 'configdb-zookeeper')})"
    servers: dict[str, Optional[zookeeper.ZkServer]] = {}
    for unit in found.members:
        answer = found.zookeeper_srvr.get(unit)
        try:
            servers[unit] = zookeeper.parse_srvr(answer) if answer is not None else None
        except zookeeper.ZookeeperError:
            servers[unit] = None
    problems = zookeeper.quorum_problems(servers) if servers else ["no member to ask"]
    if problems:
        return CheckItem("zookeeper", "failed", "; ".join(problems), fix)
    modes = ", ".join(f"{unit} {server.mode}" for unit, server in servers.items() if server)
    return CheckItem("zookeeper", "ok", f"quorum: {modes}")


def _rabbitmq(found: CheckFacts) -> list[CheckItem]:
    fix = f"start the stopped nodes' configdb-rabbitmq ({_logs(found, 'configdb-rabbitmq')})"
    if found.rabbitmq_status is None:
        return [CheckItem("rabbitmq", "failed", "cluster_status gave no answer", fix)]
    try:
        cluster = rabbitmq.parse_cluster_status(found.rabbitmq_status)
    except rabbitmq.ClusterStatusError as error:
        return [CheckItem("rabbitmq", "failed", str(error), fix)]
    problems = rabbitmq.cluster_problems(cluster, len(found.members))
    items = [
        CheckItem("rabbitmq", "failed", "; ".join(problems), fix)
        if problems
        else CheckItem("rabbitmq", "ok", f"{len(cluster.running)} nodes running")
    ]
    target = facts.component_minor("rabbitmq", found.target_line)
    problem = rabbitmq.rolling_problem(cluster.versions.values(), target)
    if problem:
        items.append(
            CheckItem(
                "rabbitmq-version",
                "failed",
                f"{problem} (RabbitMQ rolls only between adjacent minor versions)",
                "the config database would not rejoin one unit at a time: go through a "
                "release whose RabbitMQ is one minor version apart, or plan a full stop",
            )
        )
    return items


def _control_peers(found: CheckFacts) -> tuple[dict[str, Sequence[Peer]], list[str]]:
    read = {u: p for u, p in found.control_peers.items() if p is not None}
    silent = [u for u in found.members if found.control_peers.get(u) is None]
    return read, silent


def _bgp(found: CheckFacts) -> CheckItem:
    read, silent = _control_peers(found)
    down = [
        f"{unit}: {peer.name} {peer.state or 'unknown'}"
        for unit, peers in read.items()
        for peer in peers
        if peer.kind == "bgp" and not peer.up
    ]
    problems = [f"{unit}: introspect 8083 gave no answer" for unit in silent] + down
    if problems:
        return CheckItem(
            "bgp",
            "failed",
            "; ".join(problems),
            "each control node must have its BGP peers Established before they restart one at "
            f"a time ({_logs(found, 'control-control')})",
        )
    total = sum(1 for peers in read.values() for peer in peers if peer.kind == "bgp")
    return CheckItem("bgp", "ok", f"{total} BGP sessions Established")


def _xmpp(found: CheckFacts) -> CheckItem:
    read, _silent = _control_peers(found)
    sessions = [
        (unit, peer) for unit, peers in read.items() for peer in peers if peer.kind == "xmpp"
    ]
    down = [
        f"{unit}: {peer.name} {peer.state or 'unknown'}" for unit, peer in sessions if not peer.up
    ]
    if down:
        return CheckItem(
            "xmpp",
            "failed",
            "; ".join(down),
            "agents with a session down lose their last control node while the other restarts: "
            "fix their vrouter-agent first (juju run contrail-agent/<unit> logs "
            "container=vrouter-agent)",
        )
    return CheckItem("xmpp", "ok", f"{len(sessions)} XMPP sessions Established")


def _images(found: CheckFacts) -> list[CheckItem]:
    missing = [
        f"{unit}: {reference}"
        for unit, images in sorted(found.images.items())
        for reference, image_id in sorted(images.items())
        if image_id is None
    ]
    absent = [unit for unit in found.members if unit not in found.images]
    items = []
    if missing or absent:
        listed = missing + [f"{unit}: not reported" for unit in absent]
        items.append(
            CheckItem(
                "images",
                "failed",
                f"images of {found.target} missing on " + "; ".join(listed),
                "each unit pulls them on its next hook; juju status names an image that fails "
                "(registry, credentials, proxy)",
            )
        )
    else:
        count = sum(len(images) for images in found.images.values())
        items.append(CheckItem("images", "ok", f"{count} images of {found.target} present"))
    builds: dict[str, set[str]] = {}
    for images in found.images.values():
        for reference, image_id in images.items():
            if image_id is not None:
                builds.setdefault(reference, set()).add(image_id)
    differing = sorted(reference for reference, ids in builds.items() if len(ids) > 1)
    if differing:
        items.append(
            CheckItem(
                "image-builds",
                "warning",
                f"units hold different builds of {', '.join(differing)} (a moving tag pulled "
                "on different days)",
                "pin a dated tag (such as R24.1-2025-03-01) so every unit runs one build",
            )
        )
    return items


def _applications(found: CheckFacts) -> CheckItem:
    problems = []
    for app, data in sorted(found.applications.items()):
        if data.upgrade_target != found.target:
            problems.append(
                f"{app} is set to {data.upgrade_target or 'no tag'} "
                f"(juju config {app} image-tag={found.target})"
            )
        elif data.upgrade_prepared_units < data.upgrade_units:
            have, units = data.upgrade_prepared_units, data.upgrade_units
            problems.append(f"{app} holds the images on {have}/{units} units")
    if problems:
        return CheckItem(
            "applications",
            "failed",
            "; ".join(problems),
            "set image-tag on every Contrail application so each pulls ahead, and wait for the "
            "pulls (juju status)",
        )
    names = ", ".join(sorted(found.applications)) or "none related"
    return CheckItem("applications", "ok", f"prepared: {names}")


def _agent_kernels(found: CheckFacts) -> CheckItem:
    problems = [
        f"{unit}: {problem}"
        for data in found.applications.values()
        for unit, problem in sorted(data.upgrade_problems.items())
    ]
    if problems:
        # Each problem is the preflight's own message, which names its fix.
        return CheckItem(
            "agents",
            "failed",
            "; ".join(problems),
            f"each message names its fix; an agent upgrades only by its own action, after "
            f"the controller runs {found.target}",
        )
    return CheckItem("agents", "ok", f"every reporting unit can take {found.target}")
