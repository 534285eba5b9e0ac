"""Docker Engine, through the `docker` Python SDK (the Engine API on its Unix socket)."""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import struct
import time
from pathlib import Path
from typing import Any, Optional

import docker
import docker.errors
import docker.utils.socket
import requests
from docker.types import Mount as DockerMount

from .engine import ContainerEngine, ExecResult, OwnedContainer, ensure_host_dirs, ownership_labels
from .errors import (
    EngineError,
    EngineUnavailableError,
    ExecTimeoutError,
    ImagePullError,
    classify_pull_failure,
)
from .images import ImageInfo, RegistryCredentials, image_registry, split_reference
from .spec import NAME_LABEL, PROJECT_LABEL, ContainerSpec, RestartPolicy, container_id
from .state import ContainerState, ContainerStatus

logger = logging.getLogger(__name__)

DEFAULT_DOCKER_URL = "unix:///var/run/docker.sock"

_STATES = {
    "running": ContainerState.RUNNING,
    "restarting": ContainerState.RESTARTING,
    "exited": ContainerState.EXITED,
    "dead": ContainerState.EXITED,
    "created": ContainerState.CREATED,
    "paused": ContainerState.PAUSED,
    "removing": ContainerState.EXITED,
}


class DockerEngine(ContainerEngine):
    """Containers on a Docker Engine; credentials go per pull, never to ~/.docker."""

    kind = "docker"

    def __init__(self, base_url: str = DEFAULT_DOCKER_URL, timeout: int = 120) -> None:
        super().__init__()
        self.base_url = base_url
        try:
            self.client = docker.DockerClient(base_url=base_url, timeout=timeout)
            self.client.ping()
        except (docker.errors.DockerException, requests.RequestException) as error:
            raise EngineUnavailableError(
                f"Docker Engine at {base_url} is not answering"
            ) from error
        # Count the Engine API requests by method, so benchmarks can show an idle re-apply
        # makes no writes.
        self.client.api.hooks["response"].append(self._count_request)

    def _count_request(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.request.method in ("GET", "HEAD"):
            self.io.reads += 1
        else:
            self.io.writes += 1

    def inspect_image(self, image: str) -> Optional[ImageInfo]:
        try:
            attrs = self._call(self.client.api.inspect_image, image)
        except docker.errors.ImageNotFound:
            return None
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        return ImageInfo(reference=image, image_id=attrs["Id"], labels=dict(labels))

    def _pull(self, image: str, credentials: Optional[RegistryCredentials], plain_http: bool):
        # plain_http: Docker decides per registry from the daemon's insecure-registries
        # (127.0.0.0/8 is insecure by default), so there is nothing to pass per pull.
        repository, tag = split_reference(image)
        auth = (
            {"username": credentials.username, "password": credentials.password}
            if credentials
            else None
        )
        try:
            output = self.client.api.pull(repository, tag=tag, auth_config=auth)
            # Failures after the first response arrive as {"error": ...} lines in the stream.
            text = _stream_error(output)
        except (docker.errors.APIError, requests.RequestException) as error:
            text = _error_text(error)
        if text:
            raise ImagePullError(image, image_registry(image), classify_pull_failure(text), text)

    def _list_owned(self, project: str) -> dict[str, OwnedContainer]:
        owned: dict[str, OwnedContainer] = {}
        for summary in self._summaries(project):
            container = OwnedContainer.from_labels(summary.get("Labels") or {})
            owned[container.name] = container
        return owned

    def _create(self, project: str, spec: ContainerSpec, spec_hash: str) -> None:
        cid = container_id(project, spec.name)
        self._refuse_foreign(cid, project)
        ensure_host_dirs(Path(m.source) for m in spec.mounts if m.kind == "bind")
        mounts = [
            DockerMount(target=m.target, source=m.source, type=m.kind, read_only=m.read_only)
            for m in spec.mounts
        ]
        restart: dict[str, Any] = {"Name": spec.restart.value}
        if spec.restart == RestartPolicy.NO:
            restart = {"Name": ""}
        try:
            container = self._create_container(project, spec, spec_hash, mounts, restart)
        except docker.errors.ImageNotFound:
            raise EngineError(f"image {spec.image} is not present: pull it first") from None
        try:
            self._call(container.start)
        except EngineError:
            self._call(container.remove, force=True)
            raise

    def _create_container(
        self,
        project: str,
        spec: ContainerSpec,
        spec_hash: str,
        mounts: list[DockerMount],
        restart: dict[str, Any],
    ) -> Any:
        return self._call(
            self.client.containers.create,
            image=spec.image,
            command=list(spec.command) if spec.command is not None else None,
            entrypoint=list(spec.entrypoint) if spec.entrypoint is not None else None,
            environment=spec.resolved_env(),
            labels=ownership_labels(project, spec, spec_hash),
            network_mode=spec.network_mode,
            privileged=spec.privileged,
            cap_add=list(spec.cap_add) or None,
            pid_mode=spec.pid_mode,
            restart_policy=restart,
            mounts=mounts,
            stop_signal=spec.stop_signal,
            name=container_id(project, spec.name),
            log_config={"Type": "json-file", "Config": {"max-size": "20m", "max-file": "5"}},
        )

    def _remove(self, project: str, container: OwnedContainer) -> None:
        cid = container_id(project, container.name)
        try:
            found = self._call(self.client.containers.get, cid)
            created_with = (found.attrs.get("Config") or {}).get("StopSignal") or "SIGTERM"
            if found.status == "running" and container.stop_signal != created_with:
                self._stop_with(found, container.stop_signal, container.stop_timeout)
            elif found.status in ("running", "restarting", "paused"):
                self._call(found.stop, timeout=container.stop_timeout)
            self._call(found.remove, force=True)
        except docker.errors.NotFound:
            pass

    def _stop_with(self, found: Any, signal_name: str, timeout: int) -> None:
        """Stop with a signal other than the one the container was created with.

        Engine API 1.41 (Docker 20.10) stops only with the creation's signal, and Docker
        restarts a container that exits on any other signal it was sent, so the restart
        policy goes first; the force removal that follows kills what outlives `timeout`.
        """
        self._call(found.update, restart_policy={"Name": "no"})
        self._call(found.kill, signal=signal_name)
        if timeout <= 0:
            return
        try:
            found.wait(timeout=timeout)
        except docker.errors.APIError as error:
            logger.warning("waiting for %s: %s", found.name, _error_text(error))
        except requests.RequestException:
            logger.warning("%s still running %ds after %s", found.name, timeout, signal_name)

    def _states(self, project: str) -> dict[str, ContainerStatus]:
        states: dict[str, ContainerStatus] = {}
        for summary in self._summaries(project):
            name = (summary.get("Labels") or {}).get(NAME_LABEL, "")
            state = _STATES.get(summary.get("State", ""), ContainerState.EXITED)
            exit_code = None
            if state in (ContainerState.EXITED, ContainerState.RESTARTING):
                details = self._call(self.client.api.inspect_container, summary["Id"])
                exit_code = details["State"].get("ExitCode")
            states[name] = ContainerStatus(name, state, exit_code)
        return states

    def _logs(self, cid: str, lines: int) -> str:
        container = self._call(self.client.containers.get, cid)
        output = self._call(container.logs, stdout=True, stderr=True, tail=lines)
        return output.decode(errors="replace")

    def _exec(self, cid: str, argv: tuple[str, ...], timeout: float) -> ExecResult:
        # The calls `exec_run` makes, made here: it has no timeout and keeps the exec's id,
        # which killing a command that outlives its timeout needs.
        try:
            created = self._call(
                self.client.api.exec_create,
                cid, list(argv), stdout=True, stderr=True, stdin=False, tty=False,
            )  # fmt: skip
        except docker.errors.NotFound:
            raise EngineError(f"container {cid} does not exist") from None
        exec_id = created["Id"]
        sock = self._call(self.client.api.exec_start, exec_id, socket=True)
        try:
            stream, finished = _read_until(sock, time.monotonic() + timeout)
        finally:
            sock.close()
        output = _demultiplex(stream).decode(errors="replace")
        if not finished:
            self._kill_exec(exec_id)
            raise ExecTimeoutError(cid, argv, timeout, output)
        exit_code = self._exit_code(exec_id)
        # The runtime's own failure to start the command (no such executable) comes back as
        # 126 with its message as the output; it is the engine's error, as on containerd.
        if exit_code in (126, 127) and output.startswith("OCI runtime exec failed"):
            raise EngineError(f"cannot run {argv[0]} in {cid}: {output.strip()}")
        return ExecResult(exit_code, output)

    def _exit_code(self, exec_id: str) -> int:
        # The stream ends when the process closes its output, a moment before the daemon
        # records its exit.
        deadline = time.monotonic() + 10
        while True:
            info = self._call(self.client.api.exec_inspect, exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            if time.monotonic() > deadline:
                raise EngineError(f"exec {exec_id[:12]} reported no exit code")
            time.sleep(0.05)

    def _kill_exec(self, exec_id: str) -> None:
        """The Engine API cannot stop an exec; its process has a host PID, which root kills."""
        info = self._call(self.client.api.exec_inspect, exec_id)
        pid = int(info.get("Pid") or 0)
        if info.get("Running") and pid > 0:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError) as error:
                logger.warning("could not kill exec %s (pid %d): %s", exec_id[:12], pid, error)

    def _summaries(self, project: str) -> list[dict[str, Any]]:
        # One list request; sparse summaries carry labels and state, which is all we need.
        return self._call(
            self.client.api.containers,
            all=True,
            filters={"label": f"{PROJECT_LABEL}={project}"},
        )

    def _refuse_foreign(self, cid: str, project: str) -> None:
        try:
            existing = self._call(self.client.api.inspect_container, cid)
        except docker.errors.NotFound:
            return
        labels = (existing.get("Config") or {}).get("Labels") or {}
        raise EngineError(
            f"a container named {cid} exists and is not owned by project {project} "
            f"(project label {labels.get(PROJECT_LABEL)!r}); remove or rename it"
        )

    def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run an SDK call; map transport failures to EngineUnavailableError."""
        try:
            return function(*args, **kwargs)
        except (docker.errors.NotFound, docker.errors.ImageNotFound):
            raise
        except docker.errors.APIError as error:
            raise EngineError(f"Docker Engine refused: {_error_text(error)}") from None
        except (requests.ConnectionError, docker.errors.DockerException) as error:
            raise EngineUnavailableError(f"Docker Engine at {self.base_url}: {error}") from None


def _read_until(sock: Any, deadline: float) -> tuple[bytes, bool]:
    """Everything the exec's socket sends until it closes (True) or the deadline (False)."""
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), False
        readable, _, _ = select.select([sock], [], [], remaining)
        if not readable:
            return b"".join(chunks), False
        chunk = docker.utils.socket.read(sock, 65536)
        if chunk is None:  # interrupted: try again
            continue
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)


def _demultiplex(stream: bytes) -> bytes:
    """stdout and stderr frames (8-byte header: stream, 0, 0, 0, big-endian size) in order."""
    payload = bytearray()
    offset = 0
    while offset + 8 <= len(stream):
        _, size = struct.unpack(">BxxxL", stream[offset : offset + 8])
        payload += stream[offset + 8 : offset + 8 + size]
        offset += 8 + size
    return bytes(payload)


def _stream_error(output: Any) -> str:
    text = output.decode(errors="replace") if isinstance(output, bytes) else str(output or "")
    for line in text.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("error"):
            return str(message["error"])
    return ""


def _error_text(error: Exception) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)
