"""Contrail services as containers: one container per service, one env file per container."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .containers import ContainerSpec, Mount, RestartPolicy
from .containers.detect import CONTAINERD_SOCKET, DOCKER_SOCKET

# Every Contrail container writes its logs and crash dumps to the host.
STANDARD_MOUNTS = (
    Mount(source="/var/log/contrail", target="/var/log/contrail"),
    Mount(source="/var/crashes", target="/var/crashes"),
)
NODE_LABEL = "net.juniper.node"
ROLE_LABEL = "net.juniper.contrail"
JUJU_APP_LABEL = "io.juju.application"
JUJU_UNIT_LABEL = "io.juju.unit"


@dataclass(frozen=True)
class Service:
    """One Contrail service: its container name, image, role label and environment."""

    name: str
    image: str
    role: str
    env: Mapping[str, str]
    mounts: tuple[Mount, ...] = ()
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    pid_host: bool = False
    # One-shot services (node-init) run once and exit 0; the rest run for good.
    one_shot: bool = False
    restart: RestartPolicy = RestartPolicy.ALWAYS
    # Node managers watch the other containers through the engine's socket.
    engine_socket: bool = False
    extra_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Placement:
    """Where a unit's services run: its engine, registry/tag config and Juju identity."""

    engine_kind: str
    node_role: str
    application: str
    unit: str
    env_dir: Path


def container_spec(service: Service, image: str, placement: Placement) -> ContainerSpec:
    """The engine spec of a service: standard mounts, host network, role and Juju labels."""
    mounts = STANDARD_MOUNTS + service.mounts
    if service.engine_socket:
        socket = DOCKER_SOCKET if placement.engine_kind == "docker" else CONTAINERD_SOCKET
        mounts += (Mount(source=socket, target=socket),)
    labels = {
        NODE_LABEL: placement.node_role,
        ROLE_LABEL: service.role,
        JUJU_APP_LABEL: placement.application,
        JUJU_UNIT_LABEL: placement.unit,
        **service.extra_labels,
    }
    return ContainerSpec(
        name=service.name,
        image=image,
        env_file=placement.env_dir / f"{service.name}.env",
        mounts=mounts,
        network_mode="host",
        privileged=service.privileged,
        cap_add=service.cap_add,
        pid_mode="host" if service.pid_host else None,
        restart=RestartPolicy.NO if service.one_shot else service.restart,
        labels=labels,
    )


def join(items: Iterable[object]) -> str:
    """A comma list, the form Contrail's `*_NODES` variables take."""
    return ",".join(str(item) for item in items)


def flag(value: bool) -> str:
    return "true" if value else "false"


def node_init(env: Mapping[str, str]) -> Service:
    """Host preparation every Contrail node runs once (sysctls, the contrail-status tool)."""
    return Service(
        "node-init",
        "contrail-node-init",
        "node-init",
        env,
        mounts=(Mount(source="/usr/bin", target="/host/usr/bin"),),
        privileged=True,
        pid_host=True,
        one_shot=True,
    )


def nodemgr(group: str, node_type: str, env: Mapping[str, str]) -> Service:
    """The node manager of a service group; it watches the group's containers via the engine."""
    return Service(
        f"{group}-nodemgr",
        "contrail-nodemgr",
        node_type,
        {**env, "NODE_TYPE": node_type},
        engine_socket=True,
    )


def provisioner(group: str, node_type: str, env: Mapping[str, str]) -> Service:
    """Registers the group's node in the config API, then exits; re-run only after failures."""
    return Service(
        f"{group}-provisioner",
        "contrail-provisioner",
        node_type,
        {**env, "NODE_TYPE": node_type},
        restart=RestartPolicy.ON_FAILURE,
    )


def contrail_env(
    *,
    controller_ips: Sequence[str],
    controller_data_ips: Sequence[str],
    analytics_ips: Sequence[str],
    analyticsdb_ips: Sequence[str],
    log_level: str,
    auth_mode: str,
    orchestrator: str,
) -> dict[str, str]:
    """What every Contrail (not third-party) control-plane service reads, on any charm."""
    controllers = join(controller_ips)
    with_db = bool(analyticsdb_ips)
    return {
        "CONTROLLER_NODES": controllers,
        "CONFIG_NODES": controllers,
        "CONFIGDB_NODES": controllers,
        "ZOOKEEPER_NODES": controllers,
        "RABBITMQ_NODES": controllers,
        # A controller that publishes no data addresses runs its control nodes on the API ones.
        "CONTROL_NODES": join(controller_data_ips or controller_ips),
        "ANALYTICS_NODES": join(analytics_ips),
        "ANALYTICSDB_NODES": join(analyticsdb_ips),
        "ANALYTICSDB_ENABLE": flag(with_db),
        "ANALYTICS_ALARM_ENABLE": flag(with_db),
        "ANALYTICS_SNMP_ENABLE": flag(with_db),
        "CONFIGDB_PORT": str(CONFIG_CASSANDRA.port),
        "CONFIGDB_CQL_PORT": str(CONFIG_CASSANDRA.cql),
        "ANALYTICSDB_CQL_PORT": str(ANALYTICS_CASSANDRA.cql),
        "RABBITMQ_NODE_PORT": "5673",
        "ZOOKEEPER_PORT": "2181",
        "LOG_LEVEL": log_level,
        "AAA_MODE": auth_mode,
        "AUTH_MODE": "noauth",
        "CLOUD_ORCHESTRATOR": orchestrator,
        "SSL_ENABLE": "false",
    }


@dataclass(frozen=True)
class CassandraPorts:
    """The ports of one of Contrail's two Cassandra clusters (config and analytics)."""

    port: int
    cql: int
    storage: int
    ssl_storage: int
    jmx: int


CONFIG_CASSANDRA = CassandraPorts(port=9161, cql=9041, storage=7012, ssl_storage=7013, jmx=7201)
ANALYTICS_CASSANDRA = CassandraPorts(port=9160, cql=9042, storage=7010, ssl_storage=7011, jmx=7200)


def cassandra_env(
    *,
    cluster_name: str,
    ports: CassandraPorts,
    node_type: str,
    addresses: Sequence[str],
    own_address: str,
    jvm_options: str,
) -> dict[str, str]:
    """The variables the third-party Cassandra image reads, and no others."""
    return {
        "NODE_TYPE": node_type,
        "CASSANDRA_CLUSTER_NAME": cluster_name,
        # Every node sees the same first three members as seeds, in the leader's order.
        "CASSANDRA_SEEDS": join(addresses[:3]),
        "CASSANDRA_LISTEN_ADDRESS": own_address,
        "CASSANDRA_START_RPC": "true",
        "CASSANDRA_PORT": str(ports.port),
        "CASSANDRA_CQL_PORT": str(ports.cql),
        "CASSANDRA_STORAGE_PORT": str(ports.storage),
        "CASSANDRA_SSL_STORAGE_PORT": str(ports.ssl_storage),
        "CASSANDRA_JMX_LOCAL_PORT": str(ports.jmx),
        "JVM_EXTRA_OPTS": jvm_options,
    }
