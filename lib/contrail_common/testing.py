"""Test support shared by every charm's ops.testing suite (not used at run time)."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Optional

from ops import testing

from . import envfile
from .containers.memory_engine import MemoryEngine
from .hostpaths import HostRoot


def encode(**fields: Any) -> dict[str, str]:
    """A databag as ops writes it: hyphenated keys, JSON values."""
    return {key.replace("_", "-"): json.dumps(value) for key, value in fields.items()}


def app_data(state: testing.State, endpoint: str) -> list[dict[str, Any]]:
    """The decoded local application databags of every relation on an endpoint."""
    return [
        {key: json.loads(value) for key, value in relation.local_app_data.items()}
        for relation in state.relations
        if relation.endpoint == endpoint
    ]


# Keys Juju itself puts in every unit databag (plain strings, not JSON).
JUJU_UNIT_KEYS = frozenset({"egress-subnets", "ingress-address", "private-address"})


def unit_data(state: testing.State, endpoint: str) -> list[dict[str, Any]]:
    """The decoded local unit databags of every relation on an endpoint (Juju's keys left out)."""
    return [
        {
            key: json.loads(value)
            for key, value in relation.local_unit_data.items()
            if key not in JUJU_UNIT_KEYS
        }
        for relation in state.relations
        if relation.endpoint == endpoint
    ]


def engine_with_images(references: Iterable[str], version: str) -> MemoryEngine:
    """An in-memory engine whose registry serves these images with this version label."""
    engine = MemoryEngine()
    for reference in references:
        engine.add_image(reference, {"version": version})
    return engine


def place_charm(
    monkeypatch, charm: type, engine: MemoryEngine, host: HostRoot, addresses: Iterable[str]
):
    """Run a ContrailCharm on a scratch host tree, this engine and these host addresses."""
    parsed = [ipaddress.ip_address(a) for a in addresses]
    monkeypatch.setattr(charm, "host", host)
    monkeypatch.setattr(charm, "make_engine", lambda self, kind: engine)
    monkeypatch.setattr(charm, "install_runtime", lambda self, kind: "docker")
    monkeypatch.setattr(charm, "host_addresses", lambda self: parsed)
    # Each unit's address resolves to the name Juju gives its machine.
    monkeypatch.setattr(charm, "resolve_hostname", lambda self, address: "juju-c0ffee-0")
    # Nothing on the test host is restarted or installed; apt is modelled by the file that
    # shows the exporter's package is there.
    monkeypatch.setattr(charm, "systemctl_runner", lambda self: RecordingRunner())
    monkeypatch.setattr(charm, "install_packages", lambda self, names: mark_installed(host, names))


def mark_installed(host: HostRoot, names: Iterable[str]) -> None:
    """What installing the exporter's Debian package leaves on the host."""
    from .monitoring import cos

    if cos.EXPORTER_PACKAGE in names:
        write_host_file(host, cos.EXPORTER_PACKAGE_MARKER)


def read_env_file(host: HostRoot, project: str, container: str) -> dict[str, str]:
    # As the engines read it, so a test sees what the container would get.
    return envfile.read_env_file(host.path(f"/etc/contrail/{project}/{container}.env"))


def charm_fixtures(
    charm: type,
    image_references: Callable[[], Iterable[str]],
    version: str,
    addresses: Iterable[str],
):
    """The four fixtures every charm suite uses: `engine`, `host`, `scratch_host` (autouse), `ctx`.

    Use in a conftest as `engine, host, scratch_host, ctx = charm_fixtures(...)`.
    """
    import pytest  # test-time only

    @pytest.fixture
    def engine() -> MemoryEngine:
        return engine_with_images(image_references(), version)

    @pytest.fixture
    def host(tmp_path) -> HostRoot:
        return HostRoot(tmp_path)

    @pytest.fixture(autouse=True)
    def scratch_host(monkeypatch, engine: MemoryEngine, host: HostRoot) -> None:
        place_charm(monkeypatch, charm, engine, host, addresses)

    @pytest.fixture
    def ctx() -> testing.Context:
        return testing.Context(charm)

    return engine, host, scratch_host, ctx


# Juju checks a `type: secret` option only for the `secret:` scheme
# (juju/charm@f5d79a50fdf959cd340a853aa65c6af5f06a21b3:config.go, secretC.Coerce), so a value
# such as this one reaches the charm, which has to refuse it itself.
MALFORMED_SECRET_URI = "secret:not-a-secret-id"  # noqa: S105 (a reference, no secret)


def juju_delivers(monkeypatch: Any, value: Any) -> None:
    """Let a `secret:` value that Juju passes on reach the charm in the next run: ops.testing's
    consistency check refuses any secret option but `secret:` and 20 characters."""
    if isinstance(value, str) and value.startswith("secret:"):
        monkeypatch.setenv("SCENARIO_SKIP_CONSISTENCY_CHECKS", "1")


def write_host_file(host: HostRoot, path: str, text: str = "") -> Path:
    """Create a file of a fake host tree (e.g. /proc/modules), with its folders."""
    target = host.path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


class RecordingRunner:
    """Stands in for subprocess.run: records argument lists and answers as told."""

    def __init__(
        self, returncode: int = 0, stderr: str = "", stdout: str = "", missing: bool = False
    ) -> None:
        self.calls: list[list[str]] = []
        self.returncode, self.stderr, self.stdout, self.missing = (
            returncode,
            stderr,
            stdout,
            missing,
        )

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert isinstance(argv, list) and "shell" not in kwargs, "argument lists only, no shell"
        self.calls.append(argv)
        if self.missing:
            raise FileNotFoundError(argv[0])
        return subprocess.CompletedProcess(argv, self.returncode, self.stdout, self.stderr)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scrape_metrics(
    port: int, process: Optional[subprocess.Popen] = None, deadline: float = 30.0
) -> str:
    """GET /metrics on 127.0.0.1:`port`, waiting for the server to listen (and failing at once
    if `process`, the server, has exited)."""
    import urllib.request

    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
                return reply.read().decode()
        except OSError:
            if (process is not None and process.poll() is not None) or time.monotonic() > end:
                raise
            time.sleep(0.1)
