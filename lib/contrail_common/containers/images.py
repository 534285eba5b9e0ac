"""Image references, registry credentials and what we learn about an image after a pull."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

DEFAULT_REGISTRY = "docker.io"
VERSION_LABEL = "version"


@dataclass(frozen=True)
class RegistryCredentials:
    """A registry login. The password never appears in repr, logs or argv."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ImageInfo:
    """A local image: its reference, engine ID, and the Contrail version from its label."""

    reference: str
    image_id: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> Optional[str]:
        return self.labels.get(VERSION_LABEL)


def image_registry(reference: str) -> str:
    """The registry host of an image reference, with Docker's defaulting rules."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return DEFAULT_REGISTRY


def split_reference(reference: str) -> tuple[str, str]:
    """Split `repo[:tag][@digest]` into (repository, tag-or-digest); the tag defaults to latest."""
    if "@" in reference:
        repository, digest = reference.split("@", 1)
        return repository, digest
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = reference.rsplit(":", 1)
        return repository, tag
    return reference, "latest"
