#!/usr/bin/env python3
"""Juju charm for Contrail analytics: ops glue around `analytics.py`."""

from __future__ import annotations

import ops
from analytics import PORTS, VERSION_IMAGE, AnalyticsConfig, AnalyticsInputs, services

from contrail_common.base_charm import Cluster, ContrailCharm, Evaluation
from contrail_common.databag import write_databag
from contrail_common.monitoring.nrpe import HttpCheck
from contrail_common.services import Service
from contrail_common.tls.component import read_switch
from contrail_common.tls.switch import Switch
from contrail_interfaces import contrail_analytics_v0 as analytics_schema
from contrail_interfaces import contrail_analyticsdb_v0 as analyticsdb_schema

PROVIDES = "contrail-analytics"
ANALYTICSDB = "contrail-analyticsdb"


class ContrailAnalyticsCharm(ContrailCharm[AnalyticsConfig]):
    config_class = AnalyticsConfig
    peer_endpoint = "analytics-cluster"
    node_role = "analytics"
    version_image = VERSION_IMAGE
    metrics_port = 9742
    ports = PORTS
    http_checks = (HttpCheck("api", 8081),)
    # The analytics API, alarm-gen and query engine of every analytics unit read each other's
    # redis: under TLS redis listens on 127.0.0.1 only and a stunnel serves them.
    tls_stunnel_for = ("redis",)

    def gather(
        self, config: AnalyticsConfig, cluster: Cluster
    ) -> tuple[AnalyticsInputs, list[ops.StatusBase]]:
        problems: list[ops.StatusBase] = []
        inputs = AnalyticsInputs()
        relation = self.model.get_relation(PROVIDES)
        if relation is None:
            problems.append(
                ops.BlockedStatus(
                    f"missing relation: {PROVIDES} with contrail-controller "
                    f"(juju integrate {self.app.name} contrail-controller)"
                )
            )
        else:
            data = self.read_published(
                relation, analytics_schema.RequirerAppData, problems, lambda d: d.controller_ips
            )
            if data is not None:
                inputs.controller_ips = [str(ip) for ip in data.controller_ips]
                inputs.controller_data_ips = [str(ip) for ip in data.controller_data_ips]
                inputs.auth_mode = data.auth_mode or "rbac"
                inputs.orchestrator = data.cloud_orchestrator or ""
        for db in self.model.relations[ANALYTICSDB]:
            db_data = self.read_published(
                db, analyticsdb_schema.ProviderAppData, problems, lambda d: d.analyticsdb_ips
            )
            if db_data is not None:
                inputs.analyticsdb_ips = [str(ip) for ip in db_data.analyticsdb_ips]
        return inputs, problems

    def services(
        self, config: AnalyticsConfig, cluster: Cluster, inputs: AnalyticsInputs
    ) -> list[Service]:
        return services(config, cluster, inputs)

    def published_switch(self) -> Switch:
        return read_switch(self.model.get_relation(PROVIDES))

    def publish(self, evaluation: Evaluation[AnalyticsConfig]) -> None:
        cluster = evaluation.cluster
        assert cluster is not None
        # Nothing is announced before min-cluster-size units are known.
        ips = cluster.addresses if cluster.complete else []
        for relation in self.model.relations[PROVIDES]:
            data = analytics_schema.ProviderAppData.model_validate(
                {"analytics_ips": ips, **evaluation.tls.report_fields()}
            )
            write_databag(relation, self.app, data)
        for relation in self.model.relations[ANALYTICSDB]:
            data = analyticsdb_schema.RequirerAppData.model_validate(
                {"unit_type": "analytics", "analytics_ips": ips}
            )
            write_databag(relation, self.app, data)


if __name__ == "__main__":  # pragma: nocover
    ops.main(ContrailAnalyticsCharm)
