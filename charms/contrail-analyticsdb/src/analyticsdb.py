"""The analyticsdb workload: its config, its inputs, and one container per Contrail service."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field

from contrail_common.base_charm import Cluster
from contrail_common.config import JvmOptions, WorkloadConfig
from contrail_common.containers import Mount
from contrail_common.services import (
    ANALYTICS_CASSANDRA,
    Service,
    cassandra_env,
    contrail_env,
    node_init,
    nodemgr,
    provisioner,
)

VERSION_IMAGE = "analytics-query-engine"
# Nothing is meant to be reached from outside the Contrail networks: `juju expose` opens nothing.
PORTS: tuple[int, ...] = ()
# The role label of the database containers and the NODE_TYPE their Contrail services read.
ROLE = "database"


class AnalyticsdbConfig(WorkloadConfig):
    min_cluster_size: int = Field(default=1, ge=1, le=9)
    cassandra_minimum_diskgb: int = Field(default=256, ge=1)
    cassandra_jvm_extra_opts: JvmOptions = ""


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
    common = contrail_env(
        controller_ips=inputs.controller_ips,
        controller_data_ips=inputs.controller_data_ips,
        analytics_ips=inputs.analytics_ips,
        analyticsdb_ips=cluster.addresses,
        log_level=config.log_level,
        auth_mode=inputs.auth_mode,
        orchestrator=inputs.orchestrator,
    )
    return [
        node_init(common, config.image("status")),
        nodemgr(
            "database",
            ROLE,
            {
                **common,
                "CASSANDRA_CQL_PORT": str(ANALYTICS_CASSANDRA.cql),
                "CASSANDRA_JMX_LOCAL_PORT": str(ANALYTICS_CASSANDRA.jmx),
                "DATABASE_NODEMGR__DEFAULTS__minimum_diskGB": str(config.cassandra_minimum_diskgb),
            },
        ),
        provisioner("database", ROLE, common),
        Service("database-query-engine", "analytics-query-engine", ROLE, common),
        Service(
            "database-cassandra",
            "external-cassandra",
            ROLE,
            cassandra_env(
                cluster_name="contrail_analytics",
                ports=ANALYTICS_CASSANDRA,
                node_type=ROLE,
                # A departed member stays until the leader removed it from the ring.
                addresses=cluster.serving("cassandra"),
                jvm_options=config.cassandra_jvm_extra_opts,
            ),
            mounts=(
                Mount(source="analytics-cassandra", target="/var/lib/cassandra", kind="volume"),
            ),
        ),
    ]
