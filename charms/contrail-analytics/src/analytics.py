"""The analytics workload: its config, its inputs, and one container per Contrail service."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field

from contrail_common.base_charm import Cluster
from contrail_common.config import WorkloadConfig
from contrail_common.containers import Mount
from contrail_common.services import (
    Service,
    contrail_env,
    join,
    node_init,
    nodemgr,
    provisioner,
)

VERSION_IMAGE = "analytics-api"
# The analytics API: what `juju expose` opens.
PORTS = (8081,)


class AnalyticsConfig(WorkloadConfig):
    min_cluster_size: int = Field(default=1, ge=1, le=9)


@dataclass
class AnalyticsInputs:
    """What analytics learns from the controller and, optionally, analyticsdb."""

    controller_ips: list[str] = field(default_factory=list)
    controller_data_ips: list[str] = field(default_factory=list)
    auth_mode: str = "rbac"
    orchestrator: str = ""
    # Empty when analyticsdb is not related: then there are no alarm and SNMP services.
    analyticsdb_ips: list[str] = field(default_factory=list)


def services(config: AnalyticsConfig, cluster: Cluster, inputs: AnalyticsInputs) -> list[Service]:
    """Every analytics container; alarm and SNMP groups only with an analytics database."""
    own = join(cluster.addresses)
    with_db = bool(inputs.analyticsdb_ips)
    controllers = join(inputs.controller_ips)
    common = {
        **contrail_env(
            controller_ips=inputs.controller_ips,
            controller_data_ips=inputs.controller_data_ips,
            analytics_ips=cluster.addresses,
            analyticsdb_ips=inputs.analyticsdb_ips,
            log_level=config.log_level,
            auth_mode=inputs.auth_mode,
            orchestrator=inputs.orchestrator,
        ),
        "ANALYTICS_ALARM_NODES": own,
        "ANALYTICS_SNMP_NODES": own,
        "KAFKA_NODES": own,
    }
    result = [
        node_init(common, config.image("status")),
        nodemgr("analytics", "analytics", common),
        provisioner("analytics", "analytics", common),
        Service("analytics-api", "analytics-api", "analytics", common),
        Service(
            "analytics-collector",
            "analytics-collector",
            "analytics",
            common,
            cap_add=("SYS_PTRACE",),
        ),
        Service(
            "redis",
            "external-redis",
            "analytics",
            {"REDIS_NODES": own, "REDIS_SERVER_PORT": "6379"},
        ),
    ]
    if with_db:
        kafka = {
            # Ordinal, by member id: the broker's position is its broker.id, kept in its log
            # volume, so it must never move (`membership.yaml`).
            "KAFKA_NODES": join(cluster.ordinal_addresses),
            "ZOOKEEPER_NODES": controllers,
            "ZOOKEEPER_PORT": "2181",
            # No KAFKA_LISTEN_ADDRESS: only when it is unset does the entrypoint find this
            # broker's place in KAFKA_NODES, which is its broker.id (`contract.yaml`).
        }
        result += [
            nodemgr("alarm", "analytics-alarm", common),
            provisioner("alarm", "analytics-alarm", common),
            Service(
                "alarm-kafka",
                "external-kafka",
                "analytics-alarm",
                kafka,
                # Kafka keeps its log segments in /tmp/kafka-logs inside the container.
                mounts=(Mount(source="analytics-kafka", target="/tmp/kafka-logs", kind="volume"),),  # noqa: S108
            ),
            Service("alarm-gen", "analytics-alarm-gen", "analytics-alarm", common),
            nodemgr("snmp", "analytics-snmp", common),
            provisioner("snmp", "analytics-snmp", common),
            Service("snmp-collector", "analytics-snmp-collector", "analytics-snmp", common),
            Service("snmp-topology", "analytics-snmp-topology", "analytics-snmp", common),
        ]
    return result
