#!/usr/bin/env python3
"""Juju charm for Contrail's kube-manager on kubernetes-control-plane: ops glue."""

from __future__ import annotations

import datetime
import ipaddress
import logging

import ops
from kube_api import (
    LEGACY_TOKEN_SECRET,
    NAMESPACE,
    KubeApiError,
    Token,
    api_server,
    client_from_kubeconfig,
    ensure_identity,
    ensure_network_crd,
    kubernetes_service_ip,
    remove_legacy_token_secret,
    request_token,
)
from kubernetes_master import PORTS, VERSION_IMAGE, MasterConfig, MasterInputs, services

from contrail_common.base_charm import Cluster, ContrailCharm, Evaluation
from contrail_common.cluster import PeerAppData
from contrail_common.config import InvalidConfigError
from contrail_common.databag import MalformedDatabagError, read_databag, write_databag
from contrail_common.services import Service
from contrail_common.text import unsafe_problem
from contrail_common.tls.component import read_switch
from contrail_common.tls.switch import OFF, Switch
from contrail_interfaces import contrail_controller_v0 as controller_schema
from contrail_interfaces import contrail_kubernetes_config_v0 as config_schema
from contrail_interfaces import kube_api_endpoint_v0 as endpoint_schema

logger = logging.getLogger(__name__)

CONTROLLER = "contrail-controller"
PROVIDES = "contrail-kubernetes-config"
LEGACY_ENDPOINT = "kube-api-endpoint"
TOKEN_LABEL = "kube-manager-token"  # noqa: S105 - a secret's label, not a secret
KUBECONFIG = "/root/.kube/config"


