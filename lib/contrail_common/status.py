"""Status aggregation for collect-status: every problem named, not only the first."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from ops import ActiveStatus, BlockedStatus, StatusBase, WaitingStatus

from .containers.state import ContainerState, ContainerStatus

# Worst first, as Juju ranks them for an application.
_PRIORITY = ("error", "blocked", "maintenance", "waiting", "active", "unknown")


def combine(statuses: Iterable[StatusBase], active_message: str = "") -> StatusBase:
    """The worst kind among `statuses`, carrying every distinct message of that kind.

    ops' collect-status keeps a single status of the highest priority; charms pass that one
    status the combined text so the operator sees all blockers at once. Problems of a milder
    kind are counted in the message rather than dropped silently.
    """
    problems = [s for s in statuses if s.name != "active"]
    if not problems:
        return ActiveStatus(active_message)
    worst = min(problems, key=lambda s: _PRIORITY.index(s.name))
    messages: list[str] = []
    for status in problems:
        if status.name == worst.name and status.message and status.message not in messages:
            messages.append(status.message)
    text = "; ".join(messages)
    milder = len([s for s in problems if s.name != worst.name])
    if milder:
        text += f" (+{milder} more)"
    return StatusBase.from_name(worst.name, text)


def container_problems(
    statuses: Mapping[str, ContainerStatus], completed_ok: Collection[str] = ()
) -> list[StatusBase]:
    """Blocked for containers that exited, Waiting for those not (yet) running.

    Containers named in `completed_ok` are one-shot jobs: exiting with code 0 is their success.
    """
    finished = {
        name
        for name, s in statuses.items()
        if name in completed_ok and s.state == ContainerState.EXITED and s.exit_code == 0
    }
    exited = [
        s for s in statuses.values() if s.state == ContainerState.EXITED and s.name not in finished
    ]
    pending = [
        s
        for s in statuses.values()
        if s.state not in (ContainerState.EXITED, ContainerState.RUNNING)
    ]
    problems: list[StatusBase] = []
    if exited:
        names = ", ".join(f"{s.name} (code {s.exit_code})" for s in exited)
        problems.append(BlockedStatus(f"containers exited: {names}"))
    if pending:
        problems.append(WaitingStatus("containers " + ", ".join(s.describe() for s in pending)))
    return problems


__all__ = ["combine", "container_problems"]
