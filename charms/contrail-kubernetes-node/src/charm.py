#!/usr/bin/env python3
"""Juju charm for Contrail's Kubernetes CNI: ops glue around `kubernetes_node.py`."""

from __future__ import annotations

import logging
import socket
from typing import Optional

import ops
from kubernetes_node import (
    CNI_BINARY_PATH,
    CNI_CONF_DIR,
    CNI_CONF_NAME,
    CNI_CONF_PATH,
    IMAGE_CNI_CONF_PATH,
    OLD_CNI_CONF_NAMES,
    VERSION_IMAGE,
    KubernetesNodeConfig,
    NodeInputs,
    endpoint,
    old_cni_confs_to_remove,
    overlaps,
    parse_cidrs,
    render_cni_conf,
    services,
)

from contrail_common.base_charm import Cluster, ContrailCharm, Evaluation
from contrail_common.containers import ApplyReport
from contrail_common.databag import write_databag
from contrail_common.host.interfaces import default_route_interfaces
from contrail_common.services import Service
from contrail_interfaces import contrail_kubernetes_config_v0 as config_schema
from contrail_interfaces import kubernetes_cni_v0 as cni_schema

logger = logging.getLogger(__name__)

CNI = "cni"
KUBERNETES_CONFIG = "contrail-kubernetes-config"
PROBE_TIMEOUT = 2.0


