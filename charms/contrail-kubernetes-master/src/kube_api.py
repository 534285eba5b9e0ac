"""kube-manager's identity in the Kubernetes API, through lightkube (no ops here).

The charm's leader makes a dedicated namespace, ServiceAccount, a ClusterRole with exactly what
kube-manager calls (no `*`), its binding, the NetworkAttachmentDefinition CRD kube-manager
watches, and a bound token from the TokenRequest API (Kubernetes 1.22+, so it works where
service-account token Secrets are no longer made automatically). Every failure becomes
KubeApiError with a short text for a Waiting status.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from lightkube import ApiError, Client
from lightkube.config.kubeconfig import KubeConfig
from lightkube.models.apiextensions_v1 import (
    CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec,
    CustomResourceDefinitionVersion,
    CustomResourceValidation,
    JSONSchemaProps,
)
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Namespace, Secret, Service, ServiceAccount
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding

try:  # lightkube >= 1.0 ships its HTTP client as httpx2
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older lightkube
    import httpx  # type: ignore[no-redef]

NAMESPACE = "contrail"
IDENTITY = "contrail-kubemanager"
FIELD_MANAGER = "contrail-kubernetes-master"
# Asked for: long enough that kube-manager restarts rarely, short enough that a leaked token
# dies. The API server may grant less (--service-account-max-token-expiration).
TOKEN_LIFETIME = datetime.timedelta(days=7)
# Renew once this share of the lifetime actually granted has passed (kubelet renews projected
# tokens at the same point), so a capped lifetime never makes a fresh token look due.
ROTATE_AFTER = 0.8
# The never-expiring token Secret that earlier charms made for the same ServiceAccount.
LEGACY_TOKEN_SECRET = IDENTITY
SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token"  # noqa: S105 - a Secret type

NETWORK_CRD = "network-attachment-definitions.k8s.cni.cncf.io"


@dataclass(frozen=True)
class Grant:
    """One ClusterRole rule and where kube-manager makes the calls that need it."""

    rule: PolicyRule
    used_by: tuple[str, ...]  # repo@commit:path


# kube-manager talks to the API through raw HTTP in kube/kube_monitor.py: each monitor started in
# kube_manager.py lists its resource cluster-wide, gets every entry (init_monitor) and watches
# (register_monitor); get_resource, patch_resource (strategic merge PATCH) and post_resource
# serve the vnc handlers. Read on the R2011 branch the 2011.* images are built from; master
# (6a674397821187fedfffd9586942b906d3479dbc) and OpenSDN-io/tf-controller
# (fbb63bcd60f245b54397d63cb4232b481cfc1126) make the same calls. GET /openapi/v2 is a
# non-resource URL every authenticated client may read (system:discovery), so no rule here.
GRANTS = [
    # Monitors of namespaces, pods, services, endpoints: list + get each + watch; services are
    # also read by name when endpoints and ingresses map to load balancer members.
    Grant(
        PolicyRule(
            apiGroups=[""],
            resources=["namespaces", "pods", "services", "endpoints"],
            verbs=["get", "list", "watch"],
        ),
        (
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/kube_manager.py",
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/kube/kube_monitor.py",
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/vnc/vnc_endpoints.py",
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/vnc/vnc_ingress.py",
        ),
    ),
    # Monitors of network policies and ingresses (networking.k8s.io, found through
    # /openapi/v2 on clusters that no longer serve extensions/v1beta1).
    Grant(
        PolicyRule(
            apiGroups=["networking.k8s.io"],
            resources=["networkpolicies", "ingresses"],
            verbs=["get", "list", "watch"],
        ),
        (
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/kube_manager.py",
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/kube/kube_monitor.py",
        ),
    ),
    # The network monitor: NetworkAttachmentDefinitions whose config is for contrail-k8s-cni.
    Grant(
        PolicyRule(
            apiGroups=["k8s.cni.cncf.io"],
            resources=["network-attachment-definitions"],
            verbs=["get", "list", "watch"],
        ),
        (
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/kube/network_monitor.py",
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/kube/kube_monitor.py",
        ),
    ),
    # PATCH only (never PUT): the pod's k8s.v1.cni.cncf.io/network-status annotation, and a
    # service's spec.externalIPs once a floating IP is allocated.
    Grant(
        PolicyRule(apiGroups=[""], resources=["pods", "services"], verbs=["patch"]),
        (
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/vnc/vnc_pod.py",
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/vnc/vnc_service.py",
        ),
    ),
    # The ingress's status.loadBalancer (PATCH of the status subresource).
    Grant(
        PolicyRule(
            apiGroups=["networking.k8s.io"], resources=["ingresses/status"], verbs=["patch"]
        ),
        (
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/vnc/vnc_ingress.py",
        ),
    ),
    # The network monitor reads the NetworkAttachmentDefinition CRD by name before it starts,
    # and creates it only when missing; the charm's leader creates it first (ensure_network_crd).
    Grant(
        PolicyRule(
            apiGroups=["apiextensions.k8s.io"],
            resources=["customresourcedefinitions"],
            resourceNames=[NETWORK_CRD],
            verbs=["get"],
        ),
        (
            "tungstenfabric/tf-controller@6da12444dc198926077ce022441dc9db7f4c2e6a:src/container/kube-manager/kube_manager/kube/network_monitor.py",
        ),
    ),
]
RULES = [grant.rule for grant in GRANTS]


class KubeApiError(Exception):
    """The Kubernetes API could not be used; the message says why, for a Waiting status."""

    def __init__(self, message: str, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.code = code  # the HTTP status the API answered with, if it answered


@dataclass(frozen=True)
class Token:
    value: str
    expires: datetime.datetime
    issued: datetime.datetime  # when it was requested: with `expires`, the lifetime granted

    def due(self, now: datetime.datetime) -> bool:
        """Whether to rotate: ROTATE_AFTER of the lifetime actually granted has passed."""
        return now >= self.issued + (self.expires - self.issued) * ROTATE_AFTER


def client_from_kubeconfig(path: Path, timeout: float = 10.0) -> Client:
    """A client with the control plane's admin kubeconfig (/root/.kube/config)."""
    if not path.exists():
        raise KubeApiError(f"no {path} yet: the control plane has not written its kubeconfig")
    try:
        config = KubeConfig.from_file(str(path))
        limit: Any = httpx.Timeout(timeout)  # httpx or httpx2, whichever lightkube uses
        return Client(config=config, timeout=limit, field_manager=FIELD_MANAGER)
    except Exception as error:  # lightkube raises assorted errors on a bad kubeconfig
        raise KubeApiError(f"cannot use {path}: {error}") from None


