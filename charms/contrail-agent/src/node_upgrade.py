"""The agent charm's side of a node upgrade: its host for `upgrade.agent.upgrade_node`, its
container layout, and its kernel checks for another tag's line (no ops events here).

Starting the node on a tag is the charm's own reconcile with that tag for every container
(`NodeUpgrades.override`), so the env files, the kernel build wait and the status are the
ordinary ones; a one-shot run is the same with the agents left out until the build is done.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Optional

import ops
from kernel_preflight import check_kernel
from vrouter import AGENT, AGENT_DPDK, KERNEL_INIT, KERNEL_INIT_DPDK

from contrail_common.config import WorkloadConfig
from contrail_common.containers import ContainerEngine, ContainerState, EngineError
from contrail_common.evaluation import Evaluation
from contrail_common.host import HostError, running_kernel
from contrail_common.images.releases import UnknownReleaseError
from contrail_common.monitoring.introspect import IntrospectError, Peer, vrouter_agent_peers
from contrail_common.upgrade import facts, module_version
from contrail_common.upgrade.agent import NodeLayout, OneShot
from contrail_common.upgrade.node import Override
from contrail_common.upgrade.workloads import config_for

if TYPE_CHECKING:
    from charm import ContrailAgentCharm

logger = logging.getLogger(__name__)

AGENT_INTROSPECT = 8085
_ERROR_LINE = re.compile(r"\b(error|ERROR|failed|FAILED)\b")


class AgentHost:
    """`upgrade.agent.AgentHost` on this unit's engine and host tree."""

    def __init__(self, charm: ContrailAgentCharm, evaluation: Evaluation[Any]) -> None:
        self.charm = charm
        self.evaluation = evaluation
        assert evaluation.config is not None and evaluation.cluster is not None
        self.address = evaluation.cluster.address

    @property
    def engine(self) -> ContainerEngine:
        config = self.evaluation.config
        assert config is not None
        return self.charm.make_engine(self.charm.runtime_kind(config))

    def stop(self, container: str, signal: str, timeout: int) -> None:
        self.charm.unit.status = ops.MaintenanceStatus(f"stopping {container} with {signal}")
        self.engine.stop(self.charm.project, container, signal, timeout)

    def run_once(self, container: str, tag: str, timeout: float) -> OneShot:
        """The node's containers on `tag` without the agents, then `container`'s outcome."""
        self.charm.node_upgrades.override = Override(tag, frozenset({AGENT, AGENT_DPDK}))
        self.charm.reconcile()
        engine = self.engine
        waited = 0.0
        while True:
            try:
                state = engine.status(self.charm.project, [container]).get(container)
            except EngineError as error:
                return OneShot(None, str(error))
            if state is not None and state.state == ContainerState.EXITED:
                error = "" if state.exit_code == 0 else self._error_line(container)
                return OneShot(state.exit_code, error)
            if state is None or state.state == ContainerState.MISSING or waited >= timeout:
                return OneShot(None, f"{container} was not created" if state is None else "")
            self.sleep(5.0)
            waited += 5.0

    def start(self, tag: str) -> None:
        self.charm.node_upgrades.override = Override(tag)
        self.charm.reconcile()

    def loaded_version(self) -> Optional[str]:
        return module_version.loaded_version(self.charm.host)

    def built_version(self) -> Optional[str]:
        try:
            kernel = running_kernel(self.charm.host)
            return module_version.built_version(self.charm.host, kernel)
        except (OSError, module_version.ModuleFileError) as error:
            logger.warning("could not read the built vrouter.ko: %s", error)
            return None

    def remove_built_modules(self) -> list[str]:
        removed = []
        pattern = facts.STALE_MODULES.lstrip("/")
        for path in sorted(self.charm.host.path("/").glob(pattern)):
            path.unlink()
            removed.append(str(path))
        return removed

    def xmpp_peers(self) -> Optional[list[Peer]]:
        try:
            return vrouter_agent_peers(f"http://{self.address}:{AGENT_INTROSPECT}")
        except IntrospectError:
            return None

    def sleep(self, seconds: float) -> None:
        self.charm.sleep(seconds)

    def _error_line(self, container: str) -> str:
        try:
            output = self.engine.logs(self.charm.project, container, 200)
        except EngineError:
            return ""
        errors = [line.strip() for line in output.splitlines() if _ERROR_LINE.search(line)]
        return errors[0][:200] if errors else ""


class AgentNodeSide:
    """`upgrade.node.NodeSide` for the agent charm."""

    def __init__(self, charm: ContrailAgentCharm) -> None:
        self.charm = charm

    def host(self, evaluation: Evaluation[Any]) -> AgentHost:
        return AgentHost(self.charm, evaluation)

    def layout(self, config: WorkloadConfig) -> NodeLayout:
        if getattr(config, "dpdk", False):
            return NodeLayout(AGENT, KERNEL_INIT_DPDK, dpdk_forwarder=AGENT_DPDK)
        return NodeLayout(AGENT, KERNEL_INIT)

    def kernel_problem(self, evaluation: Evaluation[Any], tag: str) -> Optional[str]:
        """The kernel preflight of `tag`'s line on this machine (kernel mode): only what no
        build can get past (the kernel range, the headers, a lockdown)."""
        config = evaluation.config
        if config is None or getattr(config, "dpdk", False) or not tag:
            return None
        tagged = config_for(config, tag)
        try:
            line = tagged.release
            kernel = running_kernel(self.charm.host)
            found = check_kernel(self.charm.host, line, tag, kernel, None, lambda: "")
        except (UnknownReleaseError, OSError, HostError) as error:
            return str(error)
        return "; ".join(found.blocked) or None

    def module_mismatch(self, evaluation: Evaluation[Any]) -> Optional[str]:
        """The loaded vrouter.ko is not the one built for the running kernel (kernel mode)."""
        config = evaluation.config
        if config is None or getattr(config, "dpdk", False):
            return None
        host = self.charm.host
        try:
            loaded = module_version.loaded_version(host)
            built = module_version.built_version(host, running_kernel(host))
        except (OSError, module_version.ModuleFileError):
            return None
        if loaded is None or built is None or loaded == built:
            return None
        return f"vrouter.ko {loaded} is loaded, not {built} that was built for this kernel"
