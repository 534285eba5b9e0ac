"""The declarative description of one container, and its stable hash."""

from __future__ import annotations

import enum
import hashlib
import json
import re
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..envfile import check_env_entry, read_env_file

# Labels the engines put on every container they create. Ownership is decided by these alone.
PROJECT_LABEL = "contrail-charms.project"
NAME_LABEL = "contrail-charms.name"
HASH_LABEL = "contrail-charms.spec-hash"
STOP_LABEL = "contrail-charms.stop"
RESERVED_LABEL_PREFIX = "contrail-charms."

# Docker and containerd both accept these as container names / IDs.
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
_NAME = re.compile(NAME_PATTERN.removeprefix("^").removesuffix("$"))


class RestartPolicy(str, enum.Enum):
    """When the engine brings a container back after it exits."""

    ALWAYS = "always"
    UNLESS_STOPPED = "unless-stopped"
    ON_FAILURE = "on-failure"
    NO = "no"


class Mount(BaseModel):
    """A host path (bind) or a named volume mounted into the container."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str
    source: str
    kind: Literal["bind", "volume"] = "bind"
    read_only: bool = False

    @model_validator(mode="after")
    def _check_paths(self) -> Mount:
        if not self.target.startswith("/"):
            raise ValueError(f"mount target {self.target!r} must be an absolute path")
        if self.kind == "bind" and not self.source.startswith("/"):
            raise ValueError(f"bind mount source {self.source!r} must be an absolute path")
        if self.kind == "volume" and not _NAME.fullmatch(self.source):
            raise ValueError(f"volume name {self.source!r} must match {NAME_PATTERN}")
        return self


class ContainerSpec(BaseModel):
    """Everything that decides how one container is created.

    Two specs with the same `spec_hash()` give the same container; the hash covers the content of
    `env_file` too, so re-rendering an env file re-creates exactly the containers that use it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    image: str = Field(min_length=1)
    env_file: Optional[Path] = None
    env: dict[str, str] = Field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    network_mode: Literal["host", "none", "bridge"] = "host"
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    pid_mode: Optional[Literal["host"]] = None
    restart: RestartPolicy = RestartPolicy.ALWAYS
    labels: dict[str, str] = Field(default_factory=dict)
    entrypoint: Optional[tuple[str, ...]] = None
    command: Optional[tuple[str, ...]] = None
    stop_signal: str = "SIGTERM"
    stop_timeout: int = Field(default=10, ge=0, le=600)

    @field_validator("env")
    @classmethod
    def _check_env(cls, env: dict[str, str]) -> dict[str, str]:
        for key, value in env.items():
            check_env_entry(key, value)
        return env

    @field_validator("labels")
    @classmethod
    def _check_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key in labels:
            if key.startswith(RESERVED_LABEL_PREFIX):
                raise ValueError(f"label {key!r} is reserved for the engine layer")
        return labels

    @field_validator("cap_add")
    @classmethod
    def _check_caps(cls, caps: tuple[str, ...]) -> tuple[str, ...]:
        for cap in caps:
            if not re.fullmatch(r"[A-Z_]+", cap) or cap.startswith("CAP_"):
                raise ValueError(f"capability {cap!r} must be written like NET_ADMIN")
        return caps

    @field_validator("env_file")
    @classmethod
    def _check_env_file(cls, path: Optional[Path]) -> Optional[Path]:
        if path is not None and not path.is_absolute():
            raise ValueError(f"env file {path} must be an absolute path")
        return path

    def spec_hash(self) -> str:
        """A stable digest of the spec and of its env file's content."""
        digest = hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode())
        if self.env_file is not None:
            digest.update(b"\0env-file\0")
            digest.update(self.env_file.read_bytes() if self.env_file.exists() else b"<missing>")
        return digest.hexdigest()[:32]

    def resolved_env(self) -> dict[str, str]:
        """The env file's variables overlaid with `env`, as the container will see them."""
        merged = read_env_file(self.env_file) if self.env_file is not None else {}
        merged.update(self.env)
        return merged


def container_id(project: str, name: str) -> str:
    """The engine-wide name of a project's container (the same on every engine)."""
    return f"{project}-{name}"


def check_project(project: str) -> None:
    if not _NAME.fullmatch(project):
        raise ValueError(f"project name {project!r} must match {NAME_PATTERN}")
