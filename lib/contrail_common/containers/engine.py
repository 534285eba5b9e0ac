"""The engine interface, and the one reconcile algorithm every engine shares."""

from __future__ import annotations

import abc
import dataclasses
import logging
import signal as signals
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Optional

from .errors import EngineError, ImagePullError, PullFailure
from .images import ImageInfo, RegistryCredentials, image_registry
from .spec import (
    HASH_LABEL,
    NAME_LABEL,
    PROJECT_LABEL,
    STOP_LABEL,
    ContainerSpec,
    check_project,
    container_id,
)
from .state import ContainerState, ContainerStatus

logger = logging.getLogger(__name__)


@dataclass
class ApplyReport:
    """What one `apply()` did, by container name."""

    created: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.recreated or self.removed)


class ExecResult(NamedTuple):
    """What a command run in a container ended with: its exit code and its output (stdout and
    stderr together, decoded leniently). The same shape as the docker SDK's `exec_run`."""

    exit_code: int
    output: str


@dataclass
class IOCounts:
    """Requests an engine made to its daemon, split into reads and writes (for benchmarks)."""

    reads: int = 0
    writes: int = 0


@dataclass(frozen=True)
class OwnedContainer:
    """A container of a project as an engine lists it, with how it asked to be stopped."""

    name: str
    spec_hash: str
    stop_signal: str = "SIGTERM"
    stop_timeout: int = 10

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> OwnedContainer:
        signal, _, timeout = labels.get(STOP_LABEL, "SIGTERM/10").partition("/")
        return cls(
            name=labels.get(NAME_LABEL, ""),
            spec_hash=labels.get(HASH_LABEL, ""),
            stop_signal=signal or "SIGTERM",
            stop_timeout=int(timeout) if timeout.isdigit() else 10,
        )


