"""Fixtures that start real daemons once per session and build small busybox images."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import hostenv  # noqa: E402

from contrail_common.containers import ContainerEngine, RegistryCredentials  # noqa: E402
from contrail_common.containers.containerd_engine import ContainerdEngine  # noqa: E402
from contrail_common.containers.docker_engine import DockerEngine  # noqa: E402

# Two builds of one image, told apart only by their `version` label.
IMAGE_VERSIONS = {"1": "2311.1", "2": "2311.2"}


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
    """Push busybox-based images to the authenticated registry; return tag -> reference."""
    client = docker.DockerClient(base_url=services.docker_url)
    rootfs = busybox_rootfs_tar()
    auth = {"username": credentials.username, "password": credentials.password}
    references = {}
    for tag, version in IMAGE_VERSIONS.items():
        repository = f"{services.registry}/contrail/test-service"
        client.api.import_image_from_data(
            rootfs,
            repository=repository,
            tag=tag,
            changes=[f"LABEL version={version}", "ENV PATH=/bin", 'CMD ["sleep", "3600"]'],
        )
        for line in client.api.push(repository, tag=tag, auth_config=auth, stream=True):
            assert b'"error"' not in line, line
        client.api.remove_image(f"{repository}:{tag}")
        references[tag] = f"{repository}:{tag}"
    client.close()
    return references


def busybox_rootfs_tar() -> bytes:
    """A root filesystem with busybox-static and its applets, as a tar archive in memory."""
    busybox = shutil.which("busybox")
    assert busybox, "busybox-static is not installed"
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for directory in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        archive.add(busybox, arcname="bin/busybox")
        for applet in applets.stdout.split():
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            archive.addfile(link)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def docker_engine(services: hostenv.HostServices) -> DockerEngine:
    return DockerEngine(base_url=services.docker_url)


@pytest.fixture(scope="session")
def containerd_engine(services: hostenv.HostServices, tmp_path_factory) -> ContainerdEngine:
    root = tmp_path_factory.mktemp("containerd-engine")
    return ContainerdEngine(
        socket=services.containerd_socket,
        namespace=services.containerd_namespace,
        state_dir=root / "state",
        log_dir=root / "logs",
        volume_dir=root / "volumes",
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
    os.chmod(tmp_path, 0o755)
    return tmp_path
