"""Small images built locally from busybox-static and pushed to the test registry."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile

import docker
from hostenv import HostServices

from contrail_common.containers import RegistryCredentials

# Two builds of one image, told apart only by their `version` label.
IMAGE_VERSIONS = {"1": "2311.1", "2": "2311.2"}


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
            if applet == "busybox":  # the binary itself, not a link to it
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            archive.addfile(link)
    return buffer.getvalue()


def push_test_images(services: HostServices, credentials: RegistryCredentials) -> dict[str, str]:
    """Push the test image builds to the authenticated registry; return tag -> reference.

    The local copies are removed again, so every engine has to pull them through the registry.
    """
    client = docker.DockerClient(base_url=services.docker_url)
    rootfs = busybox_rootfs_tar()
    auth = {"username": credentials.username, "password": credentials.password}
    repository = f"{services.registry}/contrail/test-service"
    references = {}
    for tag, version in IMAGE_VERSIONS.items():
        client.api.import_image_from_data(
            rootfs,
            repository=repository,
            tag=tag,
            changes=[f"LABEL version={version}", "ENV PATH=/bin", 'CMD ["sleep", "3600"]'],
        )
        for line in client.api.push(repository, tag=tag, auth_config=auth, stream=True):
            if b'"error"' in line:
                raise RuntimeError(f"push of {repository}:{tag} failed: {line!r}")
        client.api.remove_image(f"{repository}:{tag}")
        references[tag] = f"{repository}:{tag}"
    client.close()
    return references
