"""Each charm's rollout: its stages, in Contrail's order, and which containers each one moves.

The order is ZIU's (`images/upgrade.yaml`: config-plane-stop-all, control-serial,
databases-serial): the config plane stops everywhere and starts again on the new tag, so the
config API never runs two versions; control moves one unit at a time, released only once its
BGP peers and XMPP agents are back; the config database moves one unit at a time, released
only once the unit is a member of its clusters again. Analytics, analyticsdb and kube-manager
follow once the controller publishes that it runs the new tag; agents move by their own
per-node action, not by a rollout.

Containers are moved by group: a service's `role` (its `net.juniper.contrail` label) names
its group here, so a stage re-creates exactly the containers of its groups.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class StageKind(enum.Enum):
    PREPARE = "prepare"  # pull every image of the new tag; nothing else changes
    STOP_ALL = "stop-all"  # every unit stops the groups' containers
    START_ALL = "start-all"  # every unit runs the groups on the new tag
    ONE_AT_A_TIME = "one-at-a-time"  # the lock holder alone moves, then the next unit


class Release(enum.Enum):
    """When the lock of a one-at-a-time stage passes to the next unit."""

    RUNNING = "running"  # the holder acknowledged: its containers run on the new tag
    SESSIONS = "sessions"  # ... and its BGP peers and the XMPP agents are back
    MEMBERSHIP = "membership"  # ... and its databases count it as a member again


@dataclass(frozen=True)
class Stage:
    name: str
    kind: StageKind
    groups: tuple[str, ...] = ()
    release: Release = Release.RUNNING

    @property
    def may_halt_after(self) -> bool:
        """A halt right after a stop would leave the groups stopped: not a boundary."""
        return self.kind != StageKind.STOP_ALL


@dataclass(frozen=True)
class Rollout:
    """One charm's stages, and the group of each container role."""

    charm: str
    stages: tuple[Stage, ...]
    groups_of_roles: Mapping[str, str]
    # Leaves stage 0 only once the controller publishes that it runs the new tag.
    follows_controller: bool = False

    @property
    def last(self) -> int:
        """The number of the last stage: the `m` of "stage n/m"."""
        return len(self.stages) - 1

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.groups_of_roles.values()))

    def group(self, role: str) -> str:
        """The group of a container role; a role no stage knows is a bug of the charm."""
        try:
            return self.groups_of_roles[role]
        except KeyError:
            raise KeyError(f"{self.charm}: no upgrade group for container role {role!r}") from None


PREPARE = Stage("prepare", StageKind.PREPARE)

CONTROLLER = Rollout(
    charm="contrail-controller",
    stages=(
        PREPARE,
        Stage("config-stop", StageKind.STOP_ALL, ("config",)),
        Stage("config-start", StageKind.START_ALL, ("config",)),
        Stage("control", StageKind.ONE_AT_A_TIME, ("control",), Release.SESSIONS),
        Stage(
            "config-database",
            StageKind.ONE_AT_A_TIME,
            ("config-database", "node"),
            Release.MEMBERSHIP,
        ),
    ),
    # The web UI and its redis stop and start with the config API, as in ZIU.
    groups_of_roles={
        "config": "config",
        "webui": "config",
        "control": "control",
        "config-database": "config-database",
        "node-init": "node",
    },
)

# ZIU stops analytics with the config plane; here it follows the controller (its API keeps
# answering meanwhile), all units at once as ZIU does.
ANALYTICS = Rollout(
    charm="contrail-analytics",
    stages=(
        PREPARE,
        Stage("analytics-stop", StageKind.STOP_ALL, ("analytics",)),
        Stage("analytics-start", StageKind.START_ALL, ("analytics",)),
    ),
    groups_of_roles={
        "analytics": "analytics",
        "analytics-alarm": "analytics",
        "analytics-snmp": "analytics",
        "node-init": "analytics",
    },
    follows_controller=True,
)

ANALYTICSDB = Rollout(
    charm="contrail-analyticsdb",
    stages=(
        PREPARE,
        Stage("analyticsdb", StageKind.ONE_AT_A_TIME, ("database",), Release.MEMBERSHIP),
    ),
    groups_of_roles={"database": "database", "node-init": "database"},
    follows_controller=True,
)

# One kube-manager is active at a time (ZooKeeper election); the others take over while it
# restarts, so all units move together.
KUBERNETES_MASTER = Rollout(
    charm="contrail-kubernetes-master",
    stages=(PREPARE, Stage("kube-manager", StageKind.START_ALL, ("kubernetes",))),
    groups_of_roles={"kubernetes": "kubernetes", "node-init": "kubernetes"},
    follows_controller=True,
)

ROLLOUTS = {r.charm: r for r in (CONTROLLER, ANALYTICS, ANALYTICSDB, KUBERNETES_MASTER)}
