"""Putting a container runtime on a machine that has none (the control plane's own machines)."""

from __future__ import annotations

import logging
import time

from .containers.detect import CONTAINERD_SOCKET, DOCKER_SOCKET, detect_engine_kind
from .containers.errors import EngineUnavailableError
from .hostpaths import HostRoot

logger = logging.getLogger(__name__)

# The Ubuntu package that provides each runtime, and the socket that shows it is up.
_PACKAGES = {
    "docker": ("docker.io", DOCKER_SOCKET),
    "containerd": ("containerd", CONTAINERD_SOCKET),
}


def ensure_runtime(kind: str, host: HostRoot, timeout: float = 120.0) -> str:
    """The runtime kind to use, installing one only where the host has none at all.

    `auto` keeps whatever runtime the host already has (containerd on Charmed Kubernetes
    machines, so no second runtime is ever added there) and installs Docker on a bare machine.
    """
    try:
        present = detect_engine_kind(host)
    except EngineUnavailableError:
        present = None
    wanted = kind if kind != "auto" else (present or "docker")
    if wanted == present or (kind == "containerd" and host.path(CONTAINERD_SOCKET).exists()):
        return wanted
    package, socket = _PACKAGES[wanted]
    from charmlibs import apt  # imported here: only bare machines need it

    logger.info("installing %s: no %s runtime on this machine", package, wanted)
    apt.update()
    apt.add_package(package)
    deadline = time.monotonic() + timeout
    while not host.path(socket).exists():
        if time.monotonic() > deadline:
            raise EngineUnavailableError(f"{package} installed but {socket} did not appear")
        time.sleep(1)
    return wanted
