#!/usr/bin/env python3
"""Juju charm for the Contrail vRouter agent on Kubernetes machines: ops glue."""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import ops
from kernel_preflight import Preflight, check_kernel
from node_upgrade import AgentNodeSide
from vrouter import (
    AGENT,
    AGENT_DPDK,
    KERNEL_INIT,
    VERSION_IMAGE,
    AgentConfig,
    AgentInputs,
    HostFacts,
    contrail_cpuset,
    services,
)
from vrouter import notes as vrouter_notes
from vrouter_host import (
    MEMORY_ERROR,
    MODULE_LOADERS,
    HugepageRequest,
    bridge_notes,
    dpdk_problems,
    hugepage_problems,
    hugepage_request,
    kernel_module_waiting,
    module_memory_message,
    prepare_hugepages,
    reboot_required,
    vhost_address,
    vrouter_gateway,
)

from contrail_common.base_charm import Cluster, ContrailCharm, Evaluation
from contrail_common.config import InvalidConfigError
from contrail_common.containers import ApplyReport, ContainerState, ContainerStatus, EngineError
from contrail_common.databag import write_databag
from contrail_common.host import HostError, running_kernel
from contrail_common.images.releases import UnknownReleaseError
from contrail_common.monitoring.cos import IntrospectPort
from contrail_common.services import Service
from contrail_common.tls.component import read_switch
from contrail_common.tls.switch import Switch
from contrail_common.upgrade.compose import LINKS
from contrail_common.upgrade.node import NodeUpgrades
from contrail_common.upgrade.workloads import config_for
from contrail_interfaces import contrail_controller_v0 as controller_schema

logger = logging.getLogger(__name__)

CONTROLLER = "contrail-controller"
# A container that exited, or that its engine restarts, with a non-zero code.
_FAILED = (ContainerState.EXITED, ContainerState.RESTARTING)
# A one-shot container still at work.
_BUSY = (ContainerState.CREATED, ContainerState.RUNNING)


@dataclass
class KernelInputs(AgentInputs):
    """The agent's inputs plus the kernel preflight they were read with (kernel mode only)."""

    preflight: Optional[Preflight] = None


