"""The analyticsdb workload: its config, its inputs, and one container per Contrail service."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field, field_validator

from contrail_common.base_charm import Cluster
from contrail_common.config import SingleLine, WorkloadConfig
from contrail_common.containers import Mount
from contrail_common.services import Service, join, node_init, nodemgr, provisioner

VERSION_IMAGE = "contrail-analytics-query-engine"
# Nothing is meant to be reached from outside the Contrail networks: `juju expose` opens nothing.
PORTS: tuple[int, ...] = ()
# The role label of the database containers and the NODE_TYPE their Contrail services read.
ROLE = "database"

# Analytics Cassandra's ports; the config database of the controller uses 9161/9041/7012/7013/7201.
CASSANDRA_PORT = "9160"
CASSANDRA_CQL_PORT = "9042"
CASSANDRA_STORAGE_PORT = "7010"
CASSANDRA_SSL_STORAGE_PORT = "7011"
CASSANDRA_JMX_LOCAL_PORT = "7200"


class AnalyticsdbConfig(WorkloadConfig):
    min_cluster_size: int = Field(default=1, ge=1, le=9)
    cassandra_minimum_diskgb: int = Field(default=256, ge=1)
    cassandra_jvm_extra_opts: SingleLine = ""

    @field_validator("cassandra_jvm_extra_opts")
    @classmethod
    def _check_jvm_options(cls, value: str) -> str:
        if any(not word.startswith("-") for word in value.split()):
            raise ValueError("must be JVM options such as -Xms1g -Xmx2g")
        return value


@dataclass
class AnalyticsdbInputs:
    """What analyticsdb learns from the controller and analytics applications."""

    controller_ips: list[str] = field(default_factory=list)
    controller_data_ips: list[str] = field(default_factory=list)
    auth_mode: str = "rbac"
    orchestrator: str = ""
    analytics_ips: list[str] = field(default_factory=list)


def services(
    config: AnalyticsdbConfig, cluster: Cluster, inputs: AnalyticsdbInputs
) -> list[Service]:
    """Every analyticsdb container with the environment it needs, and nothing it does not.

    A container's env holds only what that service reads, so an option change re-creates just
    the containers it concerns: cassandra-jvm-extra-opts re-creates database-cassandra alone,
    cassandra-minimum-diskgb database-nodemgr alone, and Cassandra never restarts for a change
    in the controller or analytics addresses.
    """
    common = _common_env(config, cluster, inputs)
    return [
        node_init(common),
        nodemgr(
            "database",
            ROLE,
            {
                **common,
                "CASSANDRA_CQL_PORT": CASSANDRA_CQL_PORT,
                "CASSANDRA_JMX_LOCAL_PORT": CASSANDRA_JMX_LOCAL_PORT,
                "DATABASE_NODEMGR__DEFAULTS__minimum_diskGB": str(config.cassandra_minimum_diskgb),
            },
        ),
        provisioner("database", ROLE, common),
        Service("database-query-engine", "contrail-analytics-query-engine", ROLE, common),
        Service(
            "database-cassandra",
            "contrail-external-cassandra",
            ROLE,
            _cassandra_env(config, cluster),
            mounts=(
                Mount(source="analytics-cassandra", target="/var/lib/cassandra", kind="volume"),
            ),
        ),
    ]


def _common_env(
    config: AnalyticsdbConfig, cluster: Cluster, inputs: AnalyticsdbInputs
) -> dict[str, str]:
    """What every Contrail (not third-party) service of analyticsdb reads."""
    controllers = join(inputs.controller_ips)
    return {
        "CONTROLLER_NODES": controllers,
        "CONFIG_NODES": controllers,
        "CONFIGDB_NODES": controllers,
        "ZOOKEEPER_NODES": controllers,
        "RABBITMQ_NODES": controllers,
        # An older controller may publish no data addresses: its control nodes then listen on
        # the API addresses.
        "CONTROL_NODES": join(inputs.controller_data_ips or inputs.controller_ips),
        "ANALYTICS_NODES": join(inputs.analytics_ips),
        "ANALYTICSDB_NODES": join(cluster.addresses),
        "ANALYTICSDB_CQL_PORT": CASSANDRA_CQL_PORT,
        "CONFIGDB_PORT": "9161",
        "CONFIGDB_CQL_PORT": "9041",
        "RABBITMQ_NODE_PORT": "5673",
        "LOG_LEVEL": config.log_level,
        "AAA_MODE": inputs.auth_mode,
        "AUTH_MODE": "noauth",
        "CLOUD_ORCHESTRATOR": inputs.orchestrator,
        "SSL_ENABLE": "false",
    }


def _cassandra_env(config: AnalyticsdbConfig, cluster: Cluster) -> dict[str, str]:
    """The third-party Cassandra reads its own variables only."""
    return {
        "NODE_TYPE": ROLE,
        "CASSANDRA_CLUSTER_NAME": "contrail_analytics",
        # Every node sees the same first three members as seeds, in the leader's order.
        "CASSANDRA_SEEDS": join(cluster.addresses[:3]),
        "CASSANDRA_LISTEN_ADDRESS": cluster.address,
        "CASSANDRA_START_RPC": "true",
        "CASSANDRA_PORT": CASSANDRA_PORT,
        "CASSANDRA_CQL_PORT": CASSANDRA_CQL_PORT,
        "CASSANDRA_STORAGE_PORT": CASSANDRA_STORAGE_PORT,
        "CASSANDRA_SSL_STORAGE_PORT": CASSANDRA_SSL_STORAGE_PORT,
        "CASSANDRA_JMX_LOCAL_PORT": CASSANDRA_JMX_LOCAL_PORT,
        "JVM_EXTRA_OPTS": config.cassandra_jvm_extra_opts,
    }
