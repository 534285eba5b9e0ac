"""Host paths under a configurable root, so host helpers can be tested on a fake tree."""

from __future__ import annotations

from pathlib import Path
from typing import Union


class HostRoot:
    """Maps absolute host paths (`/proc/...`, `/sys/...`, `/etc/...`) under one root.

    The default root is `/`, the real host; tests pass a temporary directory holding a fake
    `/proc`, `/sys` and `/etc` tree.
    """

    def __init__(self, root: Union[str, Path] = "/") -> None:
        self.root = Path(root)

    def path(self, host_path: Union[str, Path]) -> Path:
        """The location of an absolute host path under this root."""
        host_path = Path(host_path)
        if not host_path.is_absolute():
            raise ValueError(f"host path {host_path} must be absolute")
        return self.root.joinpath(*host_path.parts[1:])

    @property
    def proc(self) -> Path:
        return self.path("/proc")

    @property
    def sys(self) -> Path:
        return self.path("/sys")

    @property
    def etc(self) -> Path:
        return self.path("/etc")

    def __repr__(self) -> str:
        return f"HostRoot({str(self.root)!r})"
