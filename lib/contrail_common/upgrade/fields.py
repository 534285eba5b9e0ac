"""The upgrade fields of the Contrail relations, as databag models the interface schemas take in.

By who writes them (the schemas take them in by inheritance, as they do the TLS fields):

- `UpgradeUnitFields`, every unit about itself on its peer relation (`contrail-cluster`
  `PeerUnitData`): what it pulled, which stage of which plan it has applied, its sessions or
  its database membership while it holds the lock; agents also the tag their node runs.
- `UpgradePlanFields`, the leader on the peer relation (`contrail-cluster` `PeerAppData`): the
  plan (from, to, stage), the lock, and which tag each group of containers runs.
- `ControlPlaneVersionFields`, the controller leader to every related application
  (`contrail-controller`, `contrail-analytics` and `contrail-analyticsdb` data the controller
  writes): the tag the whole control plane runs, or the tag it is moving to.
- `UpgradeReportFields`, each related application's leader to the controller
  (`contrail-controller` requirer app data of the agent and kubernetes-master,
  `contrail-analytics`/`-analyticsdb` provider app data): what its units run and pulled, and
  what stops them from taking the new tag (the agents' kernel preflight), for
  `pre-upgrade-check`.

Keys are the field names with hyphens, JSON values, as every `DatabagModel`; every field is
optional, so data from charms without upgrades still loads.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field

from ..databag import DatabagModel

# idle: no plan runs (the group tags say what runs); active: a plan runs (stage 0, prepare,
# included); halted: cancel-upgrade (or a new image-tag) stopped it at a stage boundary.
PlanState = Literal["idle", "active", "halted"]
# A Juju unit name, `application/number`.
UnitName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*/[0-9]+$")]


class SessionCounts(DatabagModel):
    """A control node's BGP and XMPP sessions, as its introspect lists them."""

    bgp_up: int = 0
    bgp_total: int = 0
    xmpp_up: int = 0
    xmpp_total: int = 0


class MemberHealth(DatabagModel):
    """A database unit's view of its clusters (Cassandra, ZooKeeper, RabbitMQ)."""

    ok: bool = False
    detail: str = ""


class UpgradeUnitFields(DatabagModel):
    """One unit about itself: written on every reconcile."""

    # The plan (serial) and its last stage this unit has applied and runs healthy.
    upgrade_serial: Optional[int] = None
    upgrade_acked_stage: Optional[int] = None
    # The tag whose images are all on this unit (stage 0 done here).
    upgrade_prepared: Optional[str] = None
    # Why this unit could not apply its stage (a failed pull or engine call), for the leader.
    upgrade_error: Optional[str] = None
    # Control units: their sessions; database units: their clusters' membership.
    upgrade_sessions: Optional[SessionCounts] = None
    upgrade_membership: Optional[MemberHealth] = None
    # Agents: the tag this node runs (agents move one node at a time, by action).
    upgrade_running: Optional[str] = None
    # Agents: why the kernel module of the prepared tag cannot be built here (None: it can).
    upgrade_kernel_problem: Optional[str] = None


class UpgradePlanFields(DatabagModel):
    """The leader's plan; every unit renders from it."""

    upgrade_state: PlanState = "idle"
    # Grows with every plan, so that acknowledgements of an earlier plan never count.
    upgrade_serial: int = 0
    upgrade_from: Optional[str] = None
    upgrade_to: Optional[str] = None
    # The stage in progress (0: prepare), and the stages this plan runs (a rollback of a
    # halted plan runs only those whose containers moved).
    upgrade_stage: int = 0
    upgrade_stages: list[int] = []
    # The operator's go (the upgrade action) or the automatic-progress option.
    upgrade_go: bool = False
    # cancel-upgrade: halt at the next stage boundary.
    upgrade_cancel: bool = False
    # One-at-a-time stages: the unit holding the lock, and those already through this stage.
    upgrade_holder: Optional[UnitName] = None
    upgrade_done: list[UnitName] = []
    # XMPP sessions up on all control nodes when the lock was granted: the agents are back
    # once the sum is again at least this.
    upgrade_xmpp_baseline: Optional[int] = None
    # When the stage (or the current lock) began, in seconds since the epoch.
    upgrade_since: Optional[float] = None
    # The tag each group of containers runs on every unit (completed stages).
    upgrade_group_tags: dict[str, str] = {}


class ControlPlaneVersionFields(DatabagModel):
    """The controller leader's word on what the control plane runs."""

    # Set while every controller container group runs this tag; None while mixed.
    controller_version: Optional[str] = None
    # Set while a plan moves the controller to this tag.
    controller_upgrading_to: Optional[str] = None


class UpgradeReportFields(DatabagModel):
    """A related application's leader about its units, for the controller's checks."""

    upgrade_running: Optional[str] = None  # the tag every unit runs; None while mixed
    upgrade_target: Optional[str] = None  # the configured image-tag
    upgrade_units: int = 0
    upgrade_prepared_units: int = 0  # units holding every image of upgrade_target
    # Unit -> what stops it from taking upgrade_target (kernel preflight, a failed pull).
    upgrade_problems: dict[UnitName, str] = {}
