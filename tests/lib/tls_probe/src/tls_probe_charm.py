"""The TLS component composed as ContrailCharm will compose it, on the smallest charm.

One reconcile: evaluate (names from config, the switch from the controller relation), apply,
report the unit's CA on the peer relation and, as leader, the application's TLS to the
controller, then "deploy" (record the services as `with_tls` renders them). The status lists
the component's problems and notes.
"""

from __future__ import annotations

import json
import os
from typing import ClassVar, Optional

import ops

from contrail_common.databag import MalformedDatabagError, read_databag, write_databag
from contrail_common.hostpaths import HostRoot
from contrail_common.images.releases import R24_1
from contrail_common.services import Service, node_init
from contrail_common.status import combine
from contrail_common.tls.component import TlsCertificates, TlsEvaluation
from contrail_common.tls.env import with_tls
from contrail_common.tls.fields import TlsReportFields, TlsSwitchFields, TlsUnitFields
from contrail_common.tls.names import UnitNames, unit_names
from contrail_common.tls.switch import Switch, application_tls, unit_fields

PEER = "probe-cluster"
CONTROLLER = "controller"
SERVICES = (
    node_init({"LOG_LEVEL": "SYS_NOTICE"}, "opensdn/contrail-status:R24.1-latest"),
    Service("config-api", "controller-config-api", "config", {"LOG_LEVEL": "SYS_NOTICE"}),
    Service("redis", "external-redis", "webui", {"REDIS_NODES": "10.0.0.10"}),
)


def deployed_path(host: HostRoot, module: str):
    return host.path(f"/var/lib/tls-probe/{module}.json")


class TlsProbeCharm(ops.CharmBase):
    host: ClassVar[HostRoot] = HostRoot()
    hostnames: ClassVar[tuple[str, ...]] = ("node1.maas", "node1")

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self.module = self.unit.name.replace("/", "-")
        # Tests run unprivileged: the key goes to the test's own group instead of 1999.
        self.tls = TlsCertificates(
            self, self.module, self.host, self.reconcile, key_group=os.getgid()
        )
        for event in (self.on.install, self.on.config_changed, self.on.leader_elected):
            framework.observe(event, self._on_change)
        for endpoint in self.meta.relations:
            if endpoint in self.tls.endpoints:
                continue
            framework.observe(self.on[endpoint].relation_changed, self._on_change)
            framework.observe(self.on[endpoint].relation_departed, self._on_change)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _on_change(self, _event: ops.EventBase) -> None:
        self.reconcile()

    def names(self) -> Optional[UnitNames]:
        address = str(self.config.get("address", ""))
        if not address:
            return None
        data = str(self.config.get("data-address", "")) or None
        vip = str(self.config.get("vip", "")) or None
        return unit_names(address, data, vip=vip, hostnames=self.hostnames)

    def switch(self) -> Switch:
        relation = self.model.get_relation(CONTROLLER)
        if relation is None or relation.app is None:
            return Switch()
        try:
            return Switch.from_fields(read_databag(relation, relation.app, TlsSwitchFields))
        except MalformedDatabagError:
            return Switch()

    def evaluate(self) -> TlsEvaluation:
        return self.tls.evaluate(self.names(), self.switch())

    def reconcile(self) -> None:
        evaluation = self.evaluate()
        problems = [*evaluation.problems, *self.tls.apply(evaluation)]
        peer = self.model.get_relation(PEER)
        if peer is not None:
            write_databag(
                peer, self.unit, TlsUnitFields.model_validate(unit_fields(evaluation.ca))
            )
            if self.unit.is_leader():
                self._report(peer)
        if not problems:
            rendered = with_tls(SERVICES, R24_1, evaluation.material)
            path = deployed_path(self.host, self.module)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                json.dumps(
                    {
                        s.name: {
                            "env": dict(s.env),
                            "mounts": [m.source for m in s.mounts],
                            "labels": dict(s.extra_labels),
                        }
                        for s in rendered
                    }
                )
            )

    def _report(self, peer: ops.Relation) -> None:
        units = {}
        for unit in {self.unit, *peer.units}:
            try:
                units[unit.name] = read_databag(peer, unit, TlsUnitFields)
            except MalformedDatabagError:
                units[unit.name] = None
        report, _ = application_tls(self.app.name, self.tls.related, units)
        for relation in self.model.relations[CONTROLLER]:
            write_databag(relation, self.app, TlsReportFields.model_validate(report.fields()))

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        evaluation = self.evaluate()
        ready = "; ".join(["Unit is ready", *evaluation.notes])
        event.add_status(combine(evaluation.problems, active_message=ready))
