"""An engine that keeps its containers in memory, for charm unit tests and model simulation.

It runs the same `apply()` algorithm as the real engines (that lives in the base class) and
models the parts a charm can observe: container states and exit codes, image labels, pull
failures by cause, and commands run in containers (recorded, and answered as a test scripts
them). The workload tests prove the real engines behave the way this one does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

from .engine import ContainerEngine, ExecResult, OwnedContainer, ownership_labels
from .errors import EngineError, ImagePullError, PullFailure
from .images import ImageInfo, RegistryCredentials, image_registry
from .spec import PROJECT_LABEL, ContainerSpec, container_id
from .state import ContainerState, ContainerStatus


@dataclass
class MemoryContainer:
    spec: ContainerSpec
    labels: dict[str, str]
    state: ContainerState = ContainerState.RUNNING
    exit_code: Optional[int] = None
    output: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExecCall:
    """One command the code under test asked the engine to run in a container."""

    project: str
    name: str
    argv: tuple[str, ...]
    timeout: float


@dataclass(frozen=True)
class StopCall:
    """A container the engine stopped (and removed): how it was asked to stop."""

    project: str
    name: str
    signal: str
    timeout: int


# An answer is what the command returns, or an error the engine raises (a timeout, say).
ExecAnswer = Union[ExecResult, EngineError]


@dataclass
class MemoryRegistry:
    """What a fake registry serves: image labels by reference, and who may pull."""

    images: dict[str, dict[str, str]] = field(default_factory=dict)
    credentials: Optional[RegistryCredentials] = None
    reachable: bool = True


class MemoryEngine(ContainerEngine):
    kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.containers: dict[str, MemoryContainer] = {}
        self.images: dict[str, dict[str, str]] = {}
        self.registries: dict[str, MemoryRegistry] = {}
        self.exec_calls: list[ExecCall] = []
        # Every container stopped, by a re-create or removal as much as by `stop()`.
        self.stops: list[StopCall] = []
        self._exec_scripts: list[tuple[tuple[str, ...], list[ExecAnswer]]] = []
        # A stand-in for a whole workload (a Cassandra ring, a RabbitMQ cluster) answers here
        # the commands no script matches.
        self.exec_handler: Optional[Callable[[ExecCall], ExecAnswer]] = None

    # -- helpers for tests -----------------------------------------------------------------

    def add_image(self, reference: str, labels: Optional[dict[str, str]] = None) -> None:
        """Make an image available in its registry (and so pullable)."""
        registry = self.registries.setdefault(image_registry(reference), MemoryRegistry())
        registry.images[reference] = dict(labels or {})

    def crash(self, project: str, name: str, exit_code: int, restarting: bool = False) -> None:
        container = self.containers[container_id(project, name)]
        container.state = ContainerState.RESTARTING if restarting else ContainerState.EXITED
        container.exit_code = exit_code

    def script_exec(self, prefix: Sequence[str], *answers: ExecAnswer) -> None:
        """Answer the commands whose argv starts with `prefix` with `answers` in turn; the last
        one repeats. A later script for the same commands takes precedence."""
        if not answers:
            raise ValueError("script at least one answer")
        self._exec_scripts.append((tuple(prefix), list(answers)))

    # -- engine primitives -----------------------------------------------------------------

    def inspect_image(self, image: str) -> Optional[ImageInfo]:
        if image not in self.images:
            return None
        digest = hashlib.sha256(image.encode()).hexdigest()
        return ImageInfo(reference=image, image_id=f"sha256:{digest}", labels=self.images[image])

    def _pull(self, image: str, credentials: Optional[RegistryCredentials], plain_http: bool):
        self.io.writes += 1
        host = image_registry(image)
        registry = self.registries.get(host, MemoryRegistry(reachable=False))
        if not registry.reachable:
            raise ImagePullError(image, host, PullFailure.UNREACHABLE, "connection refused")
        if registry.credentials is not None and credentials != registry.credentials:
            raise ImagePullError(image, host, PullFailure.UNAUTHORIZED, "401 Unauthorized")
        if image not in registry.images:
            raise ImagePullError(image, host, PullFailure.NOT_FOUND, "manifest unknown")
        self.images[image] = registry.images[image]

    def _list_owned(self, project: str) -> dict[str, OwnedContainer]:
        self.io.reads += 1
        return {
            container.spec.name: OwnedContainer.from_labels(container.labels)
            for container in self._project(project)
        }

    def _create(self, project: str, spec: ContainerSpec, spec_hash: str) -> None:
        cid = container_id(project, spec.name)
        if cid in self.containers:
            raise EngineError(f"a container named {cid} exists and is not owned by {project}")
        if spec.image not in self.images:
            raise EngineError(f"image {spec.image} is not present: pull it first")
        self.io.writes += 1
        labels = {**self.images[spec.image], **ownership_labels(project, spec, spec_hash)}
        self.containers[cid] = MemoryContainer(spec=spec, labels=labels)

    def _remove(self, project: str, container: OwnedContainer) -> None:
        self.io.writes += 1
        self.stops.append(
            StopCall(project, container.name, container.stop_signal, container.stop_timeout)
        )
        del self.containers[container_id(project, container.name)]

    def _states(self, project: str) -> dict[str, ContainerStatus]:
        self.io.reads += 1
        return {
            c.spec.name: ContainerStatus(c.spec.name, c.state, c.exit_code)
            for c in self._project(project)
        }

    def _logs(self, cid: str, lines: int) -> str:
        return "".join(line + "\n" for line in self.containers[cid].output[-lines:])

    def _exec(self, cid: str, argv: tuple[str, ...], timeout: float) -> ExecResult:
        container = self.containers[cid]
        if container.state != ContainerState.RUNNING:
            raise EngineError(f"container {cid} is not running")
        call = ExecCall(container.labels[PROJECT_LABEL], container.spec.name, argv, timeout)
        self.exec_calls.append(call)
        self.io.writes += 1  # a command may change the workload, as a write does
        answer = self._answer(call)
        if isinstance(answer, EngineError):
            raise answer
        return answer

    def _answer(self, call: ExecCall) -> ExecAnswer:
        for prefix, answers in reversed(self._exec_scripts):
            if call.argv[: len(prefix)] == prefix:
                return answers.pop(0) if len(answers) > 1 else answers[0]
        if self.exec_handler is not None:
            return self.exec_handler(call)
        # What a container says of a command nobody scripted: not found, as a shell would.
        return ExecResult(127, f"{call.argv[0]}: not scripted in this test\n")

    def _project(self, project: str) -> list[MemoryContainer]:
        return [c for c in self.containers.values() if c.labels.get(PROJECT_LABEL) == project]
