"""Pick the container engine already on the host, or the one the operator asked for."""

from __future__ import annotations

from typing import Optional

from ..hostpaths import HostRoot
from .engine import ContainerEngine
from .errors import EngineUnavailableError

ENGINE_KINDS = ("auto", "docker", "containerd")
DOCKER_SOCKET = "/var/run/docker.sock"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"


def detect_engine_kind(host: Optional[HostRoot] = None) -> str:
    """`docker` when dockerd's socket exists, else `containerd` when containerd's does.

    Docker hosts also run a containerd (Docker's backend), so Docker's socket decides first;
    Charmed Kubernetes machines have containerd alone. We never install a second runtime.
    """
    host = host or HostRoot()
    if host.path(DOCKER_SOCKET).exists():
        return "docker"
    if host.path(CONTAINERD_SOCKET).exists():
        return "containerd"
    raise EngineUnavailableError(
        f"no container runtime found (neither {DOCKER_SOCKET} nor {CONTAINERD_SOCKET} exists): "
        "deploy on a machine with containerd or Docker, or set container-runtime"
    )


def make_engine(
    kind: str = "auto",
    host: Optional[HostRoot] = None,
    docker_url: str = f"unix://{DOCKER_SOCKET}",
    containerd_socket: str = CONTAINERD_SOCKET,
    containerd_namespace: str = "contrail",
) -> ContainerEngine:
    """Build the engine of this kind; `auto` detects it from the sockets on the host."""
    if kind not in ENGINE_KINDS:
        raise ValueError(f"container runtime {kind!r} is not one of {', '.join(ENGINE_KINDS)}")
    if kind == "auto":
        kind = detect_engine_kind(host)
    # Imported here so a charm on a containerd host never needs the docker SDK's import cost.
    if kind == "docker":
        from .docker_engine import DockerEngine

        return DockerEngine(base_url=docker_url)
    from .containerd_engine import ContainerdEngine

    return ContainerdEngine(socket=containerd_socket, namespace=containerd_namespace)