class ContrailAgentCharm(ContrailCharm[AgentConfig]):
    config_class = AgentConfig
    peer_endpoint = "agent-cluster"
    node_role = "compute"
    version_image = VERSION_IMAGE
    metrics_port = 9744
    introspects = (IntrospectPort("vrouter-agent", 8085),)
    # A hook that (re)created vrouter-kernel-init waits this long for DKMS to build the module
    # (minutes), so that the agent starts in that hook: update-status starts nothing.
    kernel_build_timeout: ClassVar[float] = 900.0
    kernel_build_poll: ClassVar[float] = 5.0
    # An agent's data-plane address is its vhost0's: `_address` answers it for this name, so
    # the peers' member list carries every unit's vhost0 address (TSN_NODES in csn-mode).

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        # Why StoredState:
        # - deployed_dpdk, deployed_l3mh_cidr: the values the containers were first created
        #   with. Neither may change under a running vRouter (DPDK owns the NIC, L3MH shapes
        #   vhost0) and the running containers do not tell them back cheaply; a change blocks.
        # - host_error(_status): a failed host change (update-grub, sysctl) is not derivable
        #   without retrying it, and update-status must not retry; kept until the next reconcile.
        # - reboot_requested: Juju refuses juju-reboot in actions, so the reboot action leaves
        #   the request for the next hook.
        self._stored.set_default(
            deployed_dpdk=None,
            deployed_l3mh_cidr=None,
            host_error="",
            host_error_status="",
            reboot_requested=False,
        )
        self._vhost: dict[tuple[str, ...], Optional[str]] = {}
        # Each node moves to a new image-tag by its own upgrade action, not with the config.
        self.node_upgrades = NodeUpgrades(
            self, "agent-cluster", LINKS["contrail-agent"], AgentNodeSide(self)
        )
        self.upgrades = self.node_upgrades
        # After a reboot (1 GiB hugepages, a new kernel) Juju runs start: reconcile then.
        framework.observe(self.on.start, self._on_change)
        framework.observe(self.on.update_status, self._on_update_status)
        framework.observe(self.on.reboot_action, self._on_reboot_action)
        # After the base removed the containers: undo this charm's boot-time host changes.
        framework.observe(self.on.remove, self._on_remove_host_changes)

    # -- the host, through methods tests replace ------------------------------------------

    def run_host_command(
        self, argv: Sequence[str], **kwargs: Any
    ) -> subprocess.CompletedProcess[Any]:
        """The runner of the host helpers (update-grub, ip); an argument list, never a shell."""
        return subprocess.run(list(argv), **kwargs)

    def node_hostname(self, fqdn: bool) -> str:
        """The name the vRouter registers under (hostname-use-fqdn)."""
        return socket.getfqdn() if fqdn else socket.gethostname()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    # -- addresses ---------------------------------------------------------------------------

    def data_address(
        self, config: AgentConfig, address: str, problems: list[ops.StatusBase]
    ) -> Optional[str]:
        """vhost0's address once the vRouter runs (the TSN peers' address), else the unit's."""
        return self._vhost_address(config) or address

    def _vhost_address(self, config: AgentConfig) -> Optional[str]:
        key = config.physical_interface
        if key not in self._vhost:
            self._vhost[key] = vhost_address(config, self.host, self.run_host_command)
        return self._vhost[key]

    # -- inputs ------------------------------------------------------------------------------

    def gather(
        self, config: AgentConfig, cluster: Cluster
    ) -> tuple[AgentInputs, list[ops.StatusBase]]:
        problems: list[ops.StatusBase] = []
        inputs = KernelInputs()
        self._check_immutables(config, problems)
        self._gather_host(config, inputs, problems)
        self._gather_controller(config, inputs, problems)
        self._check_kernel(config, inputs, problems)
        if config.csn_mode:
            inputs.tsn_nodes = cluster.data_addresses
        return inputs, problems

    def _check_immutables(self, config: AgentConfig, problems: list[ops.StatusBase]) -> None:
        deployed_dpdk = self._stored.deployed_dpdk
        if deployed_dpdk is not None and bool(deployed_dpdk) != config.dpdk:
            problems.append(
                ops.BlockedStatus(
                    f"dpdk cannot change after deploy: set it back to "
                    f"{str(bool(deployed_dpdk)).lower()} (or replace the unit)"
                )
            )
        deployed_cidr = self._stored.deployed_l3mh_cidr
        if deployed_cidr is not None and str(deployed_cidr) != config.l3mh_cidr:
            value = f'"{deployed_cidr}"' if deployed_cidr else "empty"
            problems.append(
                ops.BlockedStatus(
                    f"l3mh-cidr cannot change after deploy: set it back to {value} "
                    "(or replace the unit)"
                )
            )

    def _immutables_changed(self, config: AgentConfig) -> bool:
        problems: list[ops.StatusBase] = []
        self._check_immutables(config, problems)
        return bool(problems)

    def _gather_host(
        self, config: AgentConfig, inputs: AgentInputs, problems: list[ops.StatusBase]
    ) -> None:
        host_error = str(self._stored.host_error)
        if host_error:
            status = str(self._stored.host_error_status) or "blocked"
            problems.append(ops.StatusBase.from_name(status, host_error))
        try:
            request = hugepage_request(config, self.host)
            inputs.host = HostFacts(
                kernel_release=running_kernel(self.host),
                hostname=self.node_hostname(config.hostname_use_fqdn),
                gateway=vrouter_gateway(config, self.host),
                dpdk_hugepages=request.pages_2m if config.dpdk else 0,
            )
            if not host_error:
                scheduled = " (reboot scheduled)" if self._stored.reboot_requested else ""
                for message in hugepage_problems(self.host, request):
                    suffix = scheduled if message.startswith("reboot required") else ""
                    problems.append(ops.BlockedStatus(message + suffix))
            if config.dpdk:
                first = self._stored.deployed_dpdk is None
                for message in dpdk_problems(config, self.host, request.pages_2m, first):
                    problems.append(ops.BlockedStatus(message))
        except (OSError, ValueError, HostError) as error:
            problems.append(ops.BlockedStatus(f"cannot read this machine's state: {error}"))

    def _check_kernel(
        self, config: AgentConfig, inputs: KernelInputs, problems: list[ops.StatusBase]
    ) -> None:
        """The kernel preflight (kernel mode). Its failures do not stop the deploy: they keep
        the build and the agent out of it (see `services`), so a running agent is removed
        rather than left restarting on `modprobe vrouter`; `workload_checks` reports them."""
        kernel = inputs.host.kernel_release
        if config.dpdk or not config.image_tag or not kernel:
            return  # DPDK builds no module; the other cases already block
        # The tag the node runs, which its upgrade action moves, not always image-tag.
        config = config_for(config, self.node_upgrades.evaluate(config).tag)
        try:
            line = config.release
        except UnknownReleaseError:
            return  # the config check names the tag
        # Before the agent first ran, the unit may still switch to DPDK mode.
        remedy = "dpdk=true" if self._stored.deployed_dpdk is None else "dpdk=true on a new unit"
        try:
            inputs.preflight = check_kernel(
                self.host,
                line,
                config.image_tag,
                kernel,
                self._kernel_init_state(config),
                lambda: self._kernel_init_log(config),
                remedy,
                self.unit.name,
            )
        except OSError as error:
            problems.append(ops.BlockedStatus(f"cannot read this machine's state: {error}"))
            return
        if problems:  # listed with what else is missing, all at once
            problems.extend(ops.BlockedStatus(m) for m in inputs.preflight.blocked)

    def _kernel_init_state(self, config: AgentConfig) -> Optional[ContainerStatus]:
        if not self._stored.runtime:
            return None  # nothing was created yet
        try:
            engine = self.make_engine(self.runtime_kind(config))
            return engine.status(self.project, [KERNEL_INIT]).get(KERNEL_INIT)
        except EngineError as error:
            logger.warning("could not read the state of %s: %s", KERNEL_INIT, error)
            return None

    def _kernel_init_log(self, config: AgentConfig) -> str:
        """Its output: enough of the tail to hold the compiler's errors, which the
        entrypoint prints (DKMS's make.log) just before its last few lines."""
        try:
            engine = self.make_engine(self.runtime_kind(config))
            return engine.logs(self.project, KERNEL_INIT, 5000)
        except EngineError as error:
            logger.warning("could not read the logs of %s: %s", KERNEL_INIT, error)
            return ""

    def _gather_controller(
        self, config: AgentConfig, inputs: AgentInputs, problems: list[ops.StatusBase]
    ) -> None:
        relation = self.require_relation(CONTROLLER, problems)
        if relation is None:
            return
        data = self.read_published(
            relation, controller_schema.ProviderAppData, problems, lambda d: d.controller_ips
        )
        if data is None:
            return
        name = relation.app.name if relation.app is not None else CONTROLLER
        inputs.controller_ips = [str(ip) for ip in data.controller_ips]
        inputs.controller_data_ips = [str(ip) for ip in data.controller_data_ips]
        inputs.analytics_ips = [str(ip) for ip in data.analytics_ips]
        inputs.analyticsdb_ips = [str(ip) for ip in data.analyticsdb_ips]
        inputs.auth_mode = data.auth_mode or "rbac"
        if not inputs.analytics_ips:
            problems.append(
                ops.WaitingStatus(f"waiting for {name} to publish the analytics addresses")
            )
        self._select_cluster(config, data.kubernetes_clusters, name, inputs, problems)

    def _select_cluster(
        self,
        config: AgentConfig,
        clusters: dict[str, controller_schema.KubernetesCluster],
        controller: str,
        inputs: AgentInputs,
        problems: list[ops.StatusBase],
    ) -> None:
        """This machine's cluster, by exact name: never a substring or address match."""
        known = ", ".join(sorted(clusters))
        if not clusters:
            problems.append(
                ops.WaitingStatus(
                    f"waiting for {controller} to know a Kubernetes cluster "
                    "(relate contrail-kubernetes-master to it)"
                )
            )
            return
        name = config.kubernetes_cluster
        if name and name not in clusters:
            problems.append(
                ops.BlockedStatus(
                    f"kubernetes-cluster: {controller} knows no cluster {name!r}; it knows {known}"
                )
            )
            return
        if not name and len(clusters) > 1:
            problems.append(
                ops.BlockedStatus(
                    f"kubernetes-cluster: {controller} knows several Kubernetes clusters "
                    f"({known}); set kubernetes-cluster to this machine's"
                )
            )
            return
        name = name or next(iter(clusters))
        cluster = clusters[name]
        inputs.cluster_name = name
        inputs.pod_subnets = [str(net) for net in cluster.pod_subnets]
        inputs.api_server = cluster.api_server or ""
        inputs.api_port = cluster.api_port

    def services(
        self, config: AgentConfig, cluster: Cluster, inputs: AgentInputs
    ) -> list[Service]:
        """The containers, without the module build or the agent while the preflight keeps
        them back: the engine then removes them, so nothing restarts on a missing module."""
        preflight = getattr(inputs, "preflight", None)
        withheld = set()
        if preflight is not None:
            withheld |= set() if preflight.build else {KERNEL_INIT}
            withheld |= set() if preflight.agent else {AGENT}
        return [s for s in services(config, cluster, inputs) if s.name not in withheld]

    # -- reconcile: the host first ---------------------------------------------------------

    def reconcile(self) -> Optional[ApplyReport]:
        self._prepare_host()
        report = super().reconcile()
        if report is not None and self._await_kernel_build(report):
            # Read the host again: with the module built, the agent joins the containers.
            report = super().reconcile() or report
        if report is not None:
            self._remember_deployed()
        self._reboot_if_requested()
        return report

    def _await_kernel_build(self, report: ApplyReport) -> bool:
        """Whether vrouter-kernel-init, (re)created by this deploy while the agent waits for
        its module, has finished within `kernel_build_timeout`."""
        if KERNEL_INIT not in (*report.created, *report.recreated):
            return False
        evaluation = self.evaluate()
        preflight = getattr(evaluation.inputs, "preflight", None)
        # Judged on what the host showed before this deploy: the state of a container it
        # replaced says nothing about the new build.
        if evaluation.config is None or preflight is None or preflight.module:
            return False
        try:
            engine = self.make_engine(self.runtime_kind(evaluation.config))
            self.unit.status = ops.MaintenanceStatus(f"{KERNEL_INIT} building vrouter.ko")
            for _ in range(max(1, int(self.kernel_build_timeout / self.kernel_build_poll))):
                self.sleep(self.kernel_build_poll)
                state = engine.status(self.project, [KERNEL_INIT]).get(KERNEL_INIT)
                if state is None or state.state not in _BUSY:
                    return True
        except EngineError as error:
            logger.warning("could not follow %s: %s", KERNEL_INIT, error)
            return False
        logger.warning(
            "%s still running after %ss; the agent starts at the next hook that deploys",
            KERNEL_INIT, self.kernel_build_timeout,
        )  # fmt: skip
        return False

    def _prepare_host(self) -> None:
        """Reserve the hugepages asked for, before anything that needs them starts."""
        self._stored.host_error = self._stored.host_error_status = ""
        try:
            config = AgentConfig.load(self.config)
        except InvalidConfigError:
            return  # the status names the option
        if self._immutables_changed(config):
            return  # nothing changes on the host for a mode that cannot be applied
        try:
            prepare_hugepages(
                self.host, hugepage_request(config, self.host), self.run_host_command
            )
        except HostError as error:
            logger.warning("hugepages: %s", error)
            self._stored.host_error_status = error.status_name
            self._stored.host_error = str(error)
        except (OSError, ValueError) as error:
            logger.warning("hugepages: %s", error)
            self._stored.host_error_status = "blocked"
            self._stored.host_error = f"cannot set up hugepages: {error}"

    def _on_remove_host_changes(self, _event: ops.RemoveEvent) -> None:
        """Remove our sysctl and GRUB drop-ins, so the next boot reserves no hugepages for a
        vRouter that is gone. Pages reserved now stay until then: they may be in use."""
        try:
            prepare_hugepages(self.host, HugepageRequest(), self.run_host_command)
        except (HostError, OSError) as error:
            logger.warning("could not remove the hugepage settings: %s", error)

    def _remember_deployed(self) -> None:
        """The mode fixes once the agent ran (it takes the NIC and shapes vhost0); a unit whose
        preflight kept the agent back may still switch to DPDK mode."""
        config = self.evaluate().config
        agents = {s.name for s in self.expected_services()} & {AGENT, AGENT_DPDK}
        if config is not None and agents and self._stored.deployed_dpdk is None:
            self._stored.deployed_dpdk = config.dpdk
            self._stored.deployed_l3mh_cidr = config.l3mh_cidr

    # -- what the agent publishes ----------------------------------------------------------

    def published_switch(self) -> Switch:
        return read_switch(self.model.get_relation(CONTROLLER))

    def publish(self, evaluation: Evaluation[AgentConfig]) -> None:
        data = controller_schema.RequirerAppData.model_validate(
            {"unit_type": "agent", **evaluation.tls.report_fields()}
        )
        for relation in self.model.relations[CONTROLLER]:
            write_databag(relation, self.app, data)

    def publish_unit(self, evaluation: Evaluation[AgentConfig]) -> None:
        config = evaluation.config
        assert config is not None
        deployed = self._stored.deployed_dpdk
        data = controller_schema.RequirerUnitData.model_validate(
            {
                "dpdk": config.dpdk if deployed is None else bool(deployed),
                "vhost_address": self._vhost_address(config),
            }
        )
        for relation in self.model.relations[CONTROLLER]:
            write_databag(relation, self.unit, data)

    # -- health ------------------------------------------------------------------------------

    def workload_checks(self, evaluation: Evaluation[AgentConfig]) -> list[ops.StatusBase]:
        config = evaluation.config
        assert config is not None
        if config.dpdk:
            return []
        preflight = getattr(evaluation.inputs, "preflight", None)
        if preflight is not None and (preflight.blocked or preflight.waiting):
            return [
                *(ops.BlockedStatus(message) for message in preflight.blocked),
                *(ops.WaitingStatus(message) for message in preflight.waiting),
            ]
        statuses: list[ops.StatusBase] = []
        try:
            waiting = kernel_module_waiting(self.host)
        except OSError as error:
            waiting = f"cannot check the vrouter kernel module: {error}"
        if waiting:
            statuses.append(ops.WaitingStatus(waiting))
        memory = self._module_memory_failure(config)
        if memory:
            statuses.append(ops.BlockedStatus(memory))
        return statuses

    def _module_memory_failure(self, config: AgentConfig) -> Optional[str]:
        """The remedy when a container that loads the module failed for lack of memory."""
        try:
            engine = self.make_engine(self.runtime_kind(config))
            states = engine.status(self.project)
            for name in MODULE_LOADERS:
                state = states.get(name)
                if state is None or not state.exit_code or state.state not in _FAILED:
                    continue
                if MEMORY_ERROR in engine.logs(self.project, name, 200):
                    return module_memory_message(name)
        except EngineError as error:
            logger.warning("could not read the logs of %s: %s", KERNEL_INIT, error)
        return None

    def active_notes(self, evaluation: Evaluation[AgentConfig]) -> list[str]:
        """Warnings for an active unit: they do not block, but the operator should know."""
        config = evaluation.config
        assert config is not None
        notes = (
            vrouter_notes(evaluation.inputs) if isinstance(evaluation.inputs, AgentInputs) else []
        )
        try:
            notes += bridge_notes(config, self.host)
        except OSError as error:
            logger.warning("could not check the physical interface: %s", error)
        if config.container_cpuset:
            notes.append(
                f"container-cpuset {contrail_cpuset(config)} is not applied yet "
                "(no CPU set support in the container engines)"
            )
        return notes

    # -- reboot ----------------------------------------------------------------------------

    def _reboot_needed(self) -> tuple[bool, str]:
        """Whether a reboot would bring the requested 1 GiB hugepages, and if not why."""
        try:
            config = AgentConfig.load(self.config)
        except InvalidConfigError as error:
            return False, str(error)
        if self._stored.host_error:
            return False, f"a reboot would not help: {self._stored.host_error}"
        try:
            if reboot_required(self.host, hugepage_request(config, self.host)):
                return True, ""
        except (OSError, ValueError) as error:
            return False, f"cannot read the kernel command line: {error}"
        return False, "no reboot is needed: the kernel has the hugepages this unit asks for"

    def _on_reboot_action(self, event: ops.ActionEvent) -> None:
        needed, reason = self._reboot_needed()
        if not needed:
            event.fail(reason)
            return
        self._stored.reboot_requested = True
        event.set_results(
            {
                "result": "reboot scheduled: Juju cannot reboot from an action, so the machine "
                "reboots when this unit's next hook completes (update-status at the latest)"
            }
        )

    def _reboot_if_requested(self) -> None:
        if not self._stored.reboot_requested:
            return
        self._stored.reboot_requested = False
        needed, reason = self._reboot_needed()
        if not needed:
            logger.info("reboot request dropped: %s", reason)
            return
        logger.info("rebooting for the 1 GiB hugepages, as the reboot action asked")
        try:
            self.unit.reboot()  # after this hook completes
        except ops.ModelError as error:
            logger.error("juju-reboot failed: %s", error)

    def _on_update_status(self, _event: ops.UpdateStatusEvent) -> None:
        # Nothing is pulled, started or written here; only a requested reboot is carried out.
        self._reboot_if_requested()


if __name__ == "__main__":  # pragma: nocover
    ops.main(ContrailAgentCharm)
