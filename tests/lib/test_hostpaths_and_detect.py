"""Host paths under a root, and engine auto-detection from the sockets present."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrail_common.containers import EngineUnavailableError, detect_engine_kind, make_engine
from contrail_common.hostpaths import HostRoot


def test_host_paths_are_rooted(tmp_path: Path):
    host = HostRoot(tmp_path)
    assert host.path("/proc/net/route") == tmp_path / "proc" / "net" / "route"
    assert host.sys == tmp_path / "sys" and host.etc == tmp_path / "etc"
    assert HostRoot().path("/etc/hosts") == Path("/etc/hosts")
    with pytest.raises(ValueError, match="absolute"):
        host.path("etc/hosts")


def touch(host: HostRoot, path: str) -> None:
    target = host.path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch()


def test_detection_prefers_docker_then_containerd(tmp_path: Path):
    host = HostRoot(tmp_path)
    with pytest.raises(EngineUnavailableError, match="no container runtime found"):
        detect_engine_kind(host)
    touch(host, "/run/containerd/containerd.sock")
    assert detect_engine_kind(host) == "containerd"
    touch(host, "/var/run/docker.sock")
    assert detect_engine_kind(host) == "docker"


def test_unknown_kind_and_absent_engines_are_clear_errors(tmp_path: Path):
    with pytest.raises(ValueError, match="not one of auto, docker, containerd"):
        make_engine("podman")
    with pytest.raises(EngineUnavailableError, match="does not exist"):
        make_engine("containerd", containerd_socket=str(tmp_path / "none.sock"))
    with pytest.raises(EngineUnavailableError, match="not answering"):
        make_engine("docker", docker_url=f"unix://{tmp_path}/none.sock")
