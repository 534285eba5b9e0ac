"""An engine that keeps its containers in memory, for charm unit tests and model simulation.

It runs the same `apply()` algorithm as the real engines (that lives in the base class) and
models the parts a charm can observe: container states and exit codes, image labels, and pull
failures by cause. The workload tests prove the real engines behave the way this one does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Optional

from .engine import ContainerEngine, OwnedContainer, ownership_labels
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

    # -- helpers for tests -----------------------------------------------------------------

    def add_image(self, reference: str, labels: Optional[dict[str, str]] = None) -> None:
        """Make an image available in its registry (and so pullable)."""
        registry = self.registries.setdefault(image_registry(reference), MemoryRegistry())
        registry.images[reference] = dict(labels or {})

    def crash(self, project: str, name: str, exit_code: int, restarting: bool = False) -> None:
        container = self.containers[container_id(project, name)]
        container.state = ContainerState.RESTARTING if restarting else ContainerState.EXITED
        container.exit_code = exit_code

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
        del self.containers[container_id(project, container.name)]

    def _states(self, project: str) -> dict[str, ContainerStatus]:
        self.io.reads += 1
        return {
            c.spec.name: ContainerStatus(c.spec.name, c.state, c.exit_code)
            for c in self._project(project)
        }

    def _logs(self, cid: str, lines: int) -> str:
        return "".join(line + "\n" for line in self.containers[cid].output[-lines:])

    def _project(self, project: str) -> list[MemoryContainer]:
        return [c for c in self.containers.values() if c.labels.get(PROJECT_LABEL) == project]
