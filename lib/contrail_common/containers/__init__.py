"""Declarative container management on the host's container engine."""

from .detect import ENGINE_KINDS, detect_engine_kind, make_engine
from .engine import ApplyReport, ContainerEngine, ExecResult, IOCounts
from .errors import (
    EngineError,
    EngineUnavailableError,
    ExecTimeoutError,
    ImagePullError,
    PullFailure,
)
from .images import ImageInfo, RegistryCredentials, image_registry
from .spec import ContainerSpec, Mount, RestartPolicy
from .state import ContainerState, ContainerStatus

__all__ = [
    "ENGINE_KINDS",
    "ApplyReport",
    "ContainerEngine",
    "ContainerSpec",
    "ContainerState",
    "ContainerStatus",
    "EngineError",
    "EngineUnavailableError",
    "ExecResult",
    "ExecTimeoutError",
    "IOCounts",
    "ImageInfo",
    "ImagePullError",
    "Mount",
    "PullFailure",
    "RegistryCredentials",
    "RestartPolicy",
    "detect_engine_kind",
    "image_registry",
    "make_engine",
]