def api_server(path: Path) -> Optional[tuple[str, int]]:
    """(host, port) of the API server named in a kubeconfig, None when unreadable."""
    try:
        single = KubeConfig.from_file(str(path)).get()
    except Exception:
        return None
    cluster = single.cluster if single is not None else None
    if cluster is None or not cluster.server:
        return None
    server = cluster.server
    url = httpx.URL(server)
    return url.host, url.port or (443 if url.scheme == "https" else 80)


def ensure_identity(client: Client) -> None:
    """Create or update the namespace, ServiceAccount, ClusterRole and binding (idempotent)."""
    objects = [
        Namespace(metadata=ObjectMeta(name=NAMESPACE)),
        ServiceAccount(metadata=ObjectMeta(name=IDENTITY, namespace=NAMESPACE)),
        ClusterRole(metadata=ObjectMeta(name=IDENTITY), rules=RULES),
        ClusterRoleBinding(
            metadata=ObjectMeta(name=IDENTITY),
            roleRef=RoleRef(
                apiGroup="rbac.authorization.k8s.io", kind="ClusterRole", name=IDENTITY
            ),
            subjects=[Subject(kind="ServiceAccount", name=IDENTITY, namespace=NAMESPACE)],
        ),
    ]
    for obj in objects:
        _call(f"apply {type(obj).__name__} {obj.metadata.name}", client.apply, obj, force=True)


