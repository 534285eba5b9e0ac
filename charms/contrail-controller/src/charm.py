#!/usr/bin/env python3
"""Juju charm for the Contrail controller: ops glue around `controller.py`."""

from __future__ import annotations

import secrets

import ops
from controller import (
    PORTS,
    VERSION_IMAGE,
    ControllerConfig,
    ControllerInputs,
    KubernetesCluster,
    services,
)

from contrail_common.base_charm import Cluster, ContrailCharm, Evaluation
from contrail_common.cluster import PeerAppData
from contrail_common.databag import write_databag
from contrail_common.membership import CassandraTarget, RabbitmqTarget, Targets
from contrail_common.monitoring.cos import IntrospectPort
from contrail_common.monitoring.nrpe import HttpCheck
from contrail_common.services import CONFIG_CASSANDRA, Service
from contrail_common.tls.certificate import ca_certs
from contrail_common.tls.component import read_report, read_switch
from contrail_common.tls.fields import TlsSwitchFields
from contrail_common.tls.switch import AppTls, Decision, Switch, decide
from contrail_common.vip import ENDPOINT as VIP
from contrail_common.vip import VipReading, read_vip
from contrail_interfaces import contrail_analytics_v0 as analytics_schema
from contrail_interfaces import contrail_analyticsdb_v0 as analyticsdb_schema
from contrail_interfaces import contrail_controller_v0 as controller_schema

ANALYTICS = "contrail-analytics"
ANALYTICSDB = "contrail-analyticsdb"
PROVIDES = "contrail-controller"
# Values the leader generates once and keeps in charm secrets, never hard-coded defaults:
# peer field -> (secret key, what it is, secret label).
GENERATED = {
    "erlang_cookie_secret": (
        "cookie",
        "Erlang cookie of the controller's RabbitMQ nodes",
        "rabbitmq-erlang-cookie",
    ),
    "webui_password_secret": ("password", "web UI admin password", "webui-admin-password"),
}


