"""The smallest charm on ContrailCharm: two containers, no relations of its own."""

from __future__ import annotations

import ops
from pydantic import Field

from contrail_common.base_charm import Cluster, ContrailCharm
from contrail_common.config import WorkloadConfig
from contrail_common.monitoring.cos import IntrospectPort
from contrail_common.services import Service, node_init

COMPONENTS = ("node-init", "probe-api")
# The references the probe's images have with the tests' image-tag (the R24.1 line).
IMAGES = tuple(f"opensdn/contrail-{c}:R24.1-latest" for c in COMPONENTS)


class ProbeConfig(WorkloadConfig):
    min_cluster_size: int = Field(default=1, ge=1, le=9)


class ProbeCharm(ContrailCharm[ProbeConfig]):
    config_class = ProbeConfig
    peer_endpoint = "probe-cluster"
    node_role = "probe"
    version_image = "probe-api"
    ports = (8099,)
    metrics_port = 9799
    introspects = (IntrospectPort("control", 8083),)

    def gather(self, config: ProbeConfig, cluster: Cluster) -> tuple[None, list[ops.StatusBase]]:
        return None, []

    def services(self, config: ProbeConfig, cluster: Cluster, inputs: None) -> list[Service]:
        env = {"LOG_LEVEL": config.log_level, "NODES": ",".join(cluster.addresses)}
        return [
            node_init(env, config.image("status")),
            Service("probe-api", "probe-api", "probe", env),
        ]
