"""`NodeUpgrades`: the agent's upgrade component. Each node moves by its own action.

A vRouter node keeps running the tag it last moved to (`upgrade-running` in its peer data)
whatever image-tag says; a new image-tag is only pulled ahead. The operator drains the node
and runs the unit's `upgrade` action, which runs `agent.upgrade_node` over the charm's
`AgentHost`: the agent quits with SIGQUIT (its data plane and module go), the new tag's
kernel-init builds the module, the node starts on the new tag, the module and XMPP are
verified. A node that has never recorded a tag (a new unit) starts on image-tag, unless the
controller runs an older one that the agent may not lead: then on the controller's.

Whether the node needs a reboot is read from the host on every evaluation, never kept: the
loaded vrouter.ko is not the one the running tag built (it would not unload, or the new one
found no memory). The leader reports to the controller what its nodes run and what keeps
them from the new tag (the kernel preflight for that tag's line), for `pre-upgrade-check`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Protocol

import ops

from ..config import WorkloadConfig
from ..containers import ContainerEngine
from ..databag import MalformedDatabagError, read_databag, write_databag
from ..evaluation import Evaluation
from . import agent
from . import links as upgrade_links
from .fields import ControlPlaneVersionFields, UpgradeReportFields, UpgradeUnitFields
from .upgrades import pull_ahead
from .view import common
from .workloads import TaggedWorkload, tagged_workload

if TYPE_CHECKING:
    from ..base_charm import ContrailCharm

ACTION = "upgrade"


class NodeSide(Protocol):
    """What the agent charm gives: its host for the sequence, its layout, its preflight."""

    def host(self, evaluation: Evaluation[Any]) -> agent.AgentHost: ...

    def layout(self, config: WorkloadConfig) -> agent.NodeLayout: ...

    def kernel_problem(self, evaluation: Evaluation[Any], tag: str) -> Optional[str]:
        """Why the module of `tag`'s line cannot be built here; None when it can."""
        ...

    def module_mismatch(self, evaluation: Evaluation[Any]) -> Optional[str]:
        """Why the loaded module is not the one built for the running tag; None when it is."""
        ...


@dataclass(frozen=True)
class NodeChoice:
    """Every container of the node on `tag`; `pull` the tag to pull ahead."""

    tag: str
    pull: Optional[str] = None
    own: UpgradeUnitFields = field(default_factory=UpgradeUnitFields)
    controller: Optional[ControlPlaneVersionFields] = None
    # Left out for this deploy (the agents while the new module builds).
    withheld: frozenset[str] = frozenset()

    def tag_for(self, role: str) -> Optional[str]:
        return self.tag


@dataclass(frozen=True)
class Override:
    """The action's deploy: `tag` for every container, `withheld` left out."""

    tag: str
    withheld: frozenset[str] = frozenset()


