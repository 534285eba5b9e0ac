"""Contrail services as containers: one container per service, one env file per container."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .containers import ContainerSpec, Mount, RestartPolicy
from .containers.containerd_engine import DEFAULT_NAMESPACE
from .containers.detect import CONTAINERD_SOCKET, DOCKER_SOCKET
from .images import contract
from .images.releases import ReleaseLine

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
    """One Contrail service: its container name, image component, role label and environment.

    `image` is the component (`nodemgr`, `controller-config-api`, `external-kafka`); the
    release line adds its prefix (`contrail-` or `opensdn-`), the registry and the tag.
    """

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


def space_join(items: Iterable[object]) -> str:
    """A space list, the form kube-manager's subnet lists take (it splits them on whitespace)."""
    return " ".join(str(item) for item in items)


def flag(value: bool) -> str:
    return "true" if value else "false"


def node_init(env: Mapping[str, str], status_image: str) -> Service:
    """Host preparation every Contrail node runs once (sysctls, the contrail-status tool).

    It exits 1 without CONTRAIL_STATUS_IMAGE, the image its contrail-status and contrail-tools
    wrappers run (`contract.yaml`).
    """
    return Service(
        "node-init",
        "node-init",
        "node-init",
        {**env, "CONTRAIL_STATUS_IMAGE": status_image},
        mounts=(Mount(source="/usr/bin", target="/host/usr/bin"),),
        privileged=True,
        pid_host=True,
        one_shot=True,
    )


def nodemgr(group: str, node_type: str, env: Mapping[str, str]) -> Service:
    """The node manager of a service group; it watches the group's containers via the engine."""
    return Service(
        f"{group}-nodemgr",
        "nodemgr",
        node_type,
        {**env, "NODE_TYPE": node_type},
        engine_socket=True,
    )


def provisioner(group: str, node_type: str, env: Mapping[str, str]) -> Service:
    """Registers the group's node in the config API, then exits; re-run only after failures."""
    return Service(
        f"{group}-provisioner",
        "provisioner",
        node_type,
        {**env, "NODE_TYPE": node_type},
        restart=RestartPolicy.ON_FAILURE,
    )


def for_engine(
    services: Sequence[Service], engine_kind: str, release: ReleaseLine
) -> tuple[list[Service], list[str]]:
    """The services as this engine can run them, and notes on what it cannot.

    Node managers find their peers through the engine: on containerd they list the namespace
    named by CONTAINERD_NAMESPACE (default `k8s.io`, not ours). Before 21.4 they know no
    containerd namespace at all and exit, so on that line they are left out.
    """
    if engine_kind != "containerd":
        return list(services), []
    if not release.nodemgr_containerd:
        kept = [s for s in services if not s.engine_socket]
        if len(kept) == len(services):
            return kept, []
        return kept, [f"node managers not run: {release.name} ones cannot watch containerd"]
    namespace = {"CONTAINERD_NAMESPACE": DEFAULT_NAMESPACE}
    return [
        dataclasses.replace(s, env={**s.env, **namespace}) if s.engine_socket else s
        for s in services
    ], []


@dataclass(frozen=True)
class Workload:
    """A unit's services as its engine will run them, with what the status should say."""

    services: list[Service]
    notes: list[str]
    # Breaches of the image contract: nothing is deployed while there are any.
    violations: list[str]


def workload(
    services: Sequence[Service], engine_kind: str, release: ReleaseLine, address: str
) -> Workload:
    """`services` adapted to the engine and checked against the image contract."""
    kept, notes = for_engine(services, engine_kind, release)
    violations = [
        f"{service.name}: {problem}"
        for service in kept
        for problem in contract.problems(release, service.image, service.env, address)
    ]
    return Workload(kept, notes, violations)


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
    jvm_options: str,
) -> dict[str, str]:
    """The variables the Cassandra image reads, and no others.

    CASSANDRA_SEEDS holds every member: the entrypoint finds its own listen address in that
    list (and exits when it is absent), then keeps the first two as seeds itself.
    """
    return {
        "NODE_TYPE": node_type,
        "CASSANDRA_CLUSTER_NAME": cluster_name,
        "CASSANDRA_SEEDS": join(addresses),
        "CASSANDRA_START_RPC": "true",
        "CASSANDRA_PORT": str(ports.port),
        "CASSANDRA_CQL_PORT": str(ports.cql),
        "CASSANDRA_STORAGE_PORT": str(ports.storage),
        "CASSANDRA_SSL_STORAGE_PORT": str(ports.ssl_storage),
        "CASSANDRA_JMX_LOCAL_PORT": str(ports.jmx),
        "JVM_EXTRA_OPTS": jvm_options,
    }
