"""Host problems a charm shows as a status: the message is the ready status text."""

from __future__ import annotations


class HostError(Exception):
    """A host problem; `str(error)` names the cause and the remedy, short enough for a status.

    `status_name` is the Juju status kind the charm should set (`ops.StatusBase.from_name`):
    blocked when the operator must act, waiting when the charm only has to wait.
    """

    status_name = "blocked"


class CommandNotFoundError(HostError):
    """A host program the helper needs is not installed."""


class CommandFailedError(HostError):
    """A host program ran but failed; the message carries its last error line."""


class ModuleLoadError(HostError):
    """A kernel module could not be loaded."""


class ModuleMemoryError(ModuleLoadError):
    """The kernel had no contiguous memory for the module's tables."""


class ModuleNotBuiltError(ModuleLoadError):
    """The module is not (yet) built for the running kernel: the build container must run."""

    status_name = "waiting"


class HugepageError(HostError):
    """Hugepages cannot be set up on this host as asked."""
