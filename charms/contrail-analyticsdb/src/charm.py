#!/usr/bin/env python3
"""Juju charm for the Contrail analytics database: ops glue around `analyticsdb.py`."""

from __future__ import annotations

from typing import Literal, Optional

import ops
from analyticsdb import PORTS, VERSION_IMAGE, AnalyticsdbConfig, AnalyticsdbInputs, services

from contrail_common.base_charm import Cluster, ContrailCharm, Evaluation
from contrail_common.databag import MalformedDatabagError, read_databag, write_databag
from contrail_common.membership import CassandraTarget, Targets
from contrail_common.services import ANALYTICS_CASSANDRA, Service
from contrail_common.tls.switch import OFF, Switch
from contrail_interfaces import contrail_analyticsdb_v0 as schema

PROVIDES = "contrail-analyticsdb"
Kind = Literal["controller", "analytics"]
# Each requirer says which it is by `unit-type`; the charm it is expected to be.
REQUIRERS: dict[Kind, str] = {
    "controller": "contrail-controller",
    "analytics": "contrail-analytics",
}


class ContrailAnalyticsdbCharm(ContrailCharm[AnalyticsdbConfig]):
    config_class = AnalyticsdbConfig
    peer_endpoint = "analyticsdb-cluster"
    node_role = "analyticsdb"
    version_image = VERSION_IMAGE
    metrics_port = 9743
    # The leader removes departed units from the analytics database's Cassandra ring.
    membership_targets = Targets(CassandraTarget("database-cassandra", ANALYTICS_CASSANDRA.jmx))
    ports = PORTS

    # -- inputs ------------------------------------------------------------------------------

    def gather(
        self, config: AnalyticsdbConfig, cluster: Cluster
    ) -> tuple[AnalyticsdbInputs, list[ops.StatusBase]]:
        """Both requirers share one endpoint: sort their application databags by unit-type."""
        problems: list[ops.StatusBase] = []
        writers: dict[Kind, list[tuple[str, schema.RequirerAppData]]] = {
            kind: [] for kind in REQUIRERS
        }
        # Relations whose application has not (validly) said which requirer it is: one of
        # them may be the missing one, so nothing is reported missing while they exist.
        unidentified = 0
        for relation in self.model.relations[PROVIDES]:
            if relation.app is None:
                continue
            known = len(problems)
            data = self.read_app_data(relation, schema.RequirerAppData, problems)
            if data is not None and data.unit_type is not None:
                writers[data.unit_type].append((relation.app.name, data))
                continue
            unidentified += 1
            if len(problems) == known:  # empty or without unit-type, rather than malformed
                problems.append(
                    ops.WaitingStatus(f"waiting for {relation.app.name} to publish its data")
                )
        inputs = AnalyticsdbInputs()
        controller = self._requirer("controller", writers, unidentified, problems)
        if controller is not None:
            inputs.controller_ips = [str(ip) for ip in controller.controller_ips]
            inputs.controller_data_ips = [str(ip) for ip in controller.controller_data_ips]
            inputs.auth_mode = controller.auth_mode or inputs.auth_mode
            inputs.orchestrator = controller.cloud_orchestrator or ""
        analytics = self._requirer("analytics", writers, unidentified, problems)
        if analytics is not None:
            inputs.analytics_ips = [str(ip) for ip in analytics.analytics_ips]
        return inputs, problems

    def _requirer(
        self,
        kind: Kind,
        writers: dict[Kind, list[tuple[str, schema.RequirerAppData]]],
        unidentified: int,
        problems: list[ops.StatusBase],
    ) -> Optional[schema.RequirerAppData]:
        """The one application of this kind once it published its addresses, else why not."""
        charm = REQUIRERS[kind]
        found = writers[kind]
        if not found:
            if not unidentified:
                problems.append(
                    ops.BlockedStatus(
                        f"missing relation: {PROVIDES} with {charm} "
                        f"(juju integrate {self.app.name} {charm})"
                    )
                )
            return None
        if len(found) > 1:
            apps = " and ".join(sorted(app for app, _ in found))
            problems.append(
                ops.BlockedStatus(
                    f"{PROVIDES}: {apps} both write unit-type {kind}; relate only one {charm}"
                )
            )
            return None
        app, data = found[0]
        addresses = data.controller_ips if kind == "controller" else data.analytics_ips
        if not addresses:
            problems.append(ops.WaitingStatus(f"waiting for {app} to publish its addresses"))
            return None
        return data

    def services(
        self, config: AnalyticsdbConfig, cluster: Cluster, inputs: AnalyticsdbInputs
    ) -> list[Service]:
        return services(config, cluster, inputs)

    # -- what the leader publishes -----------------------------------------------------------

    def published_switch(self) -> Switch:
        """The controller's decision; the analytics application writes no TLS switch."""
        for relation in self.model.relations[PROVIDES]:
            try:
                data = read_databag(relation, relation.app, schema.RequirerAppData)
            except MalformedDatabagError:
                continue  # gather reports it
            if data is not None and data.unit_type == "controller":
                return Switch.from_fields(data)
        return OFF

    def publish(self, evaluation: Evaluation[AnalyticsdbConfig]) -> None:
        cluster = evaluation.cluster
        assert cluster is not None
        # Nothing is announced before min-cluster-size units are known. Published even while a
        # requirer's data is missing: both requirers wait for these addresses, so holding them
        # back until they have written would deadlock.
        ips = cluster.addresses if cluster.complete else []
        data = schema.ProviderAppData.model_validate(
            {"analyticsdb_ips": ips, **evaluation.tls.report_fields()}
        )
        for relation in self.model.relations[PROVIDES]:
            write_databag(relation, self.app, data)


if __name__ == "__main__":  # pragma: nocover
    ops.main(ContrailAnalyticsdbCharm)