class NodeUpgrades(ops.Object):
    def __init__(
        self,
        charm: ContrailCharm[Any],
        peer_endpoint: str,
        links: upgrade_links.Links,
        side: NodeSide,
    ) -> None:
        super().__init__(charm, "node-upgrades")
        self.charm = charm
        self.peer_endpoint = peer_endpoint
        self.links = links
        self.side = side
        self.override: Optional[Override] = None
        if ACTION in charm.meta.actions:
            self.framework.observe(charm.on[ACTION].action, self._on_upgrade)

    # -- reading ---------------------------------------------------------------------------

    @property
    def _peer(self) -> Optional[ops.Relation]:
        return self.model.get_relation(self.peer_endpoint)

    def units(self) -> dict[str, UpgradeUnitFields]:
        peer = self._peer
        found: dict[str, UpgradeUnitFields] = {}
        if peer is None:
            return found
        for unit in {self.model.unit, *peer.units}:
            try:
                found[unit.name] = read_databag(peer, unit, UpgradeUnitFields) or (
                    UpgradeUnitFields()
                )
            except MalformedDatabagError:
                found[unit.name] = UpgradeUnitFields()
        return found

    def evaluate(self, config: WorkloadConfig) -> NodeChoice:
        own = self.units().get(self.model.unit.name, UpgradeUnitFields())
        controller = upgrade_links.controller_version(self.model, self.links)
        if self.override is not None:
            return NodeChoice(
                self.override.tag, own=own, controller=controller,
                withheld=self.override.withheld,
            )  # fmt: skip
        running = own.upgrade_running or _first_tag(config.image_tag, controller)
        pull = config.image_tag if config.image_tag != running else None
        return NodeChoice(running, pull, own, controller)

    def _of(self, evaluation: Evaluation[Any]) -> Optional[NodeChoice]:
        found = evaluation.upgrade
        if isinstance(found, NodeChoice):
            return found
        return self.evaluate(evaluation.config) if evaluation.config is not None else None

    def workload(self, evaluation: Evaluation[Any], engine_kind: str) -> TaggedWorkload:
        config, cluster = evaluation.config, evaluation.cluster
        choice = self._of(evaluation)
        assert config is not None and cluster is not None and choice is not None
        every = self.charm.render(evaluation)

        def render(tagged: WorkloadConfig) -> list[Any]:
            return [s for s in every(tagged) if s.name not in choice.withheld]

        return tagged_workload(config, choice, render, engine_kind, cluster.address)

    def statuses(self, evaluation: Evaluation[Any]) -> list[ops.StatusBase]:
        found: list[ops.StatusBase] = []
        choice = self._of(evaluation)
        if choice is None:
            return found
        mismatch = self.side.module_mismatch(evaluation)
        if mismatch:
            found.append(
                ops.BlockedStatus(
                    f"reboot required: {mismatch}; drain the node and reboot it (the charm "
                    "never reboots by itself)"
                )
            )
        own = self.units().get(self.model.unit.name)
        if choice.pull and own is not None and own.upgrade_error:
            found.append(ops.BlockedStatus(f"upgrade to {choice.pull}: {own.upgrade_error}"))
        return found

    def notes(self, evaluation: Evaluation[Any]) -> list[str]:
        choice = self._of(evaluation)
        if choice is None or choice.pull is None:
            return []
        why = agent.refusal(choice.pull, choice.controller)
        if why:
            return [f"runs {choice.tag}; {choice.pull} waits: {why}"]
        return [
            f"runs {choice.tag}; upgrade to {choice.pull} ready: drain the node "
            f"(kubectl drain), then juju run {self.charm.unit.name} upgrade"
        ]

    # -- writing ---------------------------------------------------------------------------

    def lead(self, evaluation: Evaluation[Any]) -> bool:
        return False

    def again(self, evaluation: Evaluation[Any]) -> bool:
        return False

    def publish(self, evaluation: Evaluation[Any]) -> None:
        """The leader's report to the controller: what its nodes run, and what stops them."""
        config, cluster = evaluation.config, evaluation.cluster
        if config is None or cluster is None:
            return
        units = self.units()
        members = [m.unit for m in cluster.members if m.unit in units]
        reports = [units[m] for m in members]
        running = common(r.upgrade_running for r in reports if r.upgrade_running)
        target = config.image_tag
        prepared = [r for r in reports if target in (r.upgrade_running, r.upgrade_prepared)]
        problems = {
            m: (units[m].upgrade_kernel_problem or units[m].upgrade_error or "")
            for m in members
            if units[m].upgrade_kernel_problem or units[m].upgrade_error
        }
        report = UpgradeReportFields(
            upgrade_running=running,
            upgrade_target=target,
            upgrade_units=len(members),
            upgrade_prepared_units=len(prepared),
            upgrade_problems=problems,
        )
        upgrade_links.publish_report(self.model, self.links, report)

    def prepare(
        self, engine: ContainerEngine, evaluation: Evaluation[Any]
    ) -> tuple[Optional[str], Optional[str]]:
        config, cluster, choice = evaluation.config, evaluation.cluster, self._of(evaluation)
        if config is None or cluster is None or choice is None or choice.pull is None:
            return None, None
        return pull_ahead(
            self.charm, engine, evaluation, choice.pull, self.charm.render(evaluation)
        )

    def report(
        self,
        evaluation: Evaluation[Any],
        engine: Optional[ContainerEngine],
        planned: Optional[TaggedWorkload],
        *,
        prepared: Optional[str] = None,
        error: Optional[str] = None,
    ) -> None:
        """The node's tag (once deployed on it), what it pulled, and its preflight for the
        tag it would move to."""
        peer, choice = self._peer, self._of(evaluation)
        if peer is None or choice is None or evaluation.config is None:
            return
        own = choice.own
        kept = own.upgrade_prepared if own.upgrade_prepared == choice.pull else None
        target = choice.pull or evaluation.config.image_tag
        updated = replace_fields(
            own,
            upgrade_running=choice.tag if planned is not None else own.upgrade_running,
            upgrade_prepared=prepared if prepared is not None else kept,
            upgrade_error=error,
            upgrade_kernel_problem=self.side.kernel_problem(evaluation, target),
        )
        current = self.units().get(self.model.unit.name)
        if updated != current:
            write_databag(peer, self.model.unit, updated)

    # -- the action --------------------------------------------------------------------------

    def _on_upgrade(self, event: ops.ActionEvent) -> None:
        evaluation = self.charm.evaluate()
        config, choice = evaluation.config, self._of(evaluation)
        if config is None or choice is None or not evaluation.ready:
            event.fail("the unit is not ready (see juju status); run this once it is")
            return
        request = agent.Request(
            unit=self.charm.unit.name,
            running=choice.tag,
            target=config.image_tag,
            controller=choice.controller,
            layout=self.side.layout(config),
            kernel_problem=self.side.kernel_problem(evaluation, config.image_tag),
        )
        try:
            outcome = agent.upgrade_node(request, self.side.host(evaluation))
        finally:
            self.override = None
        event.set_results({"result": outcome.result, "steps": "\n".join(outcome.steps)})
        if outcome.result == "upgraded":
            event.set_results({"message": outcome.message})
        else:
            event.fail(outcome.message)
        self.charm.reconcile()  # on the tag the node runs now, recorded by the report


def _first_tag(target: str, controller: Optional[ControlPlaneVersionFields]) -> str:
    """A node with no recorded tag starts on `target`, or on the controller's tag when the
    agent may not run `target` yet (it would lead its controller)."""
    version = controller.controller_version if controller else None
    if version and agent.refusal(target, controller) is not None:
        return version
    return target


def replace_fields(own: UpgradeUnitFields, **changes: object) -> UpgradeUnitFields:
    return own.model_copy(update=changes)
