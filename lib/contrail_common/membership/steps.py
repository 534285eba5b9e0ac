"""One removal step at a time: look at the service first, issue its command at most once.

Every step reads the service's own view before acting, with commands that change nothing
(`nodetool status`, `rabbitmqctl cluster_status`); only when the departed member is still known
and down does it issue the one command that changes something, and it records that it did in
the leader's databag, so neither this leader nor a later one issues it again:

- a member the service no longer knows (a clean decommission, or the command done) is done;
- a member the service still sees running is waited for, nothing is issued;
- a command that outlives its timeout is `issued`: later passes only look at the service;
- a command that fails, or an issued one the service did not honour, is `failed`, which
  blocks the removal until the operator has looked (`retry` or `skip` in `planning.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Optional

from ..containers import EngineError, ExecResult, ExecTimeoutError
from . import probes
from .commands import (
    FORGET_TIMEOUT,
    PROBE_TIMEOUT,
    REMOVENODE_TIMEOUT,
    CassandraTarget,
    RabbitmqTarget,
    Targets,
    rabbit_node,
)
from .schema import MemberRecord, RemovalStep
from .text import one_line

# Runs argv in one of the leader's own containers: (container, argv, timeout) -> result. It
# raises EngineError when the command could not be started, ExecTimeoutError on a timeout.
Runner = Callable[[str, Sequence[str], float], ExecResult]


def advance(step: RemovalStep, member: MemberRecord, targets: Targets, run: Runner) -> RemovalStep:
    """The step after one look at its service (and, when due, its one command)."""
    if step.state in ("done", "failed"):
        return step
    if step.service == "zookeeper":
        # Its server list is rendered from the leader's data: once this step is done, the
        # survivors render ZOO_SERVERS without the member.
        return _done(step, "dropped from ZOO_SERVERS")
    if step.service == "cassandra" and targets.cassandra is not None:
        return _cassandra(step, member, targets.cassandra, run)
    if step.service == "rabbitmq" and targets.rabbitmq is not None:
        return _rabbitmq(step, member, targets.rabbitmq, run)
    return _done(step, f"this application runs no {step.service}")


def _cassandra(
    step: RemovalStep, member: MemberRecord, target: CassandraTarget, run: Runner
) -> RemovalStep:
    output, problem = _read(run, target.container, target.status())
    if output is None:
        return _wait(step, problem)
    node = probes.ring(output).get(member.address)
    if node is None:
        return _done(step, f"{member.address} is not in the Cassandra ring")
    if step.state == "issued":
        progress, problem = _read(run, target.container, target.removal_status())
        if progress is None:
            return _wait(step, problem)
        if probes.removal_running(progress):
            return _wait(step, f"nodetool removenode {node.host_id} in progress")
        return _fail(
            step,
            f"nodetool removenode {node.host_id} ended but {member.address} is still in the "
            f"ring ({node.state}); see nodetool status in {target.container}",
        )
    if node.up:
        return _wait(step, f"waiting for {member.address} to stop (Cassandra: {node.state})")
    what = f"nodetool removenode {node.host_id}"
    return _issue(step, run, target.container, target.removenode(node.host_id), what)


def _rabbitmq(
    step: RemovalStep, member: MemberRecord, target: RabbitmqTarget, run: Runner
) -> RemovalStep:
    if not member.hostname:
        return _fail(
            step,
            f"{member.unit} never published its host name, so its RabbitMQ node is unknown: "
            f"run rabbitmqctl forget_cluster_node contrail@<its host> in {target.container}",
        )
    node = rabbit_node(member.hostname)
    output, problem = _read(run, target.container, target.cluster_status())
    if output is None:
        return _wait(step, problem)
    try:
        cluster = probes.rabbit_cluster(output)
    except ValueError as error:
        return _wait(step, f"cannot read rabbitmqctl cluster_status: {error}")
    if node not in cluster.members:
        return _done(step, f"{node} is not a RabbitMQ cluster member")
    if step.state == "issued":
        return _fail(step, f"forget_cluster_node {node} was issued, yet {node} is still a member")
    if node in cluster.running:
        return _wait(step, f"waiting for {node} to stop (RabbitMQ: running)")
    what = f"rabbitmqctl forget_cluster_node {node}"
    return _issue(step, run, target.container, target.forget(node), what, FORGET_TIMEOUT)


def _read(run: Runner, container: str, argv: Sequence[str]) -> tuple[Optional[str], str]:
    """A read-only command's output, or None and why it could not be had."""
    try:
        result = run(container, argv, PROBE_TIMEOUT)
    except EngineError as error:
        return None, f"cannot run {' '.join(argv[:2])} in {container}: {error}"
    if result.exit_code != 0:
        detail = f"{' '.join(argv[:2])} in {container} exited {result.exit_code}"
        return None, f"{detail}: {result.output}"
    return result.output, ""


def _issue(
    step: RemovalStep,
    run: Runner,
    container: str,
    argv: Sequence[str],
    what: str,
    timeout: float = REMOVENODE_TIMEOUT,
) -> RemovalStep:
    try:
        result = run(container, argv, timeout)
    except ExecTimeoutError:
        return _set(step, "issued", f"{what}: still running after {timeout:g}s")
    except EngineError as error:
        # It did not start, so nothing was issued: the next pass looks and tries again.
        return _wait(step, f"could not run {what}: {error}")
    if result.exit_code == 0:
        return _done(step, f"{what}: done")
    return _fail(step, f"{what} exited {result.exit_code}: {result.output}")


def _set(step: RemovalStep, state: str, detail: str) -> RemovalStep:
    return RemovalStep.model_validate(
        {"service": step.service, "state": state, "detail": one_line(detail)}
    )


def _done(step: RemovalStep, detail: str) -> RemovalStep:
    return _set(step, "done", detail)


def _fail(step: RemovalStep, detail: str) -> RemovalStep:
    return _set(step, "failed", detail)


def _wait(step: RemovalStep, detail: str) -> RemovalStep:
    return _set(step, step.state, detail)
