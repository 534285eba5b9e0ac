"""The kube-manager workload: typed config, inputs, and its containers (no ops here)."""

from __future__ import annotations

import itertools
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Annotated, Optional

from pydantic import AfterValidator, Field, model_validator

from contrail_common.addresses import Address, check_host
from contrail_common.base_charm import Cluster
from contrail_common.config import (
    CidrList,
    ClusterName,
    SecretUri,
    SingleLine,
    WorkloadConfig,
)
from contrail_common.services import Service, contrail_env, flag, join, node_init, space_join

VERSION_IMAGE = "kubernetes-kube-manager"
PORTS: tuple[int, ...] = ()
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"


def _fq_name(parts: int, example: str):
    """A Contrail fully qualified name written `a:b:c`, checked at config time."""

    def check(value: str) -> str:
        if value and not re.fullmatch(":".join([_NAME] * parts), value):
            raise ValueError(f"must be {parts} names joined by ':', such as {example}")
        return value

    return AfterValidator(check)


@dataclass(frozen=True)
class KeystoneUrl:
    """A Keystone URL split the way the images take it: KEYSTONE_AUTH_PROTO, _HOST, the port
    (both _ADMIN_PORT and _PUBLIC_PORT: v3 serves both on one) and _URL_VERSION. No script
    reads a whole KEYSTONE_AUTH_URL (`contract.yaml`)."""

    proto: str
    host: str
    port: int
    version: str

    def env(self) -> dict[str, str]:
        return {
            "KEYSTONE_AUTH_PROTO": self.proto,
            "KEYSTONE_AUTH_HOST": self.host,
            "KEYSTONE_AUTH_ADMIN_PORT": str(self.port),
            "KEYSTONE_AUTH_PUBLIC_PORT": str(self.port),
            "KEYSTONE_AUTH_URL_VERSION": self.version,
        }


def parse_keystone_url(value: str) -> KeystoneUrl:
    parts = urllib.parse.urlsplit(value)
    version = parts.path.rstrip("/") or "/v3"
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or port == -1
        or version not in ("/v3", "/v2.0")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise ValueError(
            "must be a Keystone URL such as http://10.0.0.10:5000/v3 (http or https, a host, "
            "an optional port, and /v3 or /v2.0)"
        )
    try:
        check_host(parts.hostname)
    except ValueError as error:
        raise ValueError(f"the Keystone URL's host {error}") from None
    default_port = 443 if parts.scheme == "https" else 80
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return KeystoneUrl(parts.scheme, host, port or default_port, version)


def _check_keystone_url(value: str) -> str:
    if value:
        parse_keystone_url(value)
    return value


def _check_optional_host(value: str) -> str:
    return check_host(value) if value else value


def _check_hosts(value: str) -> str:
    """Addresses or host names, separated by commas and/or spaces."""
    for item in value.replace(",", " ").split():
        try:
            check_host(item)
        except ValueError:
            raise ValueError(
                "must be addresses or host names separated by commas, such as "
                "192.168.0.10,192.168.0.11 (no IPv6 scope id)"
            ) from None
    return value


ProjectName = Annotated[str, _fq_name(2, "default-domain:k8s")]
NetworkName = Annotated[str, _fq_name(3, "default-domain:k8s:pod-network")]
FipPoolName = Annotated[str, _fq_name(4, "default-domain:admin:public:fip-pool")]