def ensure_network_crd(client: Client) -> bool:
    """Create the NetworkAttachmentDefinition CRD kube-manager watches; True when created.

    An existing one (e.g. from Multus) is left as it is, as kube-manager itself would.
    """
    crd = CustomResourceDefinition(
        metadata=ObjectMeta(name=NETWORK_CRD),
        spec=CustomResourceDefinitionSpec(
            group="k8s.cni.cncf.io",
            scope="Namespaced",
            names=CustomResourceDefinitionNames(
                kind="NetworkAttachmentDefinition",
                plural="network-attachment-definitions",
                singular="network-attachment-definition",
                shortNames=["net-attach-def"],
            ),
            versions=[
                CustomResourceDefinitionVersion(
                    name="v1",
                    served=True,
                    storage=True,
                    schema=CustomResourceValidation(
                        openAPIV3Schema=JSONSchemaProps(
                            type="object",
                            properties={
                                "spec": JSONSchemaProps(
                                    type="object",
                                    properties={"config": JSONSchemaProps(type="string")},
                                )
                            },
                        )
                    ),
                )
            ],
        ),
    )
    created = _call_unless(
        (409,), f"create CustomResourceDefinition {NETWORK_CRD}", client.create, crd
    )
    return created is not None


def request_token(client: Client, now: Optional[datetime.datetime] = None) -> Token:
    """A new bound token for kube-manager's ServiceAccount, with the lifetime it was granted."""
    issued = now or datetime.datetime.now(datetime.timezone.utc)
    request = ServiceAccount.Token(
        metadata=ObjectMeta(name=IDENTITY, namespace=NAMESPACE),
        spec=TokenRequestSpec(expirationSeconds=int(TOKEN_LIFETIME.total_seconds())),
    )
    answer = _call("request a token", client.create, request, IDENTITY, namespace=NAMESPACE)
    status = getattr(answer, "status", None)
    if status is None or not status.token or status.expirationTimestamp is None:
        raise KubeApiError("the API server returned a TokenRequest without a token")
    expires = status.expirationTimestamp
    if expires <= issued:
        raise KubeApiError(
            f"the API server granted a token that expires at {expires.isoformat()}, before it "
            "was requested: synchronise the clocks of this machine and the API server"
        )
    return Token(value=status.token, expires=expires, issued=issued)


def remove_legacy_token_secret(client: Client) -> bool:
    """Delete the never-expiring token Secret of earlier charms; True when deleted.

    Only a service-account token Secret for kube-manager's own ServiceAccount is removed:
    a Secret of another type under that name is not ours to delete.
    """
    name = f"{NAMESPACE}/{LEGACY_TOKEN_SECRET}"
    secret = _call_unless(
        (404,), f"read Secret {name}", client.get, Secret, LEGACY_TOKEN_SECRET, namespace=NAMESPACE
    )
    if secret is None:
        return False
    annotations = (secret.metadata.annotations if secret.metadata else None) or {}
    if (
        secret.type != SERVICE_ACCOUNT_TOKEN_TYPE
        or annotations.get("kubernetes.io/service-account.name") != IDENTITY
    ):
        return False
    # 404 here: deleted meanwhile, which is what was wanted.
    _call_unless(
        (404,),
        f"delete Secret {name}",
        client.delete,
        Secret,
        LEGACY_TOKEN_SECRET,
        namespace=NAMESPACE,
    )
    return True


def kubernetes_service_ip(client: Client) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The ClusterIP of `default/kubernetes`, the first address of the service CIDR."""
    service = _call(
        "read the kubernetes service", client.get, Service, "kubernetes", namespace="default"
    )
    cluster_ip = service.spec.clusterIP if service.spec else None
    if not cluster_ip:
        raise KubeApiError("the kubernetes service has no cluster IP")
    return ipaddress.ip_address(cluster_ip)


def _call(what: str, function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except ApiError as error:
        code = error.status.code if error.status else None
        reason = (error.status.reason or error.status.message) if error.status else ""
        raise KubeApiError(
            f"Kubernetes API refused to {what}: {code or '?'} {reason}".rstrip(), code
        ) from None
    except (httpx.HTTPError, OSError) as error:
        raise KubeApiError(f"Kubernetes API unreachable ({what}): {error}") from None


def _call_unless(codes: tuple[int, ...], what: str, function, *args, **kwargs):
    """As _call, but None when the API answers with one of `codes` (e.g. 404: absent)."""
    try:
        return _call(what, function, *args, **kwargs)
    except KubeApiError as error:
        if error.code in codes:
            return None
        raise
