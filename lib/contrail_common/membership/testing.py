"""A stand-in for the clustered services as a surviving node's own tools see them (tests only).

It answers the commands `steps.py` runs (`nodetool status`, `removenode`, `removenode status`,
`rabbitmqctl cluster_status`, `forget_cluster_node`) from a model of the Cassandra ring and the
RabbitMQ cluster, in the output formats the parsers read, and records every command, so a test
can check that each destructive one ran exactly once. Use it as a `Runner`, or as a
`MemoryEngine.exec_handler` through `answer`. The commands a departing node runs on itself
(`leave.py`: `nodetool decommission`, `rabbitmqctl stop_app` and `reset`) need to know which
node asks: use `on(address, hostname)`, or `answer_on(address, hostname)` as the handler.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..containers import ExecResult, ExecTimeoutError
from ..containers.memory_engine import ExecCall
from .commands import rabbit_node

_HEADER = (
    "Datacenter: datacenter1\n"
    "=======================\n"
    "Status=Up/Down\n"
    "|/ State=Normal/Leaving/Joining/Moving\n"
    "--  Address     Load       Tokens       Owns (effective)  Host ID"
    "                               Rack\n"
)


def host_id(address: str) -> str:
    """A stable Cassandra host id per address."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"cassandra://{address}"))


@dataclass
class FakeCluster:
    # address -> Cassandra state (UN, DN, UL, ...)
    ring: dict[str, str] = field(default_factory=dict)
    # RabbitMQ node name -> running
    rabbit: dict[str, bool] = field(default_factory=dict)
    # Every command asked, as (container, argv).
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    # While set, removenode outlives any timeout and Cassandra keeps removing in the background.
    slow_removenode: bool = False
    removing: set[str] = field(default_factory=set)

    # -- the services' life ------------------------------------------------------------------

    def join(self, address: str, hostname: str) -> None:
        self.ring[address] = "UN"
        self.rabbit[rabbit_node(hostname)] = True

    def lose(self, address: str, hostname: str) -> None:
        """The machine is gone: both services see the member down and still a member (a node
        that left cleanly before stays gone)."""
        if address in self.ring:
            self.ring[address] = "DN"
        if rabbit_node(hostname) in self.rabbit:
            self.rabbit[rabbit_node(hostname)] = False

    def leave_cleanly(self, address: str, hostname: str) -> None:
        """The member decommissioned itself and left the RabbitMQ cluster before going."""
        self.ring.pop(address, None)
        self.rabbit.pop(rabbit_node(hostname), None)

    def finish_removals(self) -> None:
        """Cassandra completes the removals it was running."""
        for address in self.removing:
            self.ring.pop(address, None)
        self.removing.clear()

    def issued(self, *verbs: str) -> list[tuple[str, ...]]:
        """The commands whose argv holds every one of `verbs` (e.g. "removenode", an id)."""
        return [argv for _, argv in self.calls if all(verb in argv for verb in verbs)]

    # -- answering ------------------------------------------------------------------------------

    def __call__(self, container: str, argv: Sequence[str], timeout: float) -> ExecResult:
        command = tuple(argv)
        self.calls.append((container, command))
        if command[:2] == ("nodetool", "status"):
            return ExecResult(0, self._status())
        if command[:2] == ("nodetool", "removenode"):
            return self._removenode(container, command, timeout)
        if command[:2] == ("rabbitmqctl", "cluster_status"):
            return ExecResult(0, self._cluster_status())
        if command[:2] == ("rabbitmqctl", "forget_cluster_node"):
            return self._forget(command[2])
        return ExecResult(127, f"{command[0]}: command not found\n")

    def answer(self, call: ExecCall) -> ExecResult:
        return self(call.name, call.argv, call.timeout)

    def on(self, address: str, hostname: str) -> Callable[[str, Sequence[str], float], ExecResult]:
        """A Runner for the commands run in the containers of the node at `address`."""

        def run(container: str, argv: Sequence[str], timeout: float) -> ExecResult:
            command = tuple(argv)
            if command[:2] == ("nodetool", "decommission"):
                self.calls.append((container, command))
                return self._decommission(address)
            if command[:2] in (("rabbitmqctl", "stop_app"), ("rabbitmqctl", "reset")):
                self.calls.append((container, command))
                return self._leave_rabbit(rabbit_node(hostname), command[1])
            return self(container, argv, timeout)

        return run

    def answer_on(self, address: str, hostname: str) -> Callable[[ExecCall], ExecResult]:
        """A `MemoryEngine.exec_handler` for the node at `address`."""
        run = self.on(address, hostname)
        return lambda call: run(call.name, call.argv, call.timeout)

    def _status(self) -> str:
        rows = [
            f"{state}  {address:<11} 1.1 MiB    256          33.3%             "
            f"{host_id(address)}  rack1\n"
            for address, state in sorted(self.ring.items())
        ]
        return _HEADER + "".join(rows)

    def _removenode(self, container: str, command: tuple[str, ...], timeout: float) -> ExecResult:
        target = command[-1]
        if target == "status":
            if self.removing:
                return ExecResult(
                    0, "RemovalStatus: Removing token (-1). Waiting for replication\n"
                )
            return ExecResult(0, "RemovalStatus: No removals in process.\n")
        address = next((a for a in self.ring if host_id(a) == target), None)
        if address is None:
            return ExecResult(1, f"error: Host ID not found: {target}\n")
        if self.ring[address].startswith("U"):
            return ExecResult(1, f"error: Node /{address} is alive and owns this ID.\n")
        if self.slow_removenode:
            self.removing.add(address)
            raise ExecTimeoutError(container, command, timeout, "")
        del self.ring[address]
        return ExecResult(0, "")

    def _decommission(self, address: str) -> ExecResult:
        if address not in self.ring:
            return ExecResult(1, "error: This node is not a member of the token ring\n")
        if len([a for a, state in self.ring.items() if state.startswith("U")]) < 2:
            return ExecResult(1, "error: no other node to stream the data to\n")
        del self.ring[address]
        return ExecResult(0, "")

    def _leave_rabbit(self, node: str, verb: str) -> ExecResult:
        if node not in self.rabbit:
            return ExecResult(0, f"Node {node} is not clustered\n")
        if verb == "stop_app":
            self.rabbit[node] = False
            return ExecResult(0, f"Stopping rabbit application on node {node} ...\n")
        if self.rabbit[node]:
            return ExecResult(69, f"Error: Mnesia is still running on node {node}.\n")
        del self.rabbit[node]
        return ExecResult(0, f"Resetting node {node} ...\n")

    def _cluster_status(self) -> str:
        nodes = sorted(self.rabbit)
        running = [n for n in nodes if self.rabbit[n]]
        return json.dumps({"disk_nodes": nodes, "ram_nodes": [], "running_nodes": running})

    def _forget(self, node: str) -> ExecResult:
        if node not in self.rabbit:
            return ExecResult(69, f"Error: {{not_a_cluster_node,{node}}}\n")
        if self.rabbit[node]:
            return ExecResult(70, f"Error: {node} is running; stop it first\n")
        del self.rabbit[node]
        return ExecResult(0, f"Removing node {node} from the cluster\n")