class MasterConfig(WorkloadConfig):
    """The options keep the names operators know from the previous charms (underscores)."""

    cluster_name: ClusterName = Field(default="k8s", alias="cluster_name", min_length=1)
    pod_subnets: CidrList = Field(
        default="10.32.0.0/12", alias="pod_subnets", validate_default=True
    )
    service_subnets: CidrList = Field(
        default="10.152.183.0/24", alias="service_subnets", validate_default=True
    )
    ip_fabric_subnets: CidrList = Field(
        default="10.64.0.0/12", alias="ip_fabric_subnets", validate_default=True
    )
    ip_fabric_forwarding: bool = Field(default=False, alias="ip_fabric_forwarding")
    ip_fabric_snat: bool = Field(default=False, alias="ip_fabric_snat")
    host_network_service: bool = Field(default=False, alias="host_network_service")
    public_fip_pool: FipPoolName = Field(default="", alias="public_fip_pool")
    cluster_project: ProjectName = Field(default="", alias="cluster_project")
    cluster_network: NetworkName = Field(default="", alias="cluster_network")
    kubernetes_api_hostname: Annotated[SingleLine, AfterValidator(_check_optional_host)] = Field(
        default="", alias="kubernetes_api_hostname"
    )
    kubernetes_api_secure_port: int = Field(
        default=0, ge=0, le=65535, alias="kubernetes_api_secure_port"
    )
    nested_mode: bool = Field(default=False, alias="nested_mode")
    nested_controller_nodes: Annotated[SingleLine, AfterValidator(_check_hosts)] = Field(
        default="", alias="nested_controller_nodes"
    )
    nested_keystone_url: Annotated[SingleLine, AfterValidator(_check_keystone_url)] = Field(
        default="", alias="nested_keystone_url"
    )
    nested_keystone_user: SingleLine = Field(default="admin", alias="nested_keystone_user")
    nested_keystone_password: SecretUri = Field(default="", alias="nested_keystone_password")
    nested_keystone_project: SingleLine = Field(default="admin", alias="nested_keystone_project")
    # The name of Keystone's default domain (its id is `default`), as the images default it.
    nested_keystone_domain: SingleLine = Field(default="Default", alias="nested_keystone_domain")
    nested_keystone_region: SingleLine = Field(default="RegionOne", alias="nested_keystone_region")
    nested_vip: Optional[Address] = Field(default=None, alias="nested_vip")
    nested_port: int = Field(default=9091, ge=1, le=65535, alias="nested_port")

    @model_validator(mode="before")
    @classmethod
    def _empty_vip_is_unset(cls, data: dict) -> dict:
        if isinstance(data, dict) and data.get("nested_vip") == "":
            data = {**data, "nested_vip": None}
        return data

    @model_validator(mode="after")
    def _check_combinations(self) -> MasterConfig:
        if bool(self.kubernetes_api_hostname) != bool(self.kubernetes_api_secure_port):
            raise ValueError(
                "kubernetes_api_hostname and kubernetes_api_secure_port go together: "
                "set both or neither"
            )
        named = {
            "pod_subnets": self.pod_subnets,
            "service_subnets": self.service_subnets,
            "ip_fabric_subnets": self.ip_fabric_subnets,
        }
        for first, second in itertools.combinations(named, 2):
            for a in named[first]:
                for b in named[second]:
                    if a.version == b.version and a.overlaps(b):  # type: ignore[arg-type]
                        raise ValueError(f"{first} {a} overlaps {second} {b}")
        if not self.pod_subnets:
            raise ValueError("pod_subnets must name at least one network")
        if self.nested_mode:
            missing = [
                name
                for name, value in (
                    ("nested_controller_nodes", self.nested_controller_nodes),
                    ("nested_keystone_url", self.nested_keystone_url),
                    ("nested_keystone_password", self.nested_keystone_password),
                    ("nested_vip", self.nested_vip),
                    ("cluster_project", self.cluster_project),
                    ("cluster_network", self.cluster_network),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"nested_mode needs {', '.join(missing)}")
        return self


@dataclass
class MasterInputs:
    """What kube-manager gets from the controller, the Kubernetes API and the leader."""

    controller_ips: list[str] = field(default_factory=list)
    controller_data_ips: list[str] = field(default_factory=list)
    analytics_ips: list[str] = field(default_factory=list)
    auth_mode: str = "rbac"
    api_host: str = ""
    api_port: int = 0
    token: str = ""
    keystone_password: str = field(default="", repr=False)


def _fq_dict(value: str, keys: tuple[str, ...]) -> str:
    """kube-manager reads these as Python-dict text: build it from the validated FQ name."""
    if not value:
        return "{}"
    pairs = ", ".join(
        f"'{key}': '{part}'" for key, part in zip(keys, value.split(":"), strict=True)
    )
    return "{" + pairs + "}"


def services(config: MasterConfig, cluster: Cluster, inputs: MasterInputs) -> list[Service]:
    kubernetes = {
        "KUBERNETES_API_SERVER": inputs.api_host,
        "KUBERNETES_API_SECURE_PORT": str(inputs.api_port),
        "K8S_TOKEN": inputs.token,
        "KUBERNETES_CLUSTER_NAME": config.cluster_name,
        # kube-manager splits its subnet lists on whitespace (`contract.yaml`).
        "KUBERNETES_POD_SUBNETS": space_join(config.pod_subnets),
        "KUBERNETES_SERVICE_SUBNETS": space_join(config.service_subnets),
        "KUBERNETES_IP_FABRIC_SUBNETS": space_join(config.ip_fabric_subnets),
        "KUBERNETES_IP_FABRIC_FORWARDING": flag(config.ip_fabric_forwarding),
        "KUBERNETES_IP_FABRIC_SNAT": flag(config.ip_fabric_snat),
        "DIST_SNAT_PROTO_PORT_LIST": "tcp:1024,udp:1024",
        "KUBERNETES_HOST_NETWORK_SERVICE": flag(config.host_network_service),
        "KUBERNETES_PUBLIC_FIP_POOL": _fq_dict(
            config.public_fip_pool, ("domain", "project", "network", "name")
        ),
        "KUBERNETES_CLUSTER_PROJECT": _fq_dict(config.cluster_project, ("domain", "project")),
        "KUBERNETES_CLUSTER_NETWORK": _fq_dict(
            config.cluster_network, ("domain", "project", "name")
        ),
        "KUBEMANAGER_NODES": join(cluster.addresses),
    }
    if config.nested_mode:
        underlay = ",".join(config.nested_controller_nodes.replace(",", " ").split())
        env = {
            **kubernetes,
            "KUBEMANAGER_NESTED_MODE": "1",
            "CLOUD_ORCHESTRATOR": "kubernetes",
            "CONTROLLER_NODES": underlay,
            "CONFIG_NODES": underlay,
            "LOG_LEVEL": config.log_level,
            "AUTH_MODE": "keystone",
            **parse_keystone_url(config.nested_keystone_url).env(),
            "KEYSTONE_AUTH_ADMIN_USER": config.nested_keystone_user,
            "KEYSTONE_AUTH_ADMIN_PASSWORD": inputs.keystone_password,
            "KEYSTONE_AUTH_ADMIN_TENANT": config.nested_keystone_project,
            "KEYSTONE_AUTH_PROJECT_DOMAIN_NAME": config.nested_keystone_domain,
            "KEYSTONE_AUTH_USER_DOMAIN_NAME": config.nested_keystone_domain,
            "KEYSTONE_AUTH_REGION_NAME": config.nested_keystone_region,
        }
    else:
        env = {
            **contrail_env(
                controller_ips=inputs.controller_ips,
                controller_data_ips=inputs.controller_data_ips,
                analytics_ips=inputs.analytics_ips,
                analyticsdb_ips=[],
                log_level=config.log_level,
                auth_mode=inputs.auth_mode,
                orchestrator="kubernetes",
            ),
            **kubernetes,
        }
    common = {"LOG_LEVEL": config.log_level}
    return [
        node_init(common, config.image("status")),
        Service("kube-manager", "kubernetes-kube-manager", "kubernetes", env),
    ]
