"""What `status()` reports about each container."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional


class ContainerState(str, enum.Enum):
    RUNNING = "running"
    RESTARTING = "restarting"
    EXITED = "exited"
    CREATED = "created"
    PAUSED = "paused"
    MISSING = "missing"


@dataclass(frozen=True)
class ContainerStatus:
    """The state of one container; `exit_code` is the last exit code when it has exited."""

    name: str
    state: ContainerState
    exit_code: Optional[int] = None

    @property
    def healthy(self) -> bool:
        return self.state == ContainerState.RUNNING

    def describe(self) -> str:
        """A short human text, e.g. `config-api exited with code 3`."""
        if self.state == ContainerState.EXITED:
            return f"{self.name} exited with code {self.exit_code}"
        if self.state == ContainerState.RESTARTING and self.exit_code is not None:
            return f"{self.name} restarting (last exit code {self.exit_code})"
        return f"{self.name} {self.state.value}"
