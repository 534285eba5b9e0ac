"""The TLS env, mount and label of each container, from `images/tls.yaml`.

Pure: services in, services out. While the deployment's TLS is off the services are returned
unchanged, so a deployment without TLS never re-creates a container for it. On, every image
gets the variables of its profile; images that read the certificate files also mount the unit's
directory at /etc/contrail/ssl and carry the files' content hash as a label, so a renewed
certificate re-creates exactly those containers.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..containers import Mount
from ..images.releases import ReleaseLine
from ..services import Service

_TLS_YAML = Path(__file__).parent.parent / "images" / "tls.yaml"
# The label that changes when the certificate files change (and re-creates the container).
HASH_LABEL = "io.juju.contrail.tls-files"


@dataclass(frozen=True)
class TlsMaterial:
    """What the containers get: off, or on with the unit's certificate directory and its hash."""

    enabled: bool = False
    host_dir: str = ""
    content_hash: str = ""


OFF = TlsMaterial()


@dataclass(frozen=True)
class Profile:
    name: str
    mount: bool
    env: Mapping[str, str]


@dataclass(frozen=True)
class TlsFacts:
    container_dir: str
    profiles: Mapping[str, Profile]
    # image component -> profile name
    images: Mapping[str, str]
    # variable -> release lines whose sources back it
    lines: Mapping[str, frozenset[str]]


@functools.cache
def load() -> TlsFacts:
    data = yaml.safe_load(_TLS_YAML.read_text())
    paths = data["files"]
    env: dict[str, dict[str, str]] = {name: {} for name in data["profiles"]}
    lines: dict[str, frozenset[str]] = {}
    for variable in data["variables"]:
        value = paths[variable["file"]] if "file" in variable else str(variable["value"])
        for profile in variable["profiles"]:
            env[profile][variable["variable"]] = value
        lines[variable["variable"]] = frozenset(variable["source"])
    profiles = {
        name: Profile(name, bool(entry["mount"]), env[name])
        for name, entry in data["profiles"].items()
    }
    images = {image: name for name, entry in data["profiles"].items() for image in entry["images"]}
    return TlsFacts(paths["directory"], profiles, images, lines)


def profile_of(image: str) -> Profile:
    """The TLS profile of an image component; KeyError for one tls.yaml does not place."""
    facts = load()
    if image not in facts.images:
        raise KeyError(f"images/tls.yaml places no image {image}: add it to a profile")
    return facts.profiles[facts.images[image]]


def with_tls(
    services: Sequence[Service],
    release: ReleaseLine,
    material: TlsMaterial,
    stunnel_for: Collection[str] = (),
) -> list[Service]:
    """The services as they run under `material`: unchanged while TLS is off.

    `stunnel_for` names the redis services remote clients read (analytics'): each gets a
    `redis_stunnel` beside it while TLS is on.
    """
    if not material.enabled:
        return list(services)
    facts = load()
    mount = Mount(source=material.host_dir, target=facts.container_dir)
    fronts = [redis_stunnel(s) for s in services if s.name in stunnel_for]
    result = []
    for service in [*services, *fronts]:
        profile = profile_of(service.image)
        env = {k: v for k, v in profile.env.items() if release.name in facts.lines[k]}
        changed = dataclasses.replace(service, env={**service.env, **env})
        if profile.mount:
            changed = dataclasses.replace(
                changed,
                mounts=(*changed.mounts, mount),
                extra_labels={**changed.extra_labels, HASH_LABEL: material.content_hash},
            )
        result.append(changed)
    return result


def redis_stunnel(redis: Service) -> Service:
    """The stunnel container that serves a redis to remote clients over TLS (analytics).

    It listens on the unit's address from REDIS_NODES and the redis port, and connects to the
    redis that TLS confines to 127.0.0.1. `with_tls` adds it while TLS is on and gives it its
    files.
    """
    env = {key: redis.env[key] for key in ("REDIS_NODES", "REDIS_SERVER_PORT") if key in redis.env}
    return Service(f"{redis.name}-stunnel", "external-stunnel", redis.role, env)
