"""Typed charm config: a pydantic base whose errors become one short message naming the option."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .addresses import IPNetwork, parse_network
from .images.releases import ReleaseLine, UnknownReleaseError, line_for_tag
from .text import Text, check_strings

ConfigT = TypeVar("ConfigT", bound="CharmConfig")

# The log levels Contrail services accept, most severe first.
LogLevel = Literal[
    "SYS_EMERG",
    "SYS_ALERT",
    "SYS_CRIT",
    "SYS_ERR",
    "SYS_WARN",
    "SYS_NOTICE",
    "SYS_INFO",
    "SYS_DEBUG",
]


def _parse_cidr_list(value: Any) -> tuple[IPNetwork, ...]:
    """`"10.0.0.0/24, 192.168.1.0/24"` (commas and/or spaces) -> networks; "" -> ()."""
    if isinstance(value, (tuple, list)):
        return tuple(parse_network(str(item)) for item in value)
    networks = []
    for item in re.split(r"[,\s]+", str(value or "").strip()):
        if not item:
            continue
        try:
            networks.append(parse_network(item))
        except ValueError:
            raise ValueError(
                f"{item!r} is not a CIDR such as 10.0.0.0/24 (no IPv6 scope id)"
            ) from None
    return tuple(networks)


CidrList = Annotated[tuple[IPNetwork, ...], BeforeValidator(_parse_cidr_list)]


def _check_secret_uri(value: str) -> str:
    if value and not re.fullmatch(r"secret:(//[0-9a-f-]+/)?[0-9a-z]{20}", value):
        raise ValueError(
            "must be a Juju secret URI such as secret:cs1v0pr3gb3jkh5c0avg "
            "(from `juju add-secret`)"
        )
    return value


SecretUri = Annotated[str, AfterValidator(_check_secret_uri)]


class InvalidConfigError(Exception):
    """The charm config does not validate; `str()` is a short message for BlockedStatus."""

    def __init__(self, message: str, options: list[str]) -> None:
        super().__init__(message)
        self.options = options


class CharmConfig(BaseModel):
    """Base for each charm's config model.

    Field `foo_bar` reads option `foo-bar` (declare `Field(alias="foo_bar")` for the options that
    keep an underscore). Options the model does not declare are ignored. No option, whatever
    its type, may hold a line break or control character (`text.check_strings`).
    """

    model_config = ConfigDict(
        alias_generator=lambda name: name.replace("_", "-"),
        populate_by_name=True,
        frozen=True,
        extra="ignore",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _one_line(cls, value: Any) -> Any:
        return check_strings(value)

    @classmethod
    def load(cls: type[ConfigT], options: Mapping[str, Any]) -> ConfigT:
        """Validate the charm config, or raise InvalidConfigError naming every bad option."""
        try:
            return cls.model_validate(dict(options))
        except ValidationError as error:
            message, names = describe_validation_error(error)
            raise InvalidConfigError(message, names) from None


def describe_validation_error(error: ValidationError) -> tuple[str, list[str]]:
    """One line such as `invalid config: log-level: must be one of ...; min-cluster-size: ...`.

    Input values are left out: an option may hold something sensitive.
    """
    parts: list[str] = []
    names: list[str] = []
    for problem in error.errors(include_input=False, include_url=False):
        location = problem.get("loc") or ()
        message = _plain_message(problem)
        if not location:  # a rule across options: its message names them
            parts.append(message)
            continue
        name = str(location[0])
        if name not in names:
            names.append(name)
        parts.append(f"{name}: {message}")
    return "invalid config: " + "; ".join(parts), names


def _plain_message(problem: Mapping[str, Any]) -> str:
    message = str(problem.get("msg", "invalid value"))
    if problem.get("type") == "literal_error":
        expected = (problem.get("ctx") or {}).get("expected", "")
        return f"must be one of {expected}".replace("'", "")
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message[0].lower() + message[1:] if message else message


# Tags that name a moving target rather than a release: allowed, but status says so.
UNPINNED_TAGS = frozenset({"latest", "latest-stable", "master", "nightly", "dev", "main"})

# The reference grammar of the distribution spec: a registry host (optional port) and/or a
# path of lowercase components; a tag of at most 128 word characters, dots and dashes.
_REGISTRY = re.compile(
    r"(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"(?::[0-9]{1,5})?)(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def _valid_registry(text: str) -> bool:
    """The reference grammar, and Docker's reading of it: the first component is a registry
    host only with a '.' or ':' in it or as `localhost`; otherwise it is a Docker Hub
    organisation, lowercase like every path component."""
    match = _REGISTRY.fullmatch(text)
    if match is None:
        return False
    first = text.split("/", 1)[0]
    port = first.partition(":")[2]
    if port and int(port) > 65535:
        return False
    is_host = "." in first or ":" in first or first == "localhost"
    return is_host or first == first.lower()


def _check_registry(value: str) -> str:
    text = value.strip().rstrip("/")
    # " " or "/" names no registry: only an empty value means the release line's.
    if value and not (text and _valid_registry(text)):
        raise ValueError(
            "must be empty (the release line's registry), a Docker Hub organisation such as "
            "opensdn, or a registry such as registry.example:5000/contrail"
        )
    return text


def _check_tag(value: str) -> str:
    text = value.strip()
    if value and not _TAG.fullmatch(text):  # " " is no tag either
        raise ValueError(
            "must be an image tag such as R24.1-latest (letters, digits, '_', '.', '-')"
        )
    return text


RegistryName = Annotated[str, AfterValidator(_check_registry)]
ImageTag = Annotated[str, AfterValidator(_check_tag)]


def _check_proxy(value: str) -> str:
    if value and not re.fullmatch(r"(https?|socks5h?)://[^\s]+", value):
        raise ValueError("must be a URL such as http://proxy.example:3128")
    return value


ProxyUrl = Annotated[Text, AfterValidator(_check_proxy)]
# Free text for one env file line (kept under its old name).
SingleLine = Text

# Nagios names end up in file names and object definitions: letters, digits, `.`, `_`, `-`.
_NAGIOS_NAME = re.compile(r"[A-Za-z0-9._-]*")


def is_nagios_name(value: str) -> bool:
    """Whether `value` may go into a Nagios object definition and a file name."""
    return _NAGIOS_NAME.fullmatch(value) is not None


def _check_nagios_name(value: str) -> str:
    if not is_nagios_name(value):
        raise ValueError("must be letters, digits, '.', '_' or '-' only")
    return value


def _check_nagios_groups(value: str) -> str:
    groups = [group.strip() for group in value.split(",") if group.strip()]
    if any(not is_nagios_name(group) for group in groups):
        raise ValueError("must be a comma list of names of letters, digits, '.', '_' or '-'")
    return ",".join(groups)


NagiosName = Annotated[str, AfterValidator(_check_nagios_name)]

# A Kubernetes cluster as Contrail names it: contrail-kubernetes-master's cluster_name, which
# the controller, the agents and the CNI nodes receive on their relations. Empty is unset.
_CLUSTER_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def check_cluster_name(value: str) -> str:
    if value and not _CLUSTER_NAME.fullmatch(value):
        raise ValueError("must be lowercase letters, digits and '-' (at most 63), such as k8s")
    return value


ClusterName = Annotated[str, AfterValidator(check_cluster_name)]
NagiosGroups = Annotated[str, AfterValidator(_check_nagios_groups)]


class WorkloadConfig(CharmConfig):
    """Options every Contrail workload charm has: images, registry, runtime, logging, proxies."""

    container_runtime: Literal["auto", "docker", "containerd"] = "auto"
    control_network: CidrList = ()
    # Empty: the community registry of the release line (tungstenfabric or opensdn).
    docker_registry: RegistryName = ""
    docker_registry_insecure: bool = False
    registry_credentials: SecretUri = ""
    image_tag: ImageTag = ""
    release_line: Literal["auto", "R2011", "R24.1", "R25.1"] = "auto"
    log_level: LogLevel = "SYS_NOTICE"
    http_proxy: ProxyUrl = ""
    https_proxy: ProxyUrl = ""
    no_proxy: SingleLine = ""
    # nrpe-external-master: the Nagios host name prefix and the checks' service groups
    # (empty: the context, as charmhelpers does). These options keep their underscore.
    nagios_context: NagiosName = Field(default="juju", alias="nagios_context")
    nagios_servicegroups: NagiosGroups = Field(default="", alias="nagios_servicegroups")

    @model_validator(mode="after")
    def _check_release(self) -> WorkloadConfig:
        if self.image_tag:
            try:
                line_for_tag(self.image_tag, self.release_line)
            except UnknownReleaseError as error:
                raise ValueError(str(error)) from None
        return self

    @property
    def unpinned(self) -> bool:
        return self.image_tag in UNPINNED_TAGS

    @property
    def release(self) -> ReleaseLine:
        """The release line of image-tag (release-line when set); image-tag must be set."""
        return line_for_tag(self.image_tag, self.release_line)

    @property
    def registry(self) -> str:
        return self.docker_registry or self.release.registry

    def image(self, component: str) -> str:
        """The full reference of a Contrail image from its component name, e.g.
        `nodemgr` -> `opensdn/contrail-nodemgr:R24.1-latest` on the R24.1 line."""
        return f"{self.registry}/{self.release.prefix}-{component}:{self.image_tag}"

    def proxy_env(self) -> dict[str, str]:
        names = {"http_proxy": self.http_proxy, "https_proxy": self.https_proxy}
        names["no_proxy"] = self.no_proxy
        env: dict[str, str] = {}
        for name, value in names.items():
            if value:
                env[name] = env[name.upper()] = value
        return env


def _check_jvm_options(value: str) -> str:
    if any(not word.startswith("-") for word in value.split()):
        raise ValueError("must be JVM options such as -Xms1g -Xmx2g")
    return value


JvmOptions = Annotated[SingleLine, AfterValidator(_check_jvm_options)]