class ContainerEngine(abc.ABC):
    """A container runtime on this host, driven declaratively per project.

    A project is the set of containers one charm unit owns; it is recorded in a label on each
    container, and nothing without that label is ever changed or removed.
    """

    kind: str = ""

    def __init__(self) -> None:
        self.io = IOCounts()

    # -- the declarative API -------------------------------------------------------------

    def apply(self, project: str, specs: Sequence[ContainerSpec]) -> ApplyReport:
        """Make the project's containers match `specs`, touching only what differs.

        Creates the missing ones, re-creates those whose spec hash changed, removes containers
        of this project that are no longer wanted, and leaves everything else alone.
        """
        check_project(project)
        names = [spec.name for spec in specs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise EngineError(f"duplicate container names in project {project}: {duplicates}")
        for spec in specs:
            if spec.env_file is not None and not spec.env_file.exists():
                raise EngineError(f"env file {spec.env_file} of container {spec.name} is missing")
        report = ApplyReport()
        owned = self._list_owned(project)
        for spec in specs:
            wanted_hash = spec.spec_hash()
            current = owned.get(spec.name)
            if current is None:
                self._create(project, spec, wanted_hash)
                report.created.append(spec.name)
            elif current.spec_hash != wanted_hash:
                logger.info("re-creating %s/%s: its spec changed", project, spec.name)
                self._remove(project, current)
                self._create(project, spec, wanted_hash)
                report.recreated.append(spec.name)
            else:
                report.unchanged.append(spec.name)
        for name in sorted(set(owned) - set(names)):
            logger.info("removing %s/%s: no longer wanted", project, name)
            self._remove(project, owned[name])
            report.removed.append(name)
        return report

    def remove_project(self, project: str) -> list[str]:
        """Remove every container of the project (for the charm's stop/remove)."""
        return self.apply(project, []).removed

    def status(self, project: str, expected: Iterable[str] = ()) -> dict[str, ContainerStatus]:
        """State of each container of the project, plus MISSING for expected names not found.

        Cheap enough for update-status: only reads, no pulls, no new containers.
        """
        check_project(project)
        found = self._states(project)
        for name in expected:
            found.setdefault(name, ContainerStatus(name, ContainerState.MISSING))
        return dict(sorted(found.items()))

    def logs(self, project: str, name: str, lines: int = 100) -> str:
        """The last `lines` lines the container wrote to stdout and stderr."""
        check_project(project)
        if name not in self._list_owned(project):
            raise EngineError(f"project {project} has no container named {name}")
        return self._logs(container_id(project, name), max(1, lines))

    def stop(self, project: str, name: str, signal: str, timeout: int) -> bool:
        """Stop a container of the project now with `signal`, SIGKILL after `timeout` seconds,
        and remove it; False when the project has no such container.

        The signal a re-create sends is fixed when the container is created; this one is for
        the stop that must differ (the vRouter agent's SIGQUIT, which tears its data plane
        down). The container is removed, not left stopped, so that the next `apply()` creates
        it again: a stopped container with an unchanged spec would count as unchanged.
        """
        check_project(project)
        if not signal.startswith("SIG") or not hasattr(signals.Signals, signal):
            raise EngineError(f"stop {name}: {signal!r} is not a signal name such as SIGQUIT")
        if timeout < 0:
            raise EngineError(f"stop {name}: the timeout must not be negative, not {timeout}")
        owned = self._list_owned(project).get(name)
        if owned is None:
            return False
        logger.info("stopping %s/%s with %s (%ds, then SIGKILL)", project, name, signal, timeout)
        self._remove(project, dataclasses.replace(owned, stop_signal=signal, stop_timeout=timeout))
        return True

    def exec(
        self, project: str, name: str, argv: Sequence[str], timeout: float = 60.0
    ) -> ExecResult:
        """Run `argv` in a running container of the project and wait for it.

        The command runs as the container's own processes do (its user, environment and working
        directory), with no shell and no stdin. A non-zero exit is a result, not an error.
        Raises EngineError when the command did not start (the project has no such container,
        it is not running, no such executable), and ExecTimeoutError, after killing the
        command, when it runs longer than `timeout` seconds: callers can tell "never ran" from
        "ran with this outcome" from "ran, outcome unknown".
        """
        check_project(project)
        command = tuple(argv)
        if not command or not all(isinstance(arg, str) and "\0" not in arg for arg in command):
            raise EngineError(f"exec in {name}: argv must be non-empty strings without NUL")
        if timeout <= 0:
            raise EngineError(f"exec in {name}: the timeout must be positive, not {timeout}")
        if name not in self._list_owned(project):
            raise EngineError(f"project {project} has no container named {name}")
        return self._exec(container_id(project, name), command, timeout)

    def pull(
        self,
        image: str,
        credentials: Optional[RegistryCredentials] = None,
        *,
        plain_http: bool = False,
        attempts: int = 3,
        backoff: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> ImageInfo:
        """Pull an image, retrying only failures that may pass (unreachable registry).

        Raises ImagePullError naming the image, the registry and the cause.
        """
        registry = image_registry(image)
        for attempt in range(1, attempts + 1):
            try:
                self._pull(image, credentials, plain_http)
                break
            except ImagePullError as error:
                if error.cause != PullFailure.UNREACHABLE or attempt == attempts:
                    raise
                logger.warning("pull of %s failed (%s), retrying", image, error.cause.name)
                sleep(backoff * attempt)
        info = self.inspect_image(image)
        if info is None:
            raise ImagePullError(image, registry, PullFailure.OTHER, "image absent after pull")
        return info

    @abc.abstractmethod
    def inspect_image(self, image: str) -> Optional[ImageInfo]:
        """The local image with this reference, or None; never pulls."""

    # -- what each engine implements -------------------------------------------------------

    @abc.abstractmethod
    def _list_owned(self, project: str) -> dict[str, OwnedContainer]:
        """The project's containers by name (one cheap read)."""

    @abc.abstractmethod
    def _create(self, project: str, spec: ContainerSpec, spec_hash: str) -> None:
        """Create and start the container, labelled with the project, name and hash."""

    @abc.abstractmethod
    def _remove(self, project: str, container: OwnedContainer) -> None:
        """Stop it with `container.stop_signal` (SIGKILL after its `stop_timeout`), remove it."""

    @abc.abstractmethod
    def _states(self, project: str) -> dict[str, ContainerStatus]:
        """Current state of each of the project's containers."""

    @abc.abstractmethod
    def _logs(self, cid: str, lines: int) -> str:
        """Tail of the container's output."""

    @abc.abstractmethod
    def _pull(self, image: str, credentials: Optional[RegistryCredentials], plain_http: bool):
        """Pull once; raise ImagePullError with the classified cause."""

    @abc.abstractmethod
    def _exec(self, cid: str, argv: tuple[str, ...], timeout: float) -> ExecResult:
        """Run argv in the container and wait; kill it and raise ExecTimeoutError on timeout."""


def ownership_labels(project: str, spec: ContainerSpec, spec_hash: str) -> dict[str, str]:
    """The spec's labels plus those that mark the container as ours."""
    return {
        **spec.labels,
        PROJECT_LABEL: project,
        NAME_LABEL: spec.name,
        HASH_LABEL: spec_hash,
        STOP_LABEL: f"{spec.stop_signal}/{spec.stop_timeout}",
    }


def ensure_host_dirs(paths: Iterable[Path]) -> None:
    """Create missing bind-mount sources as directories, as `docker run -v` does."""
    for path in paths:
        if not path.exists():
            path.mkdir(parents=True, exist_ok=True)
