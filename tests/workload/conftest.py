"""Fixtures that start real daemons once per session and build small busybox images."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import hostenv
from testimages import push_test_images

from contrail_common.containers import ContainerEngine, RegistryCredentials
from contrail_common.containers.containerd_engine import ContainerdEngine
from contrail_common.containers.docker_engine import DockerEngine


@pytest.fixture(scope="session")
def services() -> Iterator[hostenv.HostServices]:
    started = hostenv.start()
    try:
        yield started
    finally:
        hostenv.stop(started.rundir)


@pytest.fixture(scope="session")
def credentials(services: hostenv.HostServices) -> RegistryCredentials:
    return RegistryCredentials(services.registry_user, services.registry_password)


@pytest.fixture(scope="session")
def images(services: hostenv.HostServices, credentials: RegistryCredentials) -> dict[str, str]:
    return push_test_images(services, credentials)


@pytest.fixture(scope="session")
def docker_engine(services: hostenv.HostServices) -> DockerEngine:
    return DockerEngine(base_url=services.docker_url)


@pytest.fixture(scope="session")
def containerd_engine(services: hostenv.HostServices, tmp_path_factory) -> ContainerdEngine:
    root = tmp_path_factory.mktemp("containerd-engine")
    (root / "logrotate.d").mkdir()
    return ContainerdEngine(
        socket=services.containerd_socket,
        namespace=services.containerd_namespace,
        state_dir=root / "state",
        log_dir=root / "logs",
        volume_dir=root / "volumes",
        logrotate_conf=root / "logrotate.d" / "contrail-containers",
    )


@pytest.fixture(params=["docker", "containerd"])
def engine(request, images, credentials) -> ContainerEngine:
    """Each test runs on both engines, with the test images already pulled."""
    chosen: ContainerEngine = request.getfixturevalue(f"{request.param}_engine")
    for reference in images.values():
        if chosen.inspect_image(reference) is None:
            chosen.pull(reference, credentials, plain_http=True)
    return chosen


@pytest.fixture
def project(engine: ContainerEngine) -> Iterator[str]:
    """A fresh project name; its containers are removed after the test."""
    name = f"t{uuid.uuid4().hex[:8]}"
    yield name
    engine.remove_project(name)


@pytest.fixture
def host_dir(tmp_path: Path) -> Path:
    os.chmod(tmp_path, 0o755)  # noqa: S103 - containers read it as another user
    return tmp_path
