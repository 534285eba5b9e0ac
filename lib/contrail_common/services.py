"""Contrail services as containers: one container per service, one env file per container."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
