"""A unit's services while an upgrade moves it: each on the tag its group runs now.

During a plan a unit runs two tags side by side (its config plane on the new one, its control
on the old one, say), and a group may be stopped. Each tag's services are rendered from the
configuration as it would be with that tag, so every env file matches the release line of the
image that reads it, and each service takes its image from that rendering. A stopped group's
services are left out: the engine removes their containers and the status expects none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Optional, Protocol, TypeVar

from ..config import WorkloadConfig
from ..images.releases import UnknownReleaseError
from ..services import Service, workload

ConfigT = TypeVar("ConfigT", bound=WorkloadConfig)


class TagChoice(Protocol):
    """Which tag each container role runs on this unit now, and which to pull ahead."""

    @property
    def pull(self) -> Optional[str]: ...

    def tag_for(self, role: str) -> Optional[str]: ...


@dataclass(frozen=True)
class SameTag:
    """No upgrade moves this unit: every role runs `tag`, nothing is pulled ahead."""

    tag: str
    pull: Optional[str] = None

    def tag_for(self, role: str) -> Optional[str]:
        return self.tag


@dataclass
class TaggedWorkload:
    """The services to run now, the image of each, and what the status should say."""

    services: list[Service] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)  # service name -> image reference
    notes: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


def config_for(config: ConfigT, tag: str) -> ConfigT:
    """The configuration as it would be with `image-tag` set to `tag`."""
    if tag == config.image_tag:
        return config
    return config.model_copy(update={"image_tag": tag})


def tagged_workload(
    config: ConfigT,
    choice: TagChoice,
    render: Callable[[ConfigT], Sequence[Service]],
    engine_kind: str,
    address: str,
) -> TaggedWorkload:
    """The services `choice` runs now, each rendered for its own tag and checked against the
    image contract of that tag's line."""
    result = TaggedWorkload()
    for tag in _tags_running(config, choice, render):
        tagged = config_for(config, tag)
        try:
            release = tagged.release
        except UnknownReleaseError as error:
            result.violations.append(f"image-tag {tag}: {error}")
            continue
        chosen = [s for s in render(tagged) if choice.tag_for(s.role) == tag]
        planned = workload(chosen, engine_kind, release, address)
        result.services.extend(planned.services)
        result.images.update({s.name: tagged.image(s.image) for s in planned.services})
        result.notes.extend(n for n in planned.notes if n not in result.notes)
        result.violations.extend(planned.violations)
    return result


def images_to_pull(
    config: ConfigT, choice: TagChoice, render: Callable[[ConfigT], Sequence[Service]]
) -> list[str]:
    """Every image of the tag to pull ahead (none when there is none)."""
    if choice.pull is None:
        return []
    tagged = config_for(config, choice.pull)
    try:
        return list(dict.fromkeys(tagged.image(s.image) for s in render(tagged)))
    except UnknownReleaseError:
        return []


def _tags_running(
    config: ConfigT, choice: TagChoice, render: Callable[[ConfigT], Sequence[Service]]
) -> list[str]:
    """The tags some role runs now, in a stable order (the configured one first)."""
    roles = [s.role for s in render(config)]
    tags = [choice.tag_for(role) for role in dict.fromkeys(roles)]
    found = [tag for tag in dict.fromkeys(tags) if tag is not None]
    return sorted(found, key=lambda tag: (tag != config.image_tag, tag))