class ContrailKubernetesNodeCharm(ContrailCharm[KubernetesNodeConfig]):
    config_class = KubernetesNodeConfig
    # A subordinate without peers: each unit serves its own principal. Its address is not used
    # by the workload; it is read from a global endpoint because network-get on a
    # container-scoped one (cni) is refused by ops.testing.
    peer_endpoint = None
    binding_endpoint = KUBERNETES_CONFIG
    node_role = "k8s-node"
    version_image = VERSION_IMAGE
    metrics_port = 9746

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        # The control plane re-points its default link in its own hooks, not ours.
        framework.observe(self.on.update_status, self._remove_old_cni_confs)

    # -- inputs ------------------------------------------------------------------------------

    def gather(
        self, config: KubernetesNodeConfig, cluster: Cluster
    ) -> tuple[NodeInputs, list[ops.StatusBase]]:
        problems: list[ops.StatusBase] = []
        inputs = NodeInputs()
        master = self._read_cluster_settings(inputs, problems)
        self._read_principal(inputs, problems)
        for pod, service in overlaps(inputs.pod_subnets, inputs.service_cidrs):
            problems.append(
                ops.BlockedStatus(
                    f"pod subnet {pod} overlaps the Kubernetes service CIDR {service}: "
                    f"change pod_subnets on {master}"
                )
            )
        if inputs.nested_mode:
            inputs.parent_interface = self.default_interface() or ""
            if not inputs.parent_interface:
                problems.append(
                    ops.BlockedStatus(
                        "nested mode: this machine has no IPv4 default route, so there is no "
                        "interface for the pods' sub-interfaces"
                    )
                )
        return inputs, problems

    def _read_cluster_settings(self, inputs: NodeInputs, problems: list[ops.StatusBase]) -> str:
        """Cluster name, pod subnets and nested mode from the master; returns its app name."""
        relations = self.model.relations[KUBERNETES_CONFIG]
        if not relations:
            problems.append(
                ops.BlockedStatus(
                    f"missing relation: {KUBERNETES_CONFIG} "
                    f"(juju integrate {self.app.name} contrail-kubernetes-master)"
                )
            )
            return "contrail-kubernetes-master"
        names = sorted(r.app.name for r in relations if r.app is not None)
        if len(relations) > 1:
            problems.append(
                ops.BlockedStatus(
                    f"{KUBERNETES_CONFIG}: related to {', '.join(names)}; "
                    f"relate exactly one contrail-kubernetes-master"
                )
            )
            return names[0] if names else "contrail-kubernetes-master"
        relation = relations[0]
        master = relation.app.name if relation.app is not None else "contrail-kubernetes-master"
        before = len(problems)
        data = self.read_app_data(relation, config_schema.ProviderAppData, problems)
        if len(problems) > before:
            return master  # malformed: already reported
        if data is None or not data.cluster_name or not data.pod_subnets:
            problems.append(
                ops.WaitingStatus(f"waiting for {master} to publish the cluster settings")
            )
            return master
        inputs.cluster_name = data.cluster_name
        inputs.pod_subnets = [str(subnet) for subnet in data.pod_subnets]
        if data.nested_mode:
            self._read_nested(relation, data, inputs, problems)
        return master

    def _read_nested(
        self,
        relation: ops.Relation,
        data: config_schema.ProviderAppData,
        inputs: NodeInputs,
        problems: list[ops.StatusBase],
    ) -> None:
        master = relation.app.name if relation.app else "contrail-kubernetes-master"
        inputs.nested_mode = True
        if data.nested_port is not None and not 0 < data.nested_port < 65536:
            problems.append(
                ops.BlockedStatus(
                    f"{relation.name} data from {master} is malformed (nested-port): "
                    f"fix or upgrade {master}"
                )
            )
        elif data.nested_port is not None:
            inputs.nested_port = data.nested_port
        if data.nested_vip is None:
            problems.append(
                ops.WaitingStatus(
                    f"waiting for {master} to publish the underlay vRouter address (nested-vip)"
                )
            )
        else:
            inputs.nested_vip = str(data.nested_vip)

    def _read_principal(self, inputs: NodeInputs, problems: list[ops.StatusBase]) -> None:
        """The kubeconfig hash and service CIDR from the principal unit on this machine."""
        relations = self.model.relations[CNI]
        if not relations:
            problems.append(
                ops.BlockedStatus(
                    f"missing relation: {CNI} (juju integrate {self.app.name} "
                    f"kubernetes-control-plane:cni; juju integrate {self.app.name} "
                    f"kubernetes-worker:cni)"
                )
            )
            return
        # A container-scoped relation has at most one remote unit: the principal.
        joined = [r for r in relations if r.units]
        if not joined:
            apps = " or ".join(sorted(r.app.name for r in relations if r.app is not None))
            problems.append(
                ops.WaitingStatus(
                    f"waiting for {apps or 'the principal'} to write its kubeconfig "
                    f"(kubeconfig-hash)"
                )
            )
            return
        hashes: list[str] = []
        for relation in joined:
            for unit in sorted(relation.units, key=lambda u: u.name):
                data = self._read_principal_unit(relation, unit, problems)
                if data is None:
                    continue
                if data.service_cidr:
                    inputs.service_cidrs += [str(n) for n in parse_cidrs(data.service_cidr)]
                if data.kubeconfig_hash:
                    hashes.append(data.kubeconfig_hash)
                else:
                    problems.append(
                        ops.WaitingStatus(
                            f"waiting for {unit.app.name} to write its kubeconfig "
                            f"(kubeconfig-hash)"
                        )
                    )
        inputs.kubeconfig_hash = ",".join(hashes)

    def _read_principal_unit(
        self, relation: ops.Relation, unit: ops.Unit, problems: list[ops.StatusBase]
    ) -> Optional[cni_schema.ProviderUnitData]:
        """A principal unit's databag, with its service CIDR checked; problems are reported."""
        data = self.read_unit_data(relation, unit, cni_schema.ProviderUnitData, problems)
        if data is not None and data.service_cidr:
            try:
                parse_cidrs(data.service_cidr)
            except ValueError:
                problems.append(
                    ops.BlockedStatus(
                        f"{relation.name} data from {unit.name} is malformed (service-cidr): "
                        f"fix or upgrade {unit.app.name}"
                    )
                )
                return None
        return data

    def services(
        self, config: KubernetesNodeConfig, cluster: Cluster, inputs: NodeInputs
    ) -> list[Service]:
        return services(config, inputs)

    # -- outputs -----------------------------------------------------------------------------

    def publish_unit(self, evaluation: Evaluation[KubernetesNodeConfig]) -> None:
        """Every unit tells its own principal the pod CIDR and the CNI config file name."""
        inputs = evaluation.inputs if isinstance(evaluation.inputs, NodeInputs) else None
        data = cni_schema.RequirerUnitData.model_validate(
            {"cidr": inputs.cidr if inputs else None, "cni_conf_file": CNI_CONF_NAME}
        )
        for relation in self.model.relations[CNI]:
            write_databag(relation, self.unit, data)

    def reconcile(self) -> Optional[ApplyReport]:
        report = super().reconcile()
        evaluation = self.evaluate()
        if evaluation.ready:
            # Rendered only from complete inputs; an incomplete reconcile leaves the last good
            # file in place, so running pods keep their network.
            if render_cni_conf(self.host.path(CNI_CONF_PATH), evaluation.inputs):
                logger.info("wrote %s", CNI_CONF_PATH)
        self._remove_old_cni_confs()
        return report

    def _remove_old_cni_confs(self, _event: Optional[ops.EventBase] = None) -> None:
        """After an upgrade: the file of an earlier name, once ours is in place and no link
        (the control plane's 01-default.<ext>) points at the old one."""
        if not self.host.path(CNI_CONF_PATH).exists():
            return
        for old in old_cni_confs_to_remove(self.host.path(CNI_CONF_DIR)):
            old.unlink()
            logger.info(
                "removed %s/%s, the CNI config name of earlier releases", CNI_CONF_DIR, old.name
            )

    # -- health ------------------------------------------------------------------------------

    def workload_checks(
        self, evaluation: Evaluation[KubernetesNodeConfig]
    ) -> list[ops.StatusBase]:
        problems: list[ops.StatusBase] = []
        if not self.host.path(CNI_BINARY_PATH).exists():
            problems.append(
                ops.WaitingStatus(f"waiting for cni-init to install {CNI_BINARY_PATH}")
            )
        if not self.host.path(CNI_CONF_PATH).exists():
            problems.append(ops.WaitingStatus(f"waiting for {CNI_CONF_PATH} to be written"))
        inputs = evaluation.inputs
        if isinstance(inputs, NodeInputs) and inputs.nested_mode:
            if not self.probe(inputs.nested_vip, inputs.nested_port):
                problems.append(
                    ops.WaitingStatus(
                        f"cannot reach the underlay vRouter agent at "
                        f"{endpoint(inputs.nested_vip, inputs.nested_port)}: create the "
                        f"link-local service K8s-cni-to-agent in the underlay Contrail"
                    )
                )
        return problems

    # -- the host, through methods tests replace ---------------------------------------------

    def probe(self, address: str, port: int) -> bool:
        """Whether a TCP connection to address:port opens within PROBE_TIMEOUT."""
        try:
            with socket.create_connection((address, port), timeout=PROBE_TIMEOUT):
                return True
        except OSError:
            return False

    def default_interface(self) -> Optional[str]:
        """The interface of the default route (the pods' parent interface in nested mode)."""
        try:
            interfaces = default_route_interfaces(self.host)
        except OSError:
            return None
        return interfaces[0] if interfaces else None

    # -- removal -----------------------------------------------------------------------------

    def _on_remove(self, event: ops.RemoveEvent) -> None:
        super()._on_remove(event)
        # Without its config, kubelet stops handing pods to the Contrail CNI on this machine.
        old = [f"{CNI_CONF_DIR}/{name}" for name in OLD_CNI_CONF_NAMES]
        for path in (CNI_CONF_PATH, IMAGE_CNI_CONF_PATH, *old):
            self.host.path(path).unlink(missing_ok=True)


if __name__ == "__main__":  # pragma: nocover
    ops.main(ContrailKubernetesNodeCharm)