class ContrailControllerCharm(ContrailCharm[ControllerConfig]):
    config_class = ControllerConfig
    peer_endpoint = "controller-cluster"
    node_role = "controller"
    version_image = VERSION_IMAGE
    metrics_port = 9741
    introspects = (IntrospectPort("control", 8083),)
    ports = PORTS
    data_network_option = "data-network"
    # The leader removes departed units from the config database's Cassandra, its RabbitMQ
    # and ZooKeeper's server list.
    membership_targets = Targets(
        CassandraTarget("configdb-cassandra", CONFIG_CASSANDRA.jmx),
        RabbitmqTarget("configdb-rabbitmq"),
        zookeeper=True,
    )
    # The web UI always speaks HTTPS; the config API follows the deployment's TLS.
    unit_http_checks = (HttpCheck("api", 8082), HttpCheck("webui", 8143, tls=True))

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        # The operator's apply-defaults requests, counted: an intent, not derivable state.
        self._stored.set_default(defaults_generation=0)
        framework.observe(self.on.apply_defaults_action, self._on_apply_defaults)
        framework.observe(self.on.webui_password_action, self._on_webui_password)

    # -- inputs ------------------------------------------------------------------------------

    def gather(
        self, config: ControllerConfig, cluster: Cluster
    ) -> tuple[ControllerInputs, list[ops.StatusBase]]:
        problems: list[ops.StatusBase] = []
        inputs = ControllerInputs(defaults_generation=int(self._stored.defaults_generation))
        relation = self.require_relation(ANALYTICS, problems)
        if relation is not None:
            data = self.read_published(
                relation, analytics_schema.ProviderAppData, problems, lambda d: d.analytics_ips
            )
            if data is not None:
                inputs.analytics_ips = [str(ip) for ip in data.analytics_ips]
        for relation in self.model.relations[ANALYTICSDB]:
            db_data = self.read_published(
                relation, analyticsdb_schema.ProviderAppData, problems, lambda d: d.analyticsdb_ips
            )
            if db_data is not None:
                inputs.analyticsdb_ips = [str(ip) for ip in db_data.analyticsdb_ips]
        self._gather_orchestrators(inputs, problems)
        reading = self.vip()
        problems.extend(reading.problems)
        inputs.vip = reading.vip
        inputs.erlang_cookie = self._generated("erlang_cookie_secret", "cookie", problems)
        inputs.webui_password = self._generated("webui_password_secret", "password", problems)
        return inputs, problems

    def vip(self) -> VipReading:
        """The VIP keepalived holds for the controller units, if it is related."""
        return read_vip(self.model.get_relation(VIP))

    def active_notes(self, evaluation: Evaluation[ControllerConfig]) -> list[str]:
        reading = self.vip()
        return [*([f"VIP {reading.vip.address}"] if reading.vip else []), *reading.notes]

    @property
    def http_checks(self) -> tuple[HttpCheck, ...]:  # type: ignore[override]
        """This unit's API and web UI; the leader alone also checks the API on the VIP, so
        Nagios checks the VIP once, whichever unit holds it."""
        vip = self.vip().vip
        if vip is None or not self.unit.is_leader():
            return self.unit_http_checks
        return (*self.unit_http_checks, HttpCheck("vip", 8082, host=vip.address))

    def _gather_orchestrators(
        self, inputs: ControllerInputs, problems: list[ops.StatusBase]
    ) -> None:
        """Kubernetes clusters keyed by cluster name, one per requiring application."""
        # In relation order (ids grow as relations are made), so messages do not vary.
        for relation in sorted(self.model.relations[PROVIDES], key=lambda r: r.id):
            data = self.read_app_data(relation, controller_schema.RequirerAppData, problems)
            if (
                data is None
                or data.unit_type != "kubernetes"
                or not data.cluster_name
                or relation.app is None
            ):
                continue
            other = inputs.kubernetes.get(data.cluster_name)
            if other is not None:
                problems.append(
                    ops.BlockedStatus(
                        f"kubernetes cluster name {data.cluster_name} is used by both "
                        f"{other.application} and {relation.app.name}: give each a cluster_name"
                    )
                )
                continue
            inputs.kubernetes[data.cluster_name] = KubernetesCluster(
                name=data.cluster_name,
                application=relation.app.name,
                pod_subnets=tuple(str(net) for net in data.pod_subnets),
                api_server=data.kubernetes_api_server,
                api_port=data.kubernetes_api_port,
            )
        if not inputs.kubernetes:
            problems.append(
                ops.BlockedStatus(
                    "no orchestrator: relate contrail-kubernetes-master to "
                    f"{self.app.name}:{PROVIDES}"
                )
            )

    def _generated(self, field: str, key: str, problems: list[ops.StatusBase]) -> str:
        """A value the leader generated once for the application (see GENERATED)."""
        secret_id = getattr(self.peer_app_data(), field)
        what = GENERATED[field][1]
        if not secret_id:
            problems.append(ops.WaitingStatus(f"waiting for the leader to generate the {what}"))
            return ""
        try:
            return self.model.get_secret(id=secret_id).get_content(refresh=True)[key]
        except (ops.SecretNotFoundError, ops.ModelError, KeyError):
            problems.append(ops.WaitingStatus(f"waiting for the {what} secret"))
            return ""

    def services(
        self, config: ControllerConfig, cluster: Cluster, inputs: ControllerInputs
    ) -> list[Service]:
        return services(config, cluster, inputs)

    # -- TLS: the controller leader decides for the deployment --------------------------------

    def published_switch(self) -> Switch:
        """The leader's decision as it keeps it on the peer relation, for every controller unit."""
        return read_switch(self.peer, self.app)

    def tls_decision(self, evaluation: Evaluation[ControllerConfig]) -> Decision:
        """Leader only: TLS on once every related application holds a certificate from one CA
        (this one included), off once one of them has no certificates relation."""
        reports = [evaluation.tls.report or AppTls(self.app.name, None)]
        for endpoint in (ANALYTICS, ANALYTICSDB):
            reports += [read_report(relation) for relation in self.model.relations[endpoint]]
        for relation in sorted(self.model.relations[PROVIDES], key=lambda r: r.id):
            data = self.read_app_data(relation, controller_schema.RequirerAppData, [])
            app = relation.app.name if relation.app is not None else PROVIDES
            # Consumers that run no Contrail daemon (OpenStack, tools) take only the CA.
            if data is None or data.unit_type in (None, "agent", "kubernetes"):
                reports.append(AppTls.from_fields(app, data))
        hint = evaluation.tls.provider or "<provider>"
        return decide(reports, self.published_switch(), hint)

    def workload_checks(self, evaluation: Evaluation[ControllerConfig]) -> list[ops.StatusBase]:
        if not self.unit.is_leader():
            return []
        return list(self.tls_decision(evaluation).problems)

    def _published_ca(self, evaluation: Evaluation[ControllerConfig], switch: Switch) -> list[str]:
        """The deployment's CA, from this unit's files, while TLS is on."""
        held = evaluation.tls.files
        if not switch.enabled or held is None or held.ca_identity != switch.ca:
            return []
        return ca_certs(held.ca)

    # -- what the leader publishes -----------------------------------------------------------

    def leader_setup(self, peer: ops.Relation, data: PeerAppData) -> PeerAppData:
        """Generate each value of GENERATED once (also on an upgrade from a charm without it)."""
        update: dict[str, str] = {}
        for field, (key, what, label) in GENERATED.items():
            if getattr(data, field):
                continue
            secret = self.app.add_secret(
                {key: secrets.token_urlsafe(24)}, label=label, description=f"The {what}"
            )
            update[field] = str(secret.id)
        return data.model_copy(update=update) if update else data

    def publish(self, evaluation: Evaluation[ControllerConfig]) -> None:
        config, cluster = evaluation.config, evaluation.cluster
        assert config is not None and cluster is not None
        inputs = (
            evaluation.inputs
            if isinstance(evaluation.inputs, ControllerInputs)
            else ControllerInputs()
        )
        switch = self.tls_decision(evaluation).switch
        if self.peer is not None:
            write_databag(self.peer, self.app, TlsSwitchFields.model_validate(switch.fields()))
        # Nothing is announced before min-cluster-size units are known.
        ips = cluster.addresses if cluster.complete else []
        data_ips = cluster.data_addresses if cluster.complete else []
        provider = controller_schema.ProviderAppData.model_validate(
            {
                "controller_ips": ips,
                "controller_data_ips": data_ips,
                "analytics_ips": inputs.analytics_ips,
                "analyticsdb_ips": inputs.analyticsdb_ips,
                "auth_mode": config.auth_mode,
                # With the addresses: nothing is announced before min-cluster-size units.
                "controller_vip": inputs.vip.address if inputs.vip and ips else None,
                "controller_vip_hostname": inputs.vip.hostname if inputs.vip and ips else None,
                **switch.fields(),
                "ca_certs": self._published_ca(evaluation, switch),
                "kubernetes_clusters": {
                    name: {
                        "pod_subnets": list(k8s.pod_subnets),
                        "api_server": k8s.api_server,
                        "api_port": k8s.api_port,
                    }
                    for name, k8s in sorted(inputs.kubernetes.items())
                },
            }
        )
        for relation in self.model.relations[PROVIDES]:
            write_databag(relation, self.app, provider)
        northbound = {
            "controller_ips": ips,
            "controller_data_ips": data_ips,
            "auth_mode": config.auth_mode,
            "cloud_orchestrator": inputs.orchestrator or None,
            **switch.fields(),
        }
        for relation in self.model.relations[ANALYTICS]:
            write_databag(
                relation, self.app, analytics_schema.RequirerAppData.model_validate(northbound)
            )
        for relation in self.model.relations[ANALYTICSDB]:
            data = analyticsdb_schema.RequirerAppData.model_validate(
                {**northbound, "unit_type": "controller"}
            )
            write_databag(relation, self.app, data)

    # -- actions -----------------------------------------------------------------------------

    def _on_webui_password(self, event: ops.ActionEvent) -> None:
        problems: list[ops.StatusBase] = []
        password = self._generated("webui_password_secret", "password", problems)
        if not password:
            event.fail("the leader has not generated the web UI password yet; see juju status")
            return
        event.set_results({"username": "admin", "password": password})

    def _on_apply_defaults(self, event: ops.ActionEvent) -> None:
        if not self.evaluate().ready:
            event.fail("the unit is not ready yet; see juju status")
            return
        self._stored.defaults_generation = int(self._stored.defaults_generation) + 1
        report = self.reconcile()
        if report is None:
            event.fail(f"could not re-create the provisioners: {self._stored.deploy_error}")
            return
        event.set_results({"recreated": ",".join(report.recreated)})


if __name__ == "__main__":  # pragma: nocover
    ops.main(ContrailControllerCharm)
