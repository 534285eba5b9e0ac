"""Status aggregation: the worst kind wins and carries every message of that kind."""

from __future__ import annotations

from ops import ActiveStatus, BlockedStatus, MaintenanceStatus, WaitingStatus

from contrail_common.containers import ContainerState, ContainerStatus
from contrail_common.status import combine, container_problems


def test_all_active_gives_active_with_message():
    assert combine([ActiveStatus()], active_message="Unit is ready") == ActiveStatus(
        "Unit is ready"
    )
    assert combine([]) == ActiveStatus("")


def test_worst_kind_wins_and_lists_all_its_messages():
    status = combine(
        [
            WaitingStatus("waiting for contrail-analytics data"),
            BlockedStatus("missing relation: contrail-analytics"),
            BlockedStatus("invalid config: log-level: must be one of ..."),
            BlockedStatus("missing relation: contrail-analytics"),
            MaintenanceStatus("pulling images"),
        ]
    )
    assert status == BlockedStatus(
        "missing relation: contrail-analytics; invalid config: log-level: must be one of ... (+2 more)"
    )


def test_maintenance_outranks_waiting():
    assert combine([WaitingStatus("a"), MaintenanceStatus("b")]) == MaintenanceStatus(
        "b (+1 more)"
    )


def test_container_problems():
    statuses = {
        "api": ContainerStatus("api", ContainerState.RUNNING),
        "schema": ContainerStatus("schema", ContainerState.EXITED, 3),
        "control": ContainerStatus("control", ContainerState.RESTARTING, 1),
        "webui": ContainerStatus("webui", ContainerState.MISSING),
    }
    assert container_problems(statuses) == [
        BlockedStatus("containers exited: schema (code 3)"),
        WaitingStatus("containers control restarting (last exit code 1), webui missing"),
    ]
    assert container_problems({"api": statuses["api"]}) == []
