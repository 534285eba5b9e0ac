"""kube-manager's identity in the Kubernetes API, through lightkube (no ops here).

The charm's leader makes a dedicated namespace, ServiceAccount, a ClusterRole with only what
kube-manager uses (no `*`), its binding, and a bound token from the TokenRequest API (Kubernetes
1.22+, so it works where service-account token Secrets are no longer made automatically).
Every failure becomes KubeApiError with a short text for a Waiting status.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from lightkube import ApiError, Client
from lightkube.config.kubeconfig import KubeConfig
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.core_v1 import Namespace, Service, ServiceAccount
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding

try:  # lightkube >= 1.0 ships its HTTP client as httpx2
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older lightkube
    import httpx  # type: ignore[no-redef]

NAMESPACE = "contrail"
IDENTITY = "contrail-kubemanager"
FIELD_MANAGER = "contrail-kubernetes-master"
# Long enough that kube-manager restarts rarely, short enough that a leaked token dies.
TOKEN_LIFETIME = datetime.timedelta(days=7)
ROTATE_BEFORE = datetime.timedelta(days=2)

# What kube-manager reads and writes, and nothing more.
RULES = [
    PolicyRule(
        apiGroups=[""],
        resources=["pods", "namespaces", "services", "endpoints", "nodes"],
        verbs=["get", "list", "watch"],
    ),
    PolicyRule(
        apiGroups=[""], resources=["pods", "services", "namespaces"], verbs=["patch", "update"]
    ),
    PolicyRule(apiGroups=[""], resources=["services/status"], verbs=["patch", "update"]),
    PolicyRule(apiGroups=[""], resources=["events"], verbs=["create", "patch"]),
    PolicyRule(
        apiGroups=["networking.k8s.io"],
        resources=["networkpolicies", "ingresses"],
        verbs=["get", "list", "watch"],
    ),
    PolicyRule(
        apiGroups=["networking.k8s.io"], resources=["ingresses/status"], verbs=["patch", "update"]
    ),
    PolicyRule(
        apiGroups=["k8s.cni.cncf.io"],
        resources=["network-attachment-definitions"],
        verbs=["get", "list", "watch"],
    ),
    PolicyRule(
        apiGroups=["apiextensions.k8s.io"],
        resources=["customresourcedefinitions"],
        verbs=["get", "list", "watch", "create"],
    ),
]


class KubeApiError(Exception):
    """The Kubernetes API could not be used; the message says why, for a Waiting status."""


@dataclass(frozen=True)
class Token:
    value: str
    expires: datetime.datetime

    def due(self, now: datetime.datetime) -> bool:
        """Whether to rotate: less than ROTATE_BEFORE of its life is left."""
        return self.expires - now < ROTATE_BEFORE


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


def request_token(client: Client) -> Token:
    """A new bound token for kube-manager's ServiceAccount."""
    request = ServiceAccount.Token(
        metadata=ObjectMeta(name=IDENTITY, namespace=NAMESPACE),
        spec=TokenRequestSpec(expirationSeconds=int(TOKEN_LIFETIME.total_seconds())),
    )
    answer = _call("request a token", client.create, request, IDENTITY, namespace=NAMESPACE)
    status = getattr(answer, "status", None)
    if status is None or not status.token or status.expirationTimestamp is None:
        raise KubeApiError("the API server returned a TokenRequest without a token")
    return Token(value=status.token, expires=status.expirationTimestamp)


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
        code = error.status.code if error.status else "?"
        reason = (error.status.reason or error.status.message) if error.status else ""
        raise KubeApiError(f"Kubernetes API refused to {what}: {code} {reason}".rstrip()) from None
    except (httpx.HTTPError, OSError) as error:
        raise KubeApiError(f"Kubernetes API unreachable ({what}): {error}") from None
