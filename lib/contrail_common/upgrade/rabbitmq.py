"""RabbitMQ's cluster from `rabbitmqctl cluster_status`, and whether every node runs.

RabbitMQ 3.8 and later (R24.1 on EL8, R25.1) answer `--formatter json` with an object holding
`disk_nodes`, `ram_nodes`, `running_nodes`, `partitions`, `alarms` and `versions`. R2011's 3.7
prints an Erlang term instead (`[{nodes,[{disc,['contrail@host1',...]}]},{running_nodes,
[...]},{partitions,[]},...]`), which is read here too. Contrail names its nodes
`contrail@<short hostname>`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_TERM_LIST = r"\{%s,\s*\[(?P<items>[^\]]*)\]\}"
_NODE = re.compile(r"'?([A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+)'?")
# In the partitions term, each entry is {Node, [Nodes it cannot reach]}: the reporting node.
_PARTITION = re.compile(r"\{'?([A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+)'?,\s*\[")


class ClusterStatusError(ValueError):
    """The text is not `rabbitmqctl cluster_status` output."""


@dataclass(frozen=True)
class RabbitCluster:
    nodes: tuple[str, ...]  # disc and ram nodes: the members the cluster knows
    running: tuple[str, ...]
    partitions: tuple[str, ...] = ()  # nodes that report a network partition
    alarms: tuple[str, ...] = ()
    versions: dict[str, str] = field(default_factory=dict)  # node -> RabbitMQ version


def parse_cluster_status(text: str) -> RabbitCluster:
    body = _after_banner(text)
    if body.startswith("{"):
        return _from_json(body)
    if body.startswith("["):
        return _from_term(body)
    first = text.strip().splitlines()[0] if text.strip() else "no output"
    raise ClusterStatusError(f"not rabbitmqctl cluster_status output: {first[:120]}")


def _after_banner(text: str) -> str:
    """Without the `Cluster status of node ...` line 3.7 prints before the term."""
    lines = [line for line in text.strip().splitlines() if not line.startswith("Cluster status")]
    return "\n".join(lines).strip()


def _from_json(body: str) -> RabbitCluster:
    try:
        data = json.loads(body)
    except ValueError as error:
        raise ClusterStatusError(f"cluster_status JSON does not parse: {error}") from None
    if not isinstance(data, dict) or "running_nodes" not in data:
        raise ClusterStatusError("cluster_status JSON without running_nodes")
    partitions = data.get("partitions") or {}
    alarms = data.get("alarms") or []
    versions = data.get("versions") or {}
    return RabbitCluster(
        nodes=tuple([*data.get("disk_nodes", []), *data.get("ram_nodes", [])]),
        running=tuple(data["running_nodes"]),
        partitions=tuple(sorted(partitions)) if isinstance(partitions, dict) else (),
        alarms=tuple(_alarm_text(alarm) for alarm in alarms),
        versions={
            node: str(info.get("rabbitmq_version", ""))
            for node, info in versions.items()
            if isinstance(info, dict)
        },
    )


def _alarm_text(alarm: object) -> str:
    if isinstance(alarm, dict):
        return " ".join(f"{key}={value}" for key, value in sorted(alarm.items()))
    return str(alarm)


def _from_term(body: str) -> RabbitCluster:
    def items(name: str) -> tuple[str, ...]:
        match = re.search(_TERM_LIST % name, body)
        return tuple(_NODE.findall(match.group("items"))) if match else ()

    running = items("running_nodes")
    if not re.search(_TERM_LIST % "running_nodes", body):
        raise ClusterStatusError("cluster_status term without running_nodes")
    partitions = tuple(m.group(1) for m in _PARTITION.finditer(_term(body, "partitions")))
    return RabbitCluster(
        nodes=items("disc") + items("ram"), running=running, partitions=partitions
    )


def _term(body: str, name: str) -> str:
    """The value of `{name, Value}` in an Erlang term, brackets balanced; empty when absent."""
    start = body.find("{" + name + ",")
    if start < 0:
        return ""
    depth = 0
    for index in range(start, len(body)):
        if body[index] in "[{":
            depth += 1
        elif body[index] in "]}":
            depth -= 1
            if depth == 0:
                return body[start + len(name) + 2 : index]
    return ""


def cluster_problems(cluster: RabbitCluster, members: int) -> list[str]:
    """What keeps every one of `members` nodes clustered and running; empty when all are."""
    problems = []
    stopped = sorted(set(cluster.nodes) - set(cluster.running))
    if stopped:
        problems.append(f"not running: {', '.join(stopped)}")
    if len(cluster.nodes) != members:
        problems.append(f"{len(cluster.nodes)} nodes clustered, {members} expected")
    if cluster.partitions:
        problems.append(f"network partition seen by {', '.join(cluster.partitions)}")
    if cluster.alarms:
        problems.append(f"alarms: {'; '.join(cluster.alarms)}")
    return problems


def minor(version: str) -> str:
    """`3.10.7` -> `3.10`."""
    return ".".join(version.split(".")[:2])


def rolling_problem(current: Iterable[str], target_minor: str | None) -> str | None:
    """Why RabbitMQ cannot roll from the versions running now to `target_minor`: rolling
    upgrades skip no minor version (`images/upgrade.yaml`: rabbitmq-version)."""
    if target_minor is None:
        return None
    for version in sorted(set(current)):
        have = tuple(int(part) for part in minor(version).split("."))
        want = tuple(int(part) for part in target_minor.split("."))
        if have[0] != want[0] or abs(have[1] - want[1]) > 1:
            return f"RabbitMQ {version} cannot roll to {target_minor} one node at a time"
    return None
