"""`Upgrades`: staged upgrades as the component the base charm composes.

For a charm with a rollout (`stages.ROLLOUTS`: controller, analytics, analyticsdb,
kubernetes-master) the base calls, on every reconcile:

1. `evaluate(config)` in its evaluation, which only reads: the plan and which tag each
   container role runs on this unit now (`TagChoice`);
2. `lead(evaluation)` on the leader, after the member list: one step of the plan (then the base
   evaluates again, as the tags may have moved), and `publish(evaluation)` after the charm's
   own publish: the controller's word on what the control plane runs, or a follower's report
   to the controller;
3. `workload(...)` for the services to run now, each on its tag (`workloads.py`);
4. after its deploy, `prepare(...)` (pull the images of the tag moved to, stage 0) and
   `report(...)`: what the unit pulled and applied, its error, and what the stage in progress
   waits for (its sessions, or its databases' membership, `readings.py`).

The component handles the `upgrade`, `cancel-upgrade` and `pre-upgrade-check` actions when
the charm declares them, sums the plan up as the leader's application status, and, while a
plan moves containers, reconciles on update-status: a one-at-a-time stage passes its lock on
once a restarted unit's sessions or membership are back, which no other event tells.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Optional

import ops

from ..config import WorkloadConfig
from ..containers import ContainerEngine, ContainerState, EngineError, ImagePullError
from ..evaluation import Evaluation
from ..monitoring.introspect import Fetch, http_fetch
from ..services import Service
from . import links as upgrade_links
from . import plan as upgrade_plan
from .actions import Refused
from .check_facts import gather_check_facts
from .component import StagedUpgrade, UpgradeEvaluation
from .fields import UpgradeReportFields
from .precheck import report as check_report
from .readings import FourLetterWord, Probes, Reader, four_letter_word
from .stages import Release, Rollout, StageKind
from .workloads import SameTag, TaggedWorkload, images_to_pull, tagged_workload

if TYPE_CHECKING:
    from ..base_charm import ContrailCharm

logger = logging.getLogger(__name__)

UPGRADE_ACTION = "upgrade"
CANCEL_ACTION = "cancel-upgrade"
CHECK_ACTION = "pre-upgrade-check"

Render = Callable[[Any], Sequence[Service]]


class Upgrades(ops.Object):
    """The plan on the peer relation, as the tags the unit's containers run."""

    # How units are asked for their sessions and ZooKeeper state; tests replace them.
    fetch: Fetch = staticmethod(http_fetch)
    ask: FourLetterWord = staticmethod(four_letter_word)

    def __init__(
        self,
        charm: ContrailCharm[Any],
        rollout: Rollout,
        peer_endpoint: str,
        links: upgrade_links.Links,
        probes: Probes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(charm, "upgrades")
        self.charm = charm
        self.rollout = rollout
        self.links = links
        self.probes = probes
        self.staged = StagedUpgrade(charm, rollout, peer_endpoint, clock)
        self._passes = 0  # extra reconciles in this hook (`again`)
        self.framework.observe(charm.on.update_status, self._on_update_status)
        self.framework.observe(charm.on.collect_app_status, self._on_collect_app_status)
        for name, handler in (
            (UPGRADE_ACTION, self._on_upgrade),
            (CANCEL_ACTION, self._on_cancel),
            (CHECK_ACTION, self._on_check),
        ):
            if name in charm.meta.actions:
                self.framework.observe(charm.on[name].action, handler)

    # -- evaluate: read only ------------------------------------------------------------------

    def evaluate(self, config: WorkloadConfig) -> UpgradeEvaluation:
        return self.staged.evaluate(config.image_tag)

    def _of(self, evaluation: Evaluation[Any]) -> Optional[UpgradeEvaluation]:
        found = evaluation.upgrade
        if isinstance(found, UpgradeEvaluation):
            return found
        return self.evaluate(evaluation.config) if evaluation.config is not None else None

    def render(self, evaluation: Evaluation[Any]) -> Render:
        return self.charm.render(evaluation)

    def workload(self, evaluation: Evaluation[Any], engine_kind: str) -> TaggedWorkload:
        upgrade = self._of(evaluation)
        assert evaluation.config is not None and evaluation.cluster is not None
        assert upgrade is not None
        return tagged_workload(
            evaluation.config,
            upgrade,
            self.render(evaluation),
            engine_kind,
            evaluation.cluster.address,
        )

    def statuses(self, evaluation: Evaluation[Any]) -> list[ops.StatusBase]:
        """The unit's stage (Maintenance) and, before anything moves, a failed pull ahead
        (Blocked: the upgrade cannot go on until this unit holds the images)."""
        upgrade = self._of(evaluation)
        if upgrade is None:
            return []
        found: list[ops.StatusBase] = [upgrade.status] if upgrade.status is not None else []
        plan = upgrade.plan
        own = self.staged.units().get(self.charm.unit.name)  # as this hook's report left it
        if plan.upgrade_state == "active" and plan.upgrade_stage == 0 and own is not None:
            if own.upgrade_error and own.upgrade_serial == plan.upgrade_serial:
                found.append(
                    ops.BlockedStatus(f"upgrade to {plan.upgrade_to}: {own.upgrade_error}")
                )
        return found

    def notes(self, evaluation: Evaluation[Any]) -> list[str]:
        upgrade = self._of(evaluation)
        return list(upgrade.notes) if upgrade is not None else []

    # -- the leader's writes --------------------------------------------------------------------

    def lead(self, evaluation: Evaluation[Any]) -> bool:
        """One step of the plan; True when it changed (the tags may have moved)."""
        config, cluster = evaluation.config, evaluation.cluster
        if config is None or cluster is None or not config.image_tag:
            return False
        before = self.staged.plan()
        self.staged.lead(
            config.image_tag,
            [member.unit for member in cluster.members],
            auto=bool(getattr(config, "auto_upgrade", False)),
            controller=upgrade_links.controller_version(self.model, self.links),
        )
        return self.staged.plan() != before

    def publish(self, evaluation: Evaluation[Any]) -> None:
        """The controller's word to its followers, or a follower's report to the controller."""
        config, cluster = evaluation.config, evaluation.cluster
        if config is None or cluster is None:
            return
        plan = self.staged.plan()
        if self.links.to_followers:
            version = upgrade_plan.control_plane_version(plan)
            upgrade_links.publish_version(self.model, self.links, version)
        if self.links.to_controller:
            upgrade_links.publish_report(self.model, self.links, self._report(config, cluster))

    def _report(self, config: WorkloadConfig, cluster: Any) -> UpgradeReportFields:
        plan = self.staged.plan()
        members = [member.unit for member in cluster.members]
        running = None
        if plan.upgrade_state == "idle":
            running = upgrade_plan.common(plan.upgrade_group_tags.values()) or config.image_tag
        units = self.staged.units()
        target = config.image_tag
        prepared = [
            m for m in members if running == target or (units.get(m) and _holds(units[m], target))
        ]
        problems = {
            m: unit.upgrade_error for m in members if (unit := units.get(m)) and unit.upgrade_error
        }
        return UpgradeReportFields(
            upgrade_running=running,
            upgrade_target=target,
            upgrade_units=len(members),
            upgrade_prepared_units=len(prepared),
            upgrade_problems=problems,
        )

    # -- after the deploy ------------------------------------------------------------------------

    def prepare(
        self, engine: ContainerEngine, evaluation: Evaluation[Any]
    ) -> tuple[Optional[str], Optional[str]]:
        """Pull every image of the tag moved to: (that tag once all are here, the error)."""
        upgrade = self._of(evaluation)
        if upgrade is None or upgrade.pull is None:
            return None, None
        return pull_ahead(self.charm, engine, evaluation, upgrade.pull, self.render(evaluation))

    def report(
        self,
        evaluation: Evaluation[Any],
        engine: Optional[ContainerEngine],
        planned: Optional[TaggedWorkload],
        *,
        prepared: Optional[str] = None,
        error: Optional[str] = None,
    ) -> None:
        """This unit's facts, on every reconcile: `planned` the services deployed (None: the
        deploy failed or did not run)."""
        upgrade, cluster = self._of(evaluation), evaluation.cluster
        if upgrade is None:
            return
        applied = planned is not None and engine is not None and self._running(engine, planned)
        sessions = membership = None
        reader = self._reader(engine, cluster)
        if reader is not None and upgrade.plan.upgrade_state == "active":
            stage = self.rollout.stages[upgrade.plan.upgrade_stage]
            if self.probes.control_introspect is not None and upgrade.plan.upgrade_stage > 0:
                sessions = reader.sessions()
            holder = upgrade.plan.upgrade_holder == self.charm.unit.name
            if holder and stage.release == Release.MEMBERSHIP and cluster is not None:
                membership = reader.membership(cluster.addresses)
        self.staged.report(
            upgrade,
            applied=applied,
            prepared=prepared if prepared is not None else _kept_prepared(upgrade),
            error=error,
            sessions=sessions,
            membership=membership,
        )

    def _reader(self, engine: Optional[ContainerEngine], cluster: Any) -> Optional[Reader]:
        if engine is None or cluster is None:
            return None
        return Reader(
            self.probes, engine, self.charm.project, cluster.address, self.fetch, self.ask
        )

    def _running(self, engine: ContainerEngine, planned: TaggedWorkload) -> bool:
        """Whether every container of the services runs (a one-shot one: finished with 0)."""
        try:
            states = engine.status(self.charm.project, [s.name for s in planned.services])
        except EngineError:
            return False
        one_shot = {s.name for s in planned.services if s.one_shot}
        for name, state in states.items():
            if name in one_shot and state.state == ContainerState.EXITED:
                if state.exit_code != 0:
                    return False
            elif state.state != ContainerState.RUNNING:
                return False
        return True

    def again(self, evaluation: Evaluation[Any]) -> bool:
        """Leader: whether its own report lets the plan move on now. Its own writes trigger
        no hook on itself, so the base reconciles once more (a few times per hook at most)."""
        config, cluster = evaluation.config, evaluation.cluster
        if not self.charm.unit.is_leader() or config is None or cluster is None:
            return False
        if self._passes >= len(self.rollout.stages) or not config.image_tag:
            return False
        view = self.staged.view(
            config.image_tag,
            [member.unit for member in cluster.members],
            auto=bool(getattr(config, "auto_upgrade", False)),
            controller=upgrade_links.controller_version(self.model, self.links),
        )
        if upgrade_plan.lead(view).plan == view.plan:
            return False
        self._passes += 1
        return True

    def moving(self) -> bool:
        """Whether a plan moves containers now (past stage 0)."""
        plan = self.staged.plan()
        return plan.upgrade_state == "active" and plan.upgrade_stage > 0

    # -- events ----------------------------------------------------------------------------------

    def _on_update_status(self, _event: ops.UpdateStatusEvent) -> None:
        if self.moving():
            self.charm.reconcile()

    def _on_collect_app_status(self, event: ops.CollectStatusEvent) -> None:
        if not self.charm.unit.is_leader():
            return
        evaluation = self.charm.evaluate()
        config, cluster = evaluation.config, evaluation.cluster
        if config is None or cluster is None or not config.image_tag:
            return
        view = self.staged.view(
            config.image_tag,
            [member.unit for member in cluster.members],
            auto=bool(getattr(config, "auto_upgrade", False)),
            controller=upgrade_links.controller_version(self.model, self.links),
        )
        # The step is pure: taken again here it writes nothing and says where the plan is.
        status = upgrade_plan.lead(view).status
        if status is not None:
            event.add_status(status)

    def _members_and_target(self) -> tuple[str, list[str]]:
        evaluation = self.charm.evaluate()
        config, cluster = evaluation.config, evaluation.cluster
        if config is None or cluster is None or not config.image_tag:
            raise Refused("the unit is not ready (see juju status); run this once it is")
        return config.image_tag, [member.unit for member in cluster.members]

    def _on_upgrade(self, event: ops.ActionEvent) -> None:
        self._leader_action(event, UPGRADE_ACTION, self.staged.begin)

    def _on_cancel(self, event: ops.ActionEvent) -> None:
        self._leader_action(event, CANCEL_ACTION, self.staged.cancel)

    def _leader_action(
        self, event: ops.ActionEvent, name: str, act: Callable[[str, Sequence[str]], str]
    ) -> None:
        if not self.charm.unit.is_leader():
            event.fail(f"run this on the leader: juju run {self.charm.app.name}/leader {name}")
            return
        try:
            message = act(*self._members_and_target())
        except Refused as refused:
            event.fail(str(refused))
            return
        event.set_results({"result": message})
        self.charm.reconcile()  # the leader moves at once; the other units on relation-changed

    def _on_check(self, event: ops.ActionEvent) -> None:
        if not self.charm.unit.is_leader():
            event.fail(
                f"run this on the leader: juju run {self.charm.app.name}/leader {CHECK_ACTION}"
            )
            return
        evaluation = self.charm.evaluate()
        if not evaluation.ready or evaluation.config is None:
            event.fail("the unit is not ready (see juju status); run this once it is")
            return
        engine = self.charm.make_engine(self.charm.runtime_kind(evaluation.config))
        found = gather_check_facts(self, evaluation, engine)
        event.set_results(check_report(found).results())


def pull_ahead(
    charm: ops.CharmBase,
    engine: ContainerEngine,
    evaluation: Evaluation[Any],
    tag: str,
    render: Render,
) -> tuple[Optional[str], Optional[str]]:
    """Pull every image of `tag` that is not here yet: (`tag` once all are, the error)."""
    config = evaluation.config
    assert config is not None
    for image in images_to_pull(config, SameTag(config.image_tag, pull=tag), render):
        if engine.inspect_image(image) is not None:
            continue
        charm.unit.status = ops.MaintenanceStatus(f"pulling {image} ahead")
        try:
            engine.pull(image, evaluation.credentials, plain_http=config.docker_registry_insecure)
        except (ImagePullError, EngineError) as error:
            return None, f"cannot pull {image}: {error}"
    return tag, None


def _holds(unit: Any, target: str) -> bool:
    return unit.upgrade_prepared == target


def _kept_prepared(upgrade: UpgradeEvaluation) -> Optional[str]:
    """What the unit reported pulled, while the plan still moves to that tag."""
    prepared = upgrade.own.upgrade_prepared
    return prepared if prepared is not None and prepared == upgrade.pull else None


__all__ = ["StageKind", "Upgrades"]
