"""The errors the engine layer raises: one type per thing a charm reports differently."""

from __future__ import annotations

import enum


class EngineError(Exception):
    """A container engine refused or failed an operation; the message says which and why."""


class EngineUnavailableError(EngineError):
    """No container engine answers on its socket."""


class ExecTimeoutError(EngineError):
    """A command run in a container outlived its timeout and was killed.

    Whatever it did before is not undone: callers treat the command as issued with an unknown
    outcome and look at the service's state before doing anything again.
    """

    def __init__(self, container: str, argv: tuple[str, ...], timeout: float, output: str) -> None:
        self.container = container
        self.argv = argv
        self.timeout = timeout
        self.output = output
        super().__init__(f"{argv[0]} in {container} was still running after {timeout:g}s")


class PullFailure(str, enum.Enum):
    """Why an image could not be pulled, as far as the registry's answer tells."""

    UNAUTHORIZED = "unauthorized (check the registry user and password)"
    NOT_FOUND = "image not found (check the image name and tag)"
    UNREACHABLE = "registry unreachable (check the address, proxy and network)"
    OTHER = "pull failed"


class ImagePullError(EngineError):
    """An image could not be pulled. The message names the image, the registry and the cause."""

    def __init__(self, image: str, registry: str, cause: PullFailure, detail: str = "") -> None:
        self.image = image
        self.registry = registry
        self.cause = cause
        self.detail = detail
        message = f"cannot pull {image} from {registry}: {cause.value}"
        super().__init__(f"{message}: {detail}" if detail else message)


# Substrings of the engines' own error texts, most specific first.
_CAUSE_MARKERS: tuple[tuple[PullFailure, tuple[str, ...]], ...] = (
    (
        PullFailure.UNAUTHORIZED,
        (
            "401 unauthorized",
            "unauthorized",
            "authentication required",
            "no basic auth credentials",
            "403 forbidden",
            "denied",
        ),
    ),
    (
        PullFailure.NOT_FOUND,
        ("manifest unknown", "not found", "404", "name unknown", "does not exist"),
    ),
    (
        PullFailure.UNREACHABLE,
        (
            "connection refused",
            "no such host",
            "i/o timeout",
            "timeout",
            "network is unreachable",
            "no route to host",
            "dial tcp",
            "server gave http response to https client",
            "connection reset",
        ),
    ),
)


def classify_pull_failure(text: str) -> PullFailure:
    lowered = text.lower()
    for cause, markers in _CAUSE_MARKERS:
        if any(marker in lowered for marker in markers):
            return cause
    return PullFailure.OTHER
