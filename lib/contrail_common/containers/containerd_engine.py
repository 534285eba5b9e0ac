"""containerd, through its `ctr` client with argument lists (no shell).

Our containers live in one containerd namespace, apart from Kubernetes' `k8s.io`. Restarts are
done by containerd's own restart monitor (the `containerd.io/restart.*` labels), so no systemd
unit is needed; container output goes to a log file per container through `--log-uri`.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import pty
import re
import subprocess
import time
import uuid
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from ..envfile import env_file_content
from ..rendering import write_file
from .engine import (
    ApplyReport,
    ContainerEngine,
    ExecResult,
    OwnedContainer,
    ensure_host_dirs,
    ownership_labels,
)
from .errors import (
    EngineError,
    EngineUnavailableError,
    ExecTimeoutError,
    ImagePullError,
    classify_pull_failure,
)
from .images import ImageInfo, RegistryCredentials, image_registry
from .spec import (
    HASH_LABEL,
    NAME_LABEL,
    PROJECT_LABEL,
    ContainerSpec,
    RestartPolicy,
    container_id,
)
from .state import ContainerState, ContainerStatus

logger = logging.getLogger(__name__)

DEFAULT_CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
DEFAULT_NAMESPACE = "contrail"
RESTART_STATUS_LABEL = "containerd.io/restart.status"
RESTART_POLICY_LABEL = "containerd.io/restart.policy"
RESTART_LOGURI_LABEL = "containerd.io/restart.loguri"

_MACHINE_TO_OCI_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "s390x": "s390x",
    "ppc64le": "ppc64le",
}
_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


class ContainerdEngine(ContainerEngine):
    """Containers on containerd, driven with `ctr`."""

    kind = "containerd"

    def __init__(
        self,
        socket: str = DEFAULT_CONTAINERD_SOCKET,
        namespace: str = DEFAULT_NAMESPACE,
        state_dir: Path = Path("/var/lib/contrail-charms/containerd"),
        log_dir: Path = Path("/var/log/contrail/containers"),
        volume_dir: Path = Path("/var/lib/contrail/volumes"),
        ctr: str = "ctr",
        logrotate_conf: Optional[Path] = Path("/etc/logrotate.d/contrail-containers"),
    ) -> None:
        super().__init__()
        self.socket = socket
        self.namespace = namespace
        self.state_dir = state_dir
        self.log_dir = log_dir
        self.volume_dir = volume_dir
        self.logrotate_conf = logrotate_conf
        self._base = [ctr, "--address", socket, "--namespace", namespace]
        if not os.path.exists(socket):
            raise EngineUnavailableError(f"containerd socket {socket} does not exist")
        self.server_version = _server_version(self._ctr("version", timeout=15).stdout)
        # containerd's restart monitor honours restart.policy from 1.7 on; 1.6 restarts every
        # container labelled `running`, whatever its exit code.
        self.honours_restart_policy = self.server_version >= (1, 7)
        # The specs of the apply() in progress, which _list_owned() matches in one ctr call.
        self._applying: Optional[tuple[ContainerSpec, ...]] = None

    # -- images --------------------------------------------------------------------------

    def inspect_image(self, image: str) -> Optional[ImageInfo]:
        config = self._image_config(image)
        if config is None:
            return None
        digest, body = config
        labels = (body.get("config") or {}).get("Labels") or {}
        return ImageInfo(reference=image, image_id=digest, labels=dict(labels))

    def _pull(self, image: str, credentials: Optional[RegistryCredentials], plain_http: bool):
        argv = ["images", "pull"]
        if plain_http:
            argv.append("--plain-http")
        if credentials is None:
            result = self._ctr(*argv, image, write=True, check=False, timeout=1800)
            failed, text = result.returncode != 0, result.stderr
        else:
            argv += ["--user", credentials.username, image]
            failed, text = self._run_with_password(argv, credentials.password)
        if failed:
            text = text.strip().removeprefix("ctr: ")
            raise ImagePullError(image, image_registry(image), classify_pull_failure(text), text)

    def _run_with_password(self, argv: Sequence[str], password: str) -> tuple[bool, str]:
        """Run ctr with its password prompt answered through a pseudo-terminal.

        `ctr --user NAME` without `:PASSWORD` reads the password from its console. Feeding it
        there keeps the password off the command line, out of the environment and off disk,
        and works for basic and token (bearer) registries alike.
        """
        master, slave = pty.openpty()
        try:
            process = subprocess.Popen(
                [*self._base, *argv],
                stdin=slave,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            os.close(slave)
            slave = -1
            os.write(master, password.encode() + b"\n")
            self.io.writes += 1
            try:
                _, stderr = process.communicate(timeout=1800)
            except subprocess.TimeoutExpired:
                process.kill()
                _, stderr = process.communicate()
            return process.returncode != 0, stderr
        finally:
            os.close(master)
            if slave >= 0:
                os.close(slave)

    def _image_config(self, image: str) -> Optional[tuple[str, dict[str, Any]]]:
        """(config digest, image config JSON) of a local image, or None when absent."""
        listing = self._ctr("images", "ls", f'name=="{image}"').stdout.splitlines()
        rows = [line.split() for line in listing[1:] if line.strip()]
        if not rows:
            return None
        manifest = self._content(rows[0][2])
        if manifest.get("mediaType") in _INDEX_TYPES or "manifests" in manifest:
            manifest = self._content(self._platform_manifest(image, manifest))
        config_digest = manifest["config"]["digest"]
        return config_digest, self._content(config_digest)

    def _platform_manifest(self, image: str, index: dict[str, Any]) -> str:
        arch = _MACHINE_TO_OCI_ARCH.get(platform.machine(), platform.machine())
        for entry in index.get("manifests", []):
            wanted = entry.get("platform") or {}
            if wanted.get("os") == "linux" and wanted.get("architecture") == arch:
                return entry["digest"]
        raise EngineError(f"image {image} has no linux/{arch} manifest")

    def _content(self, digest: str) -> dict[str, Any]:
        return json.loads(self._ctr("content", "get", digest).stdout)

    # -- containers ----------------------------------------------------------------------

    def apply(self, project: str, specs: Sequence[ContainerSpec]) -> ApplyReport:
        self._applying = tuple(specs)
        try:
            return super().apply(project, specs)
        finally:
            self._applying = None

    def _list_owned(self, project: str) -> dict[str, OwnedContainer]:
        if self._applying is None:
            return self._read_owned(self._project_ids(project))
        return self._list_owned_for(project, self._applying)

    def _list_owned_for(
        self, project: str, specs: Sequence[ContainerSpec]
    ) -> dict[str, OwnedContainer]:
        """The project's containers, with those unchanged from `specs` found in one ctr call.

        `ctr containers ls` ORs its filters and ANDs the selectors within one. One filter per
        wanted container (its ID, and its project, name and spec hash labels) matches exactly
        the unchanged containers; one more matches the project's containers with any other ID.
        When the answer is exactly the wanted IDs, nothing else exists and nothing is read
        again; otherwise the project's list and each other container's labels are read.
        """
        wanted = {container_id(project, spec.name): spec for spec in specs}
        hashes = {cid: spec.spec_hash() for cid, spec in wanted.items()}
        filters = [
            ",".join(
                [
                    f"id=={filter_literal(cid)}",
                    label_selector(PROJECT_LABEL, project),
                    label_selector(NAME_LABEL, spec.name),
                    label_selector(HASH_LABEL, hashes[cid]),
                ]
            )
            for cid, spec in wanted.items()
        ]
        other_ids = [f"id!={filter_literal(cid)}" for cid in wanted]
        filters.append(",".join([label_selector(PROJECT_LABEL, project), *other_ids]))
        found = self._ctr("containers", "ls", "--quiet", *filters).stdout.split()
        unchanged = [cid for cid in found if cid in wanted]
        others = [cid for cid in found if cid not in wanted]
        if len(unchanged) < len(wanted):
            # Some wanted container is missing or changed: find which of them exist.
            others = [cid for cid in self._project_ids(project) if cid not in unchanged]
        owned = self._read_owned(others)
        for cid in unchanged:
            spec = wanted[cid]
            owned[spec.name] = OwnedContainer(
                spec.name, hashes[cid], spec.stop_signal, spec.stop_timeout
            )
        return owned

    def _read_owned(self, ids: Sequence[str]) -> dict[str, OwnedContainer]:
        """Each container's name, spec hash and stop rule, from its labels."""
        owned: dict[str, OwnedContainer] = {}
        for cid in ids:
            info = json.loads(self._ctr("containers", "info", cid).stdout)
            container = OwnedContainer.from_labels(info.get("Labels") or {})
            owned[container.name] = container
        return owned

    def _create(self, project: str, spec: ContainerSpec, spec_hash: str) -> None:
        cid = container_id(project, spec.name)
        if self._exists(cid):
            raise EngineError(
                f"a container named {cid} exists in containerd namespace {self.namespace} "
                f"and is not owned by project {project}; remove or rename it"
            )
        if spec.network_mode == "bridge":
            raise EngineError(
                f"container {spec.name}: network mode bridge needs CNI, which ctr does not "
                "set up; use host or none"
            )
        args = self._process_args(spec)
        argv = self._run_options(cid, spec, ownership_labels(project, spec, spec_hash))
        result = self._ctr(*argv, spec.image, cid, *args, write=True, check=False, timeout=300)
        if result.returncode != 0:
            # ctr leaves the container behind when its task fails to start.
            self._ctr("containers", "delete", cid, write=True, check=False)
            detail = result.stderr.strip().removeprefix("ctr: ")
            raise EngineError(f"cannot start container {cid}: {detail}")
        # The restart labels go on only once our task runs: with them on the new container,
        # the restart monitor could start a task of its own first and ours would fail.
        restart = self._restart_labels(cid, spec)
        if restart:
            pairs = [f"{key}={value}" for key, value in sorted(restart.items())]
            self._ctr("containers", "label", cid, *pairs, write=True)

    def _run_options(self, cid: str, spec: ContainerSpec, labels: dict[str, str]) -> list[str]:
        """`ctr run` options: labels, log file, env file, privileges, mounts."""
        log_uri = self._log_uri(cid)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._ensure_log_rotation()
        argv = ["run", "--detach", "--log-uri", log_uri]
        for key, value in sorted(labels.items()):
            argv += ["--label", f"{key}={value}"]
        env_file = self._env_file(cid, spec)
        if env_file is not None:
            argv += ["--env-file", str(env_file)]
        if spec.network_mode == "host":
            argv.append("--net-host")
        if spec.privileged:
            argv.append("--privileged")
        for cap in spec.cap_add:
            argv += ["--cap-add", f"CAP_{cap}"]
        if spec.pid_mode == "host":
            argv += ["--with-ns", "pid:/proc/1/ns/pid"]
        for mount in spec.mounts:
            source = Path(mount.source) if mount.kind == "bind" else self.volume_dir / mount.source
            ensure_host_dirs([source])
            mode = "ro" if mount.read_only else "rw"
            argv += ["--mount", f"type=bind,src={source},dst={mount.target},options=rbind:{mode}"]
        return argv

    def _ensure_log_rotation(self) -> None:
        """A logrotate drop-in for the containers' output files (Docker rotates its own).

        The shim keeps its file open in append mode, so `copytruncate` rotates it in place
        without restarting the container.
        """
        if self.logrotate_conf is None or not self.logrotate_conf.parent.is_dir():
            return  # no logrotate on this machine
        write_file(self.logrotate_conf, logrotate_config(self.log_dir), 0o644)

    def _log_uri(self, cid: str) -> str:
        return f"file://{self.log_dir / (cid + '.log')}"

    def _restart_labels(self, cid: str, spec: ContainerSpec) -> dict[str, str]:
        """The restart monitor's labels for the spec's policy (none for `no`)."""
        if spec.restart == RestartPolicy.NO:
            return {}
        if spec.restart == RestartPolicy.ON_FAILURE and not self.honours_restart_policy:
            logger.warning(
                "containerd %s restarts %s after any exit: on-failure needs containerd 1.7",
                ".".join(map(str, self.server_version)),
                cid,
            )
        return {
            RESTART_STATUS_LABEL: "running",
            RESTART_POLICY_LABEL: spec.restart.value,
            RESTART_LOGURI_LABEL: self._log_uri(cid),
        }

    def _process_args(self, spec: ContainerSpec) -> list[str]:
        """ctr takes the full argv; build it with Docker's entrypoint/command rules."""
        if spec.entrypoint is None and spec.command is None:
            return []
        config: dict[str, Any] = {}
        if spec.entrypoint is None or spec.command is None:
            found = self._image_config(spec.image)
            if found is None:
                raise EngineError(f"image {spec.image} is not present: pull it first")
            config = found[1].get("config") or {}
        entrypoint = list(spec.entrypoint or []) if spec.entrypoint is not None else None
        if entrypoint is None:
            entrypoint = list(config.get("Entrypoint") or [])
        if spec.command is not None:
            command = list(spec.command)
        else:
            command = [] if spec.entrypoint is not None else list(config.get("Cmd") or [])
        return entrypoint + command

    def _env_file(self, cid: str, spec: ContainerSpec) -> Optional[Path]:
        """The env file to hand to ctr: the spec's own, or a 0600 merge when `env` is set.

        Values never go on the command line, where `ps` would show them.
        """
        if not spec.env:
            return spec.env_file
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.state_dir / f"{cid}.env"
        content = env_file_content(spec.resolved_env())
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(content)
        os.chmod(path, 0o600)
        return path

    def _remove(self, project: str, container: OwnedContainer) -> None:
        cid = container_id(project, container.name)
        # Take the container from the restart monitor first, so it does not bring the task back
        # meanwhile. Removing its label, not setting it to `stopped`: for `stopped` the monitor
        # SIGKILLs the task on its next pass, which would cut a long stop (the vRouter agent's
        # SIGQUIT teardown, up to 120 s) short.
        self._ctr("containers", "label", cid, f"{RESTART_STATUS_LABEL}=", write=True)
        self._ctr("tasks", "kill", "--signal", container.stop_signal, cid, write=True, check=False)
        deadline = time.monotonic() + container.stop_timeout
        while True:
            deleted = self._ctr("tasks", "delete", cid, write=True, check=False)
            if deleted.returncode == 0 or "not found" in deleted.stderr:
                break
            if time.monotonic() >= deadline:
                self._ctr("tasks", "delete", "--force", cid, write=True, check=False)
                break
            time.sleep(0.1)
        self._ctr("containers", "delete", cid, write=True)
        (self.state_dir / f"{cid}.env").unlink(missing_ok=True)

    def _states(self, project: str) -> dict[str, ContainerStatus]:
        ids = self._project_ids(project)
        if not ids:
            return {}
        tasks = self._tasks()
        restart_rules = _RestartRules(self, project)
        states: dict[str, ContainerStatus] = {}
        for cid in ids:
            name = cid[len(project) + 1 :]
            task_state = tasks.get(cid)
            if task_state == "RUNNING":
                states[name] = ContainerStatus(name, ContainerState.RUNNING)
            elif task_state == "PAUSED":
                states[name] = ContainerStatus(name, ContainerState.PAUSED)
            elif task_state == "STOPPED":
                exit_code = self._exit_status(cid)
                restarts = restart_rules.will_restart(cid, exit_code)
                state = ContainerState.RESTARTING if restarts else ContainerState.EXITED
                states[name] = ContainerStatus(name, state, exit_code)
            elif restart_rules.will_restart(cid, None):
                # No task yet: the restart monitor starts one on its next pass.
                states[name] = ContainerStatus(name, ContainerState.RESTARTING)
            else:
                states[name] = ContainerStatus(name, ContainerState.CREATED)
        return states

    def _exit_status(self, cid: str) -> Optional[int]:
        # The shim keeps a stopped task's exit status until the task is deleted.
        result = self._ctr("--id", cid, "state", shim=True, check=False)
        if result.returncode != 0:
            return None
        return json.loads(result.stdout).get("exit_status", 0)

    def _tasks(self) -> dict[str, str]:
        lines = self._ctr("tasks", "ls").stdout.splitlines()[1:]
        return {
            fields[0]: fields[2] for fields in (line.split() for line in lines) if len(fields) >= 3
        }

    def _project_ids(self, project: str, *extra_selectors: str) -> list[str]:
        query = ",".join([label_selector(PROJECT_LABEL, project), *extra_selectors])
        return self._ctr("containers", "ls", "--quiet", query).stdout.split()

    def _exists(self, cid: str) -> bool:
        query = f"id=={filter_literal(cid)}"
        return cid in self._ctr("containers", "ls", "--quiet", query).stdout.split()

    def _logs(self, cid: str, lines: int) -> str:
        path = self.log_dir / f"{cid}.log"
        if not path.exists():
            return ""
        with path.open("rb") as handle:
            tail = deque(handle, maxlen=lines)
        return b"".join(tail).decode(errors="replace")

    def _exec(self, cid: str, argv: tuple[str, ...], timeout: float) -> ExecResult:
        """`ctr tasks exec` with an exec id of its own, so that a command past its timeout can
        be killed: killing the ctr client alone would leave the command running."""
        if self._tasks().get(cid) != "RUNNING":
            raise EngineError(f"container {cid} is not running")
        exec_id = f"exec-{uuid.uuid4().hex[:12]}"
        # `--` ends ctr's options: argv is the command's own, whatever it starts with.
        command = [*self._base, "tasks", "exec", "--exec-id", exec_id, "--", cid, *argv]
        self.io.writes += 1
        try:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                timeout=timeout,
            )  # fmt: skip
        except FileNotFoundError as error:
            raise EngineUnavailableError(f"ctr is not installed: {error}") from None
        except subprocess.TimeoutExpired as expired:
            self._kill_exec(cid, exec_id)
            output = (expired.stdout or b"").decode(errors="replace")
            raise ExecTimeoutError(cid, argv, timeout, output) from None
        output = result.stdout.decode(errors="replace")
        # ctr exits with the command's own code; a failure of its own (the command could not
        # start) is its `ctr: ...` line and 1.
        last = output.rstrip("\n").rpartition("\n")[2]
        if result.returncode == 1 and last.startswith("ctr: "):
            raise EngineError(f"cannot run {argv[0]} in {cid}: {last.removeprefix('ctr: ')}")
        return ExecResult(result.returncode, output)

    def _kill_exec(self, cid: str, exec_id: str) -> None:
        self._ctr("tasks", "kill", "--exec-id", exec_id, "--signal", "SIGKILL", cid,
                  write=True, check=False)  # fmt: skip
        # The killed ctr client did not delete its process; it can once the kill has landed.
        deadline = time.monotonic() + 10
        while True:
            deleted = self._ctr("tasks", "delete", "--exec-id", exec_id, cid,
                                write=True, check=False)  # fmt: skip
            if deleted.returncode == 0 or "not found" in deleted.stderr:
                return
            if time.monotonic() >= deadline:
                logger.warning("exec %s in %s: %s", exec_id, cid, deleted.stderr.strip())
                return
            time.sleep(0.1)

    # -- running ctr -----------------------------------------------------------------------

    def _ctr(
        self,
        *args: str,
        write: bool = False,
        check: bool = True,
        timeout: int = 60,
        shim: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        argv = [*self._base, "shim", *args] if shim else [*self._base, *args]
        if write:
            self.io.writes += 1
        else:
            self.io.reads += 1
        try:
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except FileNotFoundError as error:
            raise EngineUnavailableError(f"ctr is not installed: {error}") from None
        except subprocess.TimeoutExpired:
            raise EngineError(f"ctr {args[0]} timed out after {timeout}s") from None
        if check and result.returncode != 0:
            detail = result.stderr.strip().removeprefix("ctr: ")
            if "connection refused" in detail or "no such file" in detail.lower():
                raise EngineUnavailableError(f"containerd at {self.socket}: {detail}")
            raise EngineError(f"ctr {' '.join(args[:2])} failed: {detail}")
        return result


def filter_literal(value: str) -> str:
    r"""`value` as a double-quoted literal of containerd's filter syntax (`pkg/filters`).

    Quoted literals there follow Go's string syntax: `\` and `"` are escaped, and a raw
    newline, NUL or U+FFFD is refused (its scanner reads U+FFFD as an encoding error). So every
    character outside printable ASCII goes as a `\uXXXX` or `\UXXXXXXXX` escape, which the
    parser decodes back to that character.
    """
    out = []
    for char in value:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def label_selector(key: str, value: str) -> str:
    """A filter selector matching one label's exact value: `labels."KEY"=="VALUE"`."""
    return f"labels.{filter_literal(key)}=={filter_literal(value)}"


def _server_version(text: str) -> tuple[int, ...]:
    """(major, minor) of the containerd server from `ctr version` output."""
    server = text.split("Server:", 1)[-1]
    for line in server.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Version":
            numbers = re.findall(r"\d+", value)[:2]
            return tuple(int(n) for n in numbers)
    return (0, 0)


class _RestartRules:
    """Whether containerd's restart monitor brings a stopped container of a project back.

    The label queries run only when a container is not running, and once per status() call,
    so a healthy project costs nothing extra.
    """

    def __init__(self, engine: ContainerdEngine, project: str) -> None:
        self._engine = engine
        self._project = project
        self._watched: Optional[set[str]] = None
        self._on_failure: Optional[set[str]] = None

    def will_restart(self, cid: str, exit_code: Optional[int]) -> bool:
        watched = label_selector(RESTART_STATUS_LABEL, "running")
        if self._watched is None:
            self._watched = set(self._engine._project_ids(self._project, watched))
        if cid not in self._watched:
            return False
        if exit_code != 0 or not self._engine.honours_restart_policy:
            return True
        if self._on_failure is None:
            on_failure = label_selector(RESTART_POLICY_LABEL, RestartPolicy.ON_FAILURE.value)
            self._on_failure = set(self._engine._project_ids(self._project, watched, on_failure))
        return cid not in self._on_failure


def logrotate_config(log_dir: Path) -> str:
    """Daily, or sooner past 100 MiB when logrotate runs, keeping a week compressed."""
    return (
        "# Juju managed by the Contrail charms: the containers' output on containerd.\n"
        f"{log_dir}/*.log {{\n"
        "    daily\n"
        "    maxsize 100M\n"
        "    rotate 7\n"
        "    missingok\n"
        "    notifempty\n"
        "    compress\n"
        "    delaycompress\n"
        "    copytruncate\n"
        "}\n"
    )
