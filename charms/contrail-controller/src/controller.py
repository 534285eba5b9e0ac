"""The controller workload: its config, its inputs, and one container per Contrail service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, field_validator, model_validator

from contrail_common.base_charm import Cluster
from contrail_common.config import CidrList, JvmOptions, SingleLine, WorkloadConfig
from contrail_common.containers import Mount
from contrail_common.services import (
    CONFIG_CASSANDRA,
    Service,
    cassandra_env,
    contrail_env,
    flag,
    join,
    node_init,
    nodemgr,
    provisioner,
)

ENCAPSULATIONS = ("MPLSoUDP", "MPLSoGRE", "VXLAN")
VERSION_IMAGE = "contrail-controller-config-api"
# Config API, web UI (HTTPS): what `juju expose` opens.
PORTS = (8082, 8143)


class ControllerConfig(WorkloadConfig):
    data_network: CidrList = ()
    min_cluster_size: int = Field(default=1, ge=1, le=9)
    auth_mode: Literal["rbac", "cloud-admin", "no-auth"] = "rbac"
    cloud_admin_role: SingleLine = "admin"
    global_read_only_role: SingleLine = ""
    bgp_asn: int = Field(default=64512, ge=1, le=4294967295)
    enable_4byte_as: bool = False
    encap_priority: SingleLine = "MPLSoUDP,MPLSoGRE,VXLAN"
    vxlan_vn_id_mode: Literal["automatic", "configured"] = "automatic"
    config_api_worker_count: int = Field(default=1, ge=1, le=64)
    huge_scale: bool = False
    cassandra_minimum_diskgb: int = Field(default=20, ge=1)
    cassandra_jvm_extra_opts: JvmOptions = ""

    @field_validator("encap_priority")
    @classmethod
    def _check_encapsulations(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",")]
        unknown = [item for item in items if item not in ENCAPSULATIONS]
        if unknown or len(set(items)) != len(items):
            raise ValueError(f"must list each of {', '.join(ENCAPSULATIONS)} at most once")
        return ",".join(items)

    @model_validator(mode="after")
    def _check_asn(self) -> ControllerConfig:
        if self.bgp_asn > 65535 and not self.enable_4byte_as:
            raise ValueError("bgp-asn above 65535 needs enable-4byte-as=true")
        return self


@dataclass(frozen=True)
class KubernetesCluster:
    name: str
    application: str
    pod_subnets: tuple[str, ...] = ()
    api_server: str | None = None
    api_port: int | None = None


@dataclass
class ControllerInputs:
    """What the controller learns from its relations and peers."""

    analytics_ips: list[str] = field(default_factory=list)
    analyticsdb_ips: list[str] = field(default_factory=list)
    kubernetes: dict[str, KubernetesCluster] = field(default_factory=dict)
    erlang_cookie: str = ""
    defaults_generation: int = 0

    @property
    def orchestrator(self) -> str:
        return "kubernetes" if self.kubernetes else ""


def services(
    config: ControllerConfig, cluster: Cluster, inputs: ControllerInputs
) -> list[Service]:
    """Every controller container with the environment it needs, and nothing it does not.

    A container's env holds only what that service reads, so an option change re-creates just
    the containers it concerns (e.g. config-api-worker-count re-creates config-api alone).
    """
    common = _common_env(config, cluster, inputs)
    defaults = {
        "BGP_ASN": str(config.bgp_asn),
        "ENABLE_4BYTE_AS": flag(config.enable_4byte_as),
        "ENCAP_PRIORITY": config.encap_priority,
        "VXLAN_VN_ID_MODE": config.vxlan_vn_id_mode,
        "APPLY_DEFAULTS": "true",
        "DEFAULTS_GENERATION": str(inputs.defaults_generation),
    }
    configdb = _configdb_env(config, cluster)
    return [
        node_init(common),
        # config
        nodemgr("config", "config", common),
        provisioner("config", "config", {**common, **defaults}),
        Service(
            "config-api",
            "contrail-controller-config-api",
            "config",
            {**common, "CONFIG_API_WORKER_COUNT": str(config.config_api_worker_count)},
        ),
        Service("config-svcmonitor", "contrail-controller-config-svcmonitor", "config", common),
        Service("config-schema", "contrail-controller-config-schema", "config", common),
        Service("config-devicemgr", "contrail-controller-config-devicemgr", "config", common),
        Service(
            "config-dnsmasq",
            "contrail-controller-config-dnsmasq",
            "config",
            common,
            mounts=(
                Mount(source="dnsmasq", target="/var/lib/dnsmasq", kind="volume"),
                Mount(source="tftp", target="/var/lib/tftp", kind="volume"),
                Mount(source="dhcp-leases", target="/var/lib/dhcp", kind="volume"),
            ),
            cap_add=("NET_ADMIN", "NET_RAW"),
        ),
        # config database
        nodemgr(
            "configdb",
            "config-database",
            {
                **common,
                "CASSANDRA_CQL_PORT": str(CONFIG_CASSANDRA.cql),
                "CASSANDRA_JMX_LOCAL_PORT": str(CONFIG_CASSANDRA.jmx),
                "CONFIG_DATABASE_NODEMGR__DEFAULTS__minimum_diskGB": str(
                    config.cassandra_minimum_diskgb
                ),
            },
        ),
        provisioner("configdb", "config-database", common),
        Service(
            "configdb-cassandra",
            "contrail-external-cassandra",
            "config-database",
            configdb["cassandra"],
            mounts=(Mount(source="config-cassandra", target="/var/lib/cassandra", kind="volume"),),
        ),
        Service(
            "configdb-zookeeper",
            "contrail-external-zookeeper",
            "config-database",
            configdb["zookeeper"],
            mounts=(
                Mount(source="config-zookeeper", target="/data", kind="volume"),
                Mount(source="config-zookeeper-log", target="/datalog", kind="volume"),
            ),
        ),
        Service(
            "configdb-rabbitmq",
            "contrail-external-rabbitmq",
            "config-database",
            {**configdb["rabbitmq"], "RABBITMQ_ERLANG_COOKIE": inputs.erlang_cookie},
            mounts=(Mount(source="config-rabbitmq", target="/var/lib/rabbitmq", kind="volume"),),
        ),
        # control
        nodemgr("control", "control", common),
        provisioner("control", "control", {**common, **defaults}),
        Service(
            "control-control",
            "contrail-controller-control-control",
            "control",
            common,
            cap_add=("SYS_PTRACE",),
        ),
        Service(
            "control-named",
            "contrail-controller-control-named",
            "control",
            common,
            privileged=True,
            mounts=(Mount(source="control-dns", target="/etc/contrail/dns", kind="volume"),),
        ),
        Service(
            "control-dns",
            "contrail-controller-control-dns",
            "control",
            common,
            mounts=(Mount(source="control-dns", target="/etc/contrail/dns", kind="volume"),),
        ),
        # web UI and its redis
        Service("webui-web", "contrail-controller-webui-web", "webui", common),
        Service("webui-job", "contrail-controller-webui-job", "webui", common),
        Service(
            "redis",
            "contrail-external-redis",
            "webui",
            {"REDIS_NODES": join(cluster.addresses), "REDIS_SERVER_PORT": "6379"},
        ),
    ]


def _common_env(
    config: ControllerConfig, cluster: Cluster, inputs: ControllerInputs
) -> dict[str, str]:
    """What every Contrail (not third-party) service of the controller reads."""
    return {
        **contrail_env(
            controller_ips=cluster.addresses,
            controller_data_ips=cluster.data_addresses,
            analytics_ips=inputs.analytics_ips,
            analyticsdb_ips=inputs.analyticsdb_ips,
            log_level=config.log_level,
            auth_mode=config.auth_mode,
            orchestrator=inputs.orchestrator,
        ),
        "WEBUI_NODES": join(cluster.addresses),
        "CLOUD_ADMIN_ROLE": config.cloud_admin_role,
        "GLOBAL_READ_ONLY_ROLE": config.global_read_only_role,
    }


def _configdb_env(config: ControllerConfig, cluster: Cluster) -> Mapping[str, dict[str, str]]:
    """The third-party database services read their own variables only."""
    nodes = join(cluster.addresses)
    zookeeper = {
        "NODE_TYPE": "config-database",
        "ZOOKEEPER_NODES": nodes,
        "ZOOKEEPER_PORT": "2181",
        "ZOOKEEPER_PORTS": "2888:3888",
    }
    if config.huge_scale:
        zookeeper.update({"ZOO_SYNC_LIMIT": "5", "ZOO_MAX_SESSION_TIMEOUT": "120000"})
    return {
        "cassandra": cassandra_env(
            cluster_name="contrail_database",
            ports=CONFIG_CASSANDRA,
            node_type="config-database",
            addresses=cluster.addresses,
            own_address=cluster.address,
            jvm_options=config.cassandra_jvm_extra_opts,
        ),
        "zookeeper": zookeeper,
        "rabbitmq": {
            "NODE_TYPE": "config-database",
            "RABBITMQ_NODES": nodes,
            "RABBITMQ_NODE_PORT": "5673",
        },
    }
