"""`PeerMembership`: the peer relation (`contrail-cluster`) as a component the base composes.

The base calls, on every reconcile:

1. `cluster(config, address, data_address, problems)` in its evaluation, which only reads: the
   unit's `Cluster` from the leader's data (`Roster`), and why the unit must wait (not a member
   yet, fewer than min-cluster-size members);
2. `apply(evaluation)`, first of the writes: every unit publishes its addresses and host name;
   the leader then numbers new units, marks departed ones and runs the removal step that is
   due (`leader.lead`), and writes the application data. It returns whether that data changed,
   so the base evaluates again before it publishes or deploys;
3. `statuses()` and `notes()` in its collect-status: refusals and failed steps (Blocked),
   the running removal (a note in the active message); the leader also sums them up as the
   application's status.

The component handles its endpoint's events (`endpoints`; the base skips them) and calls the
base's reconcile. A unit that Juju is removing is "dying": it sees every other unit depart, so
as leader it changes nothing (the next leader goes on), and on its first relation-departed it
takes itself out of Cassandra and RabbitMQ when the leader's rules allow (`leave.py`). On
update-status the leader goes on with a removal that waits for a service. The retry-removal and
skip-removal actions answer a failed step, when the charm declares them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

import ops

from ..config import WorkloadConfig
from ..containers import EngineError, ExecResult
from ..databag import MalformedDatabagError, read_databag, write_databag
from ..evaluation import Cluster, Evaluation
from .commands import Targets
from .ids import UnitFacts
from .leader import lead
from .leave import leave
from .planning import retry, skip
from .progress import Report, own_status, report
from .roster import Roster
from .schema import MAX_MEMBER_ID, MembershipAppData, MembershipUnitData
from .steps import Runner

if TYPE_CHECKING:
    from ..base_charm import ContrailCharm

logger = logging.getLogger(__name__)

RETRY_ACTION = "retry-removal"
SKIP_ACTION = "skip-removal"


class PeerMembership(ops.Object):
    """This unit's place in its application's cluster, and the leader's keeping of it."""

    # Why StoredState: whether this unit already took itself out of its services is not
    # derivable once it did (the services no longer know it), and it must happen once.
    _stored = ops.StoredState()

    def __init__(self, charm: ContrailCharm[Any], endpoint: str, targets: Targets) -> None:
        super().__init__(charm, "membership")
        self.charm = charm
        self.endpoint = endpoint
        self.targets = targets
        self._stored.set_default(left=False)
        # This unit is being removed (see the module's docstring): for this hook only.
        self.dying = False
        events = charm.on[endpoint]
        for event in (events.relation_created, events.relation_joined, events.relation_changed):
            self.framework.observe(event, self._on_change)
        self.framework.observe(events.relation_departed, self._on_departed)
        self.framework.observe(events.relation_broken, self._on_going)
        self.framework.observe(charm.on.stop, self._on_going)
        self.framework.observe(charm.on.remove, self._on_going)
        self.framework.observe(charm.on.update_status, self._on_update_status)
        self.framework.observe(charm.on.collect_app_status, self._on_collect_app_status)
        actions = charm.meta.actions
        if RETRY_ACTION in actions:
            self.framework.observe(charm.on[RETRY_ACTION].action, self._on_retry)
        if SKIP_ACTION in actions:
            self.framework.observe(charm.on[SKIP_ACTION].action, self._on_skip)

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The endpoint whose events this component handles (the base skips it)."""
        return (self.endpoint,)

    @property
    def relation(self) -> Optional[ops.Relation]:
        return self.model.get_relation(self.endpoint)

    # -- reading -----------------------------------------------------------------------------

    def app_data(self) -> MembershipAppData:
        """What the leader keeps (empty until it first writes, or when it is malformed: the
        leader rewrites it on its next reconcile)."""
        relation = self.relation
        if relation is None:
            return MembershipAppData()
        try:
            return read_databag(relation, self.charm.app, MembershipAppData) or MembershipAppData()
        except MalformedDatabagError:
            return MembershipAppData()

    def min_size(self, config: Optional[WorkloadConfig]) -> int:
        return int(getattr(config, "min_cluster_size", 1))

    def cluster(
        self,
        config: WorkloadConfig,
        address: str,
        data_address: str,
        problems: list[ops.StatusBase],
    ) -> Cluster:
        """The unit's cluster as the leader keeps it, and why it must wait, if it must."""
        min_size = self.min_size(config)
        roster = Roster(self.app_data())
        cluster = Cluster(address, data_address, roster.present, min_size, roster)
        own = roster.member(self.charm.unit.name)
        if own is None:
            problems.append(ops.WaitingStatus("waiting for the leader to add this unit"))
        elif own.departed:
            problems.extend(own_status(roster.data, self.charm.unit.name))
        elif not cluster.complete:
            missing = min_size - len(roster.members)
            problems.append(
                ops.WaitingStatus(
                    f"waiting for {missing} more {self.charm.app.name} unit(s) "
                    f"(min-cluster-size {min_size})"
                )
            )
        return cluster

    # -- writing -------------------------------------------------------------------------------

    def apply(self, evaluation: Evaluation[Any], unit_fields: Mapping[str, object]) -> bool:
        """Publish this unit's facts (with the base's `unit_fields`: its TLS CA); as leader
        keep the members. True when the leader's data changed (the base evaluates again)."""
        relation = self.relation
        if relation is None:
            return False
        cluster = evaluation.cluster
        if cluster is not None:
            own = MembershipUnitData.model_validate(
                {
                    "address": cluster.address,
                    "data_address": cluster.data_address,
                    "hostname": self.charm.resolve_hostname(cluster.address),
                    **unit_fields,
                }
            )
            write_databag(relation, self.charm.unit, own)
        if not self.charm.unit.is_leader():
            return False
        before = self.app_data()
        led = lead(
            before,
            self._present(relation),
            self.min_size(evaluation.config),
            self.targets,
            self._runner(evaluation.config),
            dying=self.dying,
        )
        data = self.charm.leader_setup(relation, led.data)
        write_databag(relation, self.charm.app, data)
        return data != before

    def _present(self, relation: ops.Relation) -> dict[str, Optional[UnitFacts]]:
        """Every unit on the relation (this one too) with what it published, None until it
        publishes something readable (a malformed databag counts as nothing yet)."""
        present: dict[str, Optional[UnitFacts]] = {}
        for unit in {self.charm.unit, *relation.units}:
            try:
                data = read_databag(relation, unit, MembershipUnitData)
            except MalformedDatabagError:
                data = None
            if data is None or data.address is None:
                present[unit.name] = None
                continue
            data_address = str(data.data_address) if data.data_address else None
            present[unit.name] = UnitFacts(str(data.address), data_address, data.hostname)
        return present

    def _runner(self, config: Optional[WorkloadConfig]) -> Runner:
        """Commands in this unit's own containers, on the engine they run on."""
        charm = self.charm

        def run(container: str, argv: Sequence[str], timeout: float) -> ExecResult:
            if config is None:
                raise EngineError("the charm's configuration is invalid; fix it first")
            engine = charm.make_engine(charm.runtime_kind(config))
            return engine.exec(charm.project, container, argv, timeout)

        return run

    # -- status ----------------------------------------------------------------------------

    def report(self, config: Optional[WorkloadConfig]) -> Report:
        """Refusals, failed steps and progress, from the leader's data (any unit can tell)."""
        data = self.app_data()
        return report(data, self.min_size(config), self.charm.app.name, self._unnumbered(data))

    def statuses(self, config: Optional[WorkloadConfig]) -> list[ops.StatusBase]:
        return self.report(config).problems

    def notes(self, config: Optional[WorkloadConfig]) -> list[str]:
        return self.report(config).notes

    def _unnumbered(self, data: MembershipAppData) -> list[str]:
        """Units that published an address but got no id: every id up to 255 was given."""
        relation = self.relation
        if relation is None or (data.next_member_id or 1) <= MAX_MEMBER_ID:
            return []
        known = {m.unit for m in data.members}
        present = self._present(relation)
        return sorted(unit for unit, facts in present.items() if facts and unit not in known)

    def _on_collect_app_status(self, event: ops.CollectStatusEvent) -> None:
        if not self.charm.unit.is_leader():
            return
        found = self.report(self.charm.evaluate().config)
        for problem in found.problems:
            event.add_status(problem)
        if found.notes:
            event.add_status(ops.ActiveStatus("; ".join(found.notes)))

    # -- events ----------------------------------------------------------------------------

    def _on_change(self, _event: ops.EventBase) -> None:
        self.charm.reconcile()

    def _on_departed(self, event: ops.RelationDepartedEvent) -> None:
        if event.departing_unit == self.charm.unit:
            self.dying = True
            self._leave()
        self.charm.reconcile()

    def _on_going(self, event: ops.EventBase) -> None:
        """The peer relation is gone, or the unit stops for good: as leader it changes
        nothing any more. The base's own handlers (remove) do the rest."""
        self.dying = True
        if isinstance(event, ops.RelationBrokenEvent):
            self.charm.reconcile()

    def _on_update_status(self, _event: ops.UpdateStatusEvent) -> None:
        if self.charm.unit.is_leader() and self.app_data().removals:
            self.charm.reconcile()  # a step may be waiting for a service to answer

    def _leave(self) -> None:
        """Once, on this unit's first relation-departed as the departing unit."""
        if self._stored.left:
            return
        self._stored.left = True
        config = self.charm.evaluate().config
        departure = leave(
            self.app_data(),
            self.charm.unit.name,
            self.min_size(config),
            self.targets,
            self._runner(config),
        )
        if departure.refused:
            logger.warning("not leaving the services before removal: %s", departure.refused)
        for done in departure.done:
            logger.info("left the cluster: %s", done)
        for failed in departure.failed:
            logger.error("could not leave the cluster cleanly: %s", failed)

    def _on_retry(self, event: ops.ActionEvent) -> None:
        self._resolve(event, retry, "retried")

    def _on_skip(self, event: ops.ActionEvent) -> None:
        self._resolve(event, skip, "counted as done")

    def _resolve(self, event: ops.ActionEvent, how: Callable[..., Any], outcome: str) -> None:
        relation = self.relation
        if not self.charm.unit.is_leader() or relation is None:
            event.fail("run it on the leader: juju run <application>/leader ...")
            return
        member = int(event.params.get("member", 0))
        data = self.app_data()
        removal = next((r for r in data.removals if r.member == member), None)
        if removal is None or not any(s.state == "failed" for s in removal.steps):
            event.fail(f"member {member} has no failed removal step; see juju status")
            return
        changed = data.model_copy(update={"removals": how(data.removals, member)})
        write_databag(relation, self.charm.app, changed)
        self.charm.reconcile()
        event.set_results({"member": member, "failed-steps": outcome})
