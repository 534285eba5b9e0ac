"""`Monitoring`: nrpe-external-master and cos-agent as one component the base charm composes.

The base calls `apply(evaluation)` at the end of every reconcile, `statuses()` in its
collect-status, `monitored` before recording container states, and `remove()` when the unit
goes. The component handles its own endpoints' events (`endpoints`, which the base skips) and
retries a failed exporter on update-status, the one thing update-status may change.

The Nagios checks follow the unit's expected services and its address; they are left as they
were while the unit is not ready (its services are unknown then). The exporter starts as soon
as the unit's address is known. A monitoring failure never fails the workload's hook: nrpe's
is logged, the exporter's is kept (StoredState) and shown as Blocked until a retry works.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

import ops

from ..evaluation import Evaluation
from ..hostpaths import HostRoot
from . import cos, nrpe
from .states import remove_container_states

if TYPE_CHECKING:
    from ..base_charm import ContrailCharm

logger = logging.getLogger(__name__)


class Monitoring(ops.Object):
    """The unit's Nagios checks and metrics exporter, for the monitors it is related to."""

    # Why StoredState: a failure to run the exporter is not derivable without retrying it,
    # and only update-status retries it; its message is kept until a retry works.
    _stored = ops.StoredState()

    def __init__(self, charm: ContrailCharm[Any], project: str, host: HostRoot) -> None:
        super().__init__(charm, "monitoring")
        self.charm = charm
        self.project = project
        self.host = host
        self._stored.set_default(error="")
        for endpoint in self.endpoints:
            events = charm.on[endpoint]
            for event in (events.relation_joined, events.relation_changed, events.relation_broken):
                self.framework.observe(event, self._on_relation)
        self.framework.observe(charm.on.update_status, self._on_update_status)

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The monitors' endpoints the charm offers (the base leaves their events here)."""
        return tuple(e for e in (nrpe.ENDPOINT, cos.ENDPOINT) if e in self.charm.meta.relations)

    @property
    def monitored(self) -> bool:
        """Whether a monitor (Nagios or COS) reads this unit's recorded container states."""
        return any(monitor is not None and monitor.related for monitor in self._monitors())

    def statuses(self) -> list[ops.StatusBase]:
        error = str(self._stored.error)
        return [ops.BlockedStatus(error)] if error else []

    def apply(self, evaluation: Evaluation[Any]) -> None:
        """The checks and the exporter as the unit is now."""
        self._update_nrpe(evaluation)
        self._update_cos(evaluation)
        if not self.monitored:
            remove_container_states(self.host, self.project)

    def remove(self) -> None:
        """The unit is going: every check, the exporter and the recorded states go."""
        self._update_nrpe(None, remove=True)
        self._update_cos(None, remove=True)
        remove_container_states(self.host, self.project)

    # -- events -------------------------------------------------------------------------------

    def _on_relation(self, _event: ops.RelationEvent) -> None:
        self.apply(self.charm.evaluate())

    def _on_update_status(self, _event: ops.UpdateStatusEvent) -> None:
        if self._stored.error:  # retried here: nothing else may change meanwhile
            self._update_cos(self.charm.evaluate())

    # -- the two monitors ---------------------------------------------------------------------

    def _nrpe(self) -> Optional[nrpe.Nrpe]:
        if nrpe.ENDPOINT not in self.charm.meta.relations:
            return None
        return nrpe.Nrpe(self.charm, self.project, self.host, self.charm.systemctl_runner())

    def _cos(self) -> Optional[cos.CosAgent]:
        if cos.ENDPOINT not in self.charm.meta.relations:
            return None
        runner = self.charm.systemctl_runner()
        return cos.CosAgent(self.charm, self.project, self.host, self.charm.metrics_port, runner)

    def _monitors(self) -> tuple[Optional[nrpe.Nrpe], Optional[cos.CosAgent]]:
        return self._nrpe(), self._cos()

    def _update_nrpe(self, evaluation: Optional[Evaluation[Any]], remove: bool = False) -> None:
        """One check per expected container plus the charm's HTTP checks; none once unrelated."""
        monitor = self._nrpe()
        if monitor is None:
            return
        try:
            if remove or not monitor.related:
                monitor.remove()
                return
            if evaluation is None or not evaluation.ready:
                return
            config, cluster = evaluation.config, evaluation.cluster
            assert config is not None and cluster is not None
            containers = [s.name for s in self.charm.expected_services()]
            monitor.update(
                config.nagios_context, config.nagios_servicegroups,
                containers, self.charm.http_checks, cluster.address,
                evaluation.tls.material.enabled,  # the APIs speak HTTPS under TLS
            )  # fmt: skip
        except OSError as error:  # monitoring never fails the workload's hook
            logger.error("could not update the nrpe checks: %s", error)

    def _update_cos(self, evaluation: Optional[Evaluation[Any]], remove: bool = False) -> None:
        """The exporter running and the cos-agent data published; both gone once unrelated."""
        monitor = self._cos()
        if monitor is None:
            return
        try:
            if remove or not monitor.related:
                monitor.remove()
                self._stored.error = ""
                return
            if evaluation is None or evaluation.cluster is None:
                return
            address = evaluation.cluster.address
            monitor.update(address, self.charm.introspects, self.charm.install_packages)
            self._stored.error = ""
        except (cos.ExporterError, OSError) as error:  # never fails the workload's hook
            logger.error("could not run the metrics exporter: %s", error)
            self._stored.error = f"cos-agent: {error}"


def install_packages(names: Sequence[str]) -> None:
    """Install Ubuntu packages (the metrics exporter's python3-prometheus-client)."""
    from charmlibs import apt  # imported here: only units related to cos-agent need it

    try:
        apt.update()
        apt.add_package(list(names))
    except (apt.Error, apt.PackageError, apt.PackageNotFoundError) as error:
        raise cos.ExporterError(
            f"could not install {', '.join(names)}: {error} (check the machine's apt "
            "sources and proxy)"
        ) from error
