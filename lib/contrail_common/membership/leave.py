"""A departing unit taking itself out of its services before its containers go.

When Juju removes a unit, the unit first leaves the peer relation (relation-departed, once per
other unit, with itself as the departing unit), then stops and is removed. While it still sees
the leader's data it may leave cleanly, in the order the leader's removal uses:

1. Cassandra: `nodetool decommission` on its own node, which streams its data to the others and
   leaves the ring (no removenode needed later, and no replica lost meanwhile);
2. RabbitMQ: `rabbitmqctl stop_app`, then `reset`, which tells the cluster it leaves (no
   forget_cluster_node needed later);
3. ZooKeeper needs nothing here: the leader drops it from ZOO_SERVERS.

It does so only when the leader's rules would allow its removal: at least min-cluster-size
other members stay and no other removal is in progress. Otherwise it leaves nothing half done:
its containers go, the others see it down, and the leader holds its removal with a Blocked
status until the operator adds a unit or lowers min-cluster-size (`planning.py`). Whatever
fails here is only logged: the leader's removal looks at the services and finishes the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

from ..containers import EngineError, ExecTimeoutError
from .commands import DECOMMISSION_TIMEOUT, FORGET_TIMEOUT, Targets
from .roster import Roster
from .schema import MembershipAppData
from .steps import Runner
from .text import one_line


@dataclass
class Departure:
    """What the departing unit did, one line each, for its log."""

    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # Why it did not try at all (the leader's rules would hold its removal).
    refused: str = ""


def refusal(data: MembershipAppData, unit: str, min_size: int) -> Optional[str]:
    """Why `unit` must not take itself out of the services now; None when it may."""
    roster = Roster(data)
    own = roster.member(unit)
    if own is None:
        return "it is not a member yet"
    staying = [m for m in roster.present if m.unit != unit]
    if len(staying) < min_size:
        return (
            f"{len(staying)} member(s) would stay, fewer than min-cluster-size {min_size}; "
            "the leader holds the removal until a unit is added"
        )
    # Its own removal may already be queued (the leader saw it go first): that one waits for
    # its services to stop, and finds them gone once it left.
    others = [r for r in data.removals if r.member != own.id]
    if others:
        running = roster.by_id(others[0].member)
        who = running.unit if running is not None else f"member {others[0].member}"
        return f"the removal of {who} is in progress; the leader removes this unit after it"
    return None


def leave(
    data: MembershipAppData, unit: str, min_size: int, targets: Targets, run: Runner
) -> Departure:
    """Leave Cassandra and RabbitMQ cleanly, when the leader's rules allow it."""
    refused = refusal(data, unit, min_size)
    if refused is not None:
        return Departure(refused=refused)
    departure = Departure()
    if targets.cassandra is not None:
        cassandra = targets.cassandra
        _run(departure, run, cassandra.container, cassandra.decommission(), DECOMMISSION_TIMEOUT)
    # Each service on its own: a decommission that failed leaves the node to the leader's
    # removenode, and RabbitMQ can still be left cleanly.
    if targets.rabbitmq is not None:
        rabbitmq = targets.rabbitmq
        for argv in (rabbitmq.stop_app(), rabbitmq.reset()):
            if not _run(departure, run, rabbitmq.container, argv, FORGET_TIMEOUT):
                break
    return departure


def _run(
    departure: Departure, run: Runner, container: str, argv: Sequence[str], timeout: float
) -> bool:
    what = " ".join(argv[:2])
    try:
        result = run(container, argv, timeout)
    except ExecTimeoutError:
        departure.failed.append(f"{what} in {container}: still running after {timeout:g}s")
        return False
    except EngineError as error:
        departure.failed.append(f"{what} in {container} could not run: {error}")
        return False
    if result.exit_code != 0:
        output = one_line(result.output)
        departure.failed.append(f"{what} in {container} exited {result.exit_code}: {output}")
        return False
    departure.done.append(f"{what} in {container}")
    return True