class ContrailKubernetesMasterCharm(ContrailCharm[MasterConfig]):
    config_class = MasterConfig
    peer_endpoint = "kubernetes-master-cluster"
    node_role = "kubernetes-master"
    version_image = VERSION_IMAGE
    metrics_port = 9745
    ports = PORTS

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        # Kept by the leader: the last Kubernetes API failure (retried on the next event, not
        # derivable without calling the API again), and nested_mode as first deployed.
        self._stored.set_default(api_problem="", deployed_nested_mode=None)
        framework.observe(self.on.secret_rotate, self._on_change)
        framework.observe(self.on.secret_expired, self._on_change)
        # Only the token is refreshed on update-status: nothing is pulled or started.
        framework.observe(self.on.update_status, self._on_update_status)

    @property
    def kubeconfig(self):
        return self.host.path(KUBECONFIG)

    # -- inputs ------------------------------------------------------------------------------

    def gather(
        self, config: MasterConfig, cluster: Cluster
    ) -> tuple[MasterInputs, list[ops.StatusBase]]:
        problems: list[ops.StatusBase] = []
        inputs = MasterInputs()
        self._check_nested_mode_unchanged(config, problems)
        if config.nested_mode:
            inputs.keystone_password = self._keystone_password(config, problems)
        else:
            self._gather_controller(inputs, problems)
        self._gather_api_endpoint(config, inputs, problems)
        data = self.peer_app_data()
        if data.kubernetes_service_ip and not any(
            ipaddress.ip_address(data.kubernetes_service_ip) in net
            for net in config.service_subnets
        ):
            problems.append(
                ops.BlockedStatus(
                    f"service_subnets does not hold the cluster's kubernetes service IP "
                    f"{data.kubernetes_service_ip}: set it to the control plane's service-cidr"
                )
            )
        inputs.token = self._token(data, problems)
        return inputs, problems

    def _check_nested_mode_unchanged(
        self, config: MasterConfig, problems: list[ops.StatusBase]
    ) -> None:
        deployed = self._stored.deployed_nested_mode
        if deployed is not None and bool(deployed) != config.nested_mode:
            problems.append(
                ops.BlockedStatus(
                    "nested_mode cannot change after deploy: set it back to "
                    f"{str(bool(deployed)).lower()} or deploy a new application"
                )
            )

    def _keystone_password(self, config: MasterConfig, problems: list[ops.StatusBase]) -> str:
        uri = config.nested_keystone_password
        try:
            content = self.model.get_secret(id=uri).get_content(refresh=True)
        except (ops.SecretNotFoundError, ops.ModelError):
            problems.append(
                ops.BlockedStatus(
                    f"nested_keystone_password: secret {uri} not found or not granted "
                    f"(juju grant-secret {uri} {self.app.name})"
                )
            )
            return ""
        password = content.get("password", "")
        if not password:
            problems.append(
                ops.BlockedStatus(f"nested_keystone_password: secret {uri} needs the key password")
            )
        problem = unsafe_problem(password)
        if problem:  # it goes into kube-manager's env file, one line
            problems.append(
                ops.BlockedStatus(
                    f"nested_keystone_password: the password in secret {uri} {problem}: "
                    "set it without one (juju update-secret)"
                )
            )
            return ""
        return password

    def _gather_controller(self, inputs: MasterInputs, problems: list[ops.StatusBase]) -> None:
        relation = self.require_relation(CONTROLLER, problems)
        if relation is None:
            return
        data = self.read_published(
            relation, controller_schema.ProviderAppData, problems, lambda d: d.controller_ips
        )
        if data is None:
            return
        inputs.controller_ips = [str(ip) for ip in data.controller_ips]
        inputs.controller_data_ips = [str(ip) for ip in data.controller_data_ips]
        inputs.analytics_ips = [str(ip) for ip in data.analytics_ips]
        inputs.auth_mode = data.auth_mode or "rbac"

    def _gather_api_endpoint(
        self, config: MasterConfig, inputs: MasterInputs, problems: list[ops.StatusBase]
    ) -> None:
        """kube-manager's API address: the override, the legacy relation, or the kubeconfig."""
        if config.kubernetes_api_hostname:
            inputs.api_host, inputs.api_port = (
                config.kubernetes_api_hostname,
                config.kubernetes_api_secure_port,
            )
            return
        for relation in self.model.relations[LEGACY_ENDPOINT]:
            for unit in sorted(relation.units, key=lambda u: u.name):
                try:
                    data = read_databag(relation, unit, endpoint_schema.ProviderUnitData)
                except MalformedDatabagError as error:
                    problems.append(ops.BlockedStatus(str(error)))
                    continue
                if data is not None and data.hostname and data.port:
                    inputs.api_host, inputs.api_port = data.hostname, data.port
                    return
        found = api_server(self.kubeconfig)
        if found is None:
            problems.append(
                ops.WaitingStatus(
                    f"waiting for the Kubernetes API: no usable {KUBECONFIG} on this machine yet"
                )
            )
            return
        inputs.api_host, inputs.api_port = found

    def _token(self, data: PeerAppData, problems: list[ops.StatusBase]) -> str:
        if data.kube_manager_token_secret:
            try:
                secret = self.model.get_secret(id=data.kube_manager_token_secret)
                return secret.get_content(refresh=True)["token"]
            except (ops.SecretNotFoundError, ops.ModelError, KeyError):
                pass
        if self.unit.is_leader():
            reason = self._stored.api_problem or "not requested yet"
            problems.append(ops.WaitingStatus(f"waiting for the kube-manager token: {reason}"))
        else:
            problems.append(
                ops.WaitingStatus("waiting for the leader to create the kube-manager token")
            )
        return ""

    def services(
        self, config: MasterConfig, cluster: Cluster, inputs: MasterInputs
    ) -> list[Service]:
        return services(config, cluster, inputs)

    # -- the leader's Kubernetes identity ------------------------------------------------------

    def leader_setup(self, peer: ops.Relation, data: PeerAppData) -> PeerAppData:
        """Create kube-manager's identity and token once, and rotate the token before expiry.

        API failures are kept for the status and retried on the next event, never raised.
        """
        try:
            config = MasterConfig.load(self.config)
        except Exception:
            return data
        secret, token = self._current_token(data)
        now = datetime.datetime.now(datetime.timezone.utc)
        due = token is None or token.due(now)
        # A fresh token and nothing left to retry: no API call at all.
        if not due and not self._stored.api_problem:
            return data
        try:
            client = client_from_kubeconfig(self.kubeconfig)
            ensure_identity(client)
            if ensure_network_crd(client):
                logger.info("created the NetworkAttachmentDefinition CRD kube-manager watches")
            service_ip = kubernetes_service_ip(client)
            new = request_token(client) if due else None
        except KubeApiError as error:
            logger.warning("kube-manager token: %s", error)
            self._stored.api_problem = str(error)
            return data
        if new is not None:
            token, secret = new, self._store_token(config, secret, new)
        assert token is not None and secret is not None  # due, or both were kept
        updated = data.model_copy(
            update={
                "kube_manager_token_secret": secret.id,
                "kubernetes_service_ip": str(service_ip),
            }
        )
        # Only once the bound token is kept: then nothing needs the never-expiring one.
        try:
            if remove_legacy_token_secret(client):
                logger.info(
                    "deleted Secret %s/%s, the never-expiring kube-manager token of earlier "
                    "charms: kube-manager now uses a bound token that expires %s",
                    NAMESPACE,
                    LEGACY_TOKEN_SECRET,
                    token.expires.isoformat(),
                )
        except KubeApiError as error:
            logger.warning("kube-manager token: %s", error)
            self._stored.api_problem = str(error)
            return updated
        self._stored.api_problem = ""
        return updated

    def _store_token(
        self, config: MasterConfig, secret: ops.Secret | None, token: Token
    ) -> ops.Secret:
        content = {
            "token": token.value,
            "expires": token.expires.isoformat(),
            "issued": token.issued.isoformat(),
        }
        if secret is None:
            return self.app.add_secret(
                content,
                label=TOKEN_LABEL,
                description=f"kube-manager's token for Kubernetes cluster {config.cluster_name}",
                expire=token.expires,
                rotate=ops.SecretRotate.HOURLY,
            )
        secret.set_content(content)
        secret.set_info(expire=token.expires)
        return secret

    def _current_token(self, data: PeerAppData) -> tuple[ops.Secret | None, Token | None]:
        """The kept secret and token; a token without its issue time (kept by an earlier
        version of this charm) counts as none, so it is renewed once and then known."""
        if not data.kube_manager_token_secret:
            return None, None
        try:
            secret = self.model.get_secret(id=data.kube_manager_token_secret)
        except (ops.SecretNotFoundError, ops.ModelError):
            return None, None
        try:
            content = secret.get_content(refresh=True)
            expires, issued = (
                datetime.datetime.fromisoformat(content[key]) for key in ("expires", "issued")
            )
        except (ops.SecretNotFoundError, ops.ModelError, KeyError, ValueError):
            return secret, None
        if expires.tzinfo is None or issued.tzinfo is None:  # not comparable with now
            return secret, None
        return secret, Token(content["token"], expires, issued)

    def _on_update_status(self, _event: ops.UpdateStatusEvent) -> None:
        if self.unit.is_leader() and self.peer is not None:
            data = self.peer_app_data()
            updated = self.leader_setup(self.peer, data)
            if updated != data:
                write_databag(self.peer, self.app, updated)

    # -- what the units publish -------------------------------------------------------------

    def published_switch(self) -> Switch:
        """The controller's decision; nested mode runs no TLS (its underlay is not ours)."""
        try:
            if MasterConfig.load(self.config).nested_mode:
                return OFF
        except InvalidConfigError:
            return OFF  # nothing deploys: the status names the option
        return read_switch(self.model.get_relation(CONTROLLER))

    def publish_unit(self, evaluation: Evaluation[MasterConfig]) -> None:
        config = evaluation.config
        if config is not None and evaluation.ready and self._stored.deployed_nested_mode is None:
            self._stored.deployed_nested_mode = config.nested_mode

    def publish(self, evaluation: Evaluation[MasterConfig]) -> None:
        config = evaluation.config
        assert config is not None
        inputs = (
            evaluation.inputs if isinstance(evaluation.inputs, MasterInputs) else MasterInputs()
        )
        pod_subnets = [str(net) for net in config.pod_subnets]
        for relation in self.model.relations[CONTROLLER]:
            data = controller_schema.RequirerAppData.model_validate(
                {
                    "unit_type": "kubernetes",
                    "cluster_name": config.cluster_name,
                    "pod_subnets": pod_subnets,
                    "kubernetes_api_server": inputs.api_host or None,
                    "kubernetes_api_port": inputs.api_port or None,
                    **evaluation.tls.report_fields(),
                }
            )
            write_databag(relation, self.app, data)
        # The nodes get what the CNI needs and never the underlay credentials.
        node_data = config_schema.ProviderAppData.model_validate(
            {
                "cluster_name": config.cluster_name,
                "pod_subnets": pod_subnets,
                "nested_mode": config.nested_mode,
                "nested_vip": config.nested_vip if config.nested_mode else None,
                "nested_port": config.nested_port if config.nested_mode else None,
            }
        )
        for relation in self.model.relations[PROVIDES]:
            write_databag(relation, self.app, node_data)


if __name__ == "__main__":  # pragma: nocover
    ops.main(ContrailKubernetesMasterCharm)
