"""kube_api against the in-process API server, through the real lightkube client."""

from __future__ import annotations

import datetime
import json
import re
import urllib.error
import urllib.request

import pytest
from fake_apiserver import FakeApiServer, allows, attributes
from kube_api import (
    GRANTS,
    IDENTITY,
    NAMESPACE,
    NETWORK_CRD,
    RULES,
    TOKEN_LIFETIME,
    KubeApiError,
    Token,
    api_server,
    client_from_kubeconfig,
    ensure_identity,
    ensure_network_crd,
    kubernetes_service_ip,
    remove_legacy_token_secret,
    request_token,
)

DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def api():
    server = FakeApiServer()
    yield server
    server.stop()


@pytest.fixture
def client(api, tmp_path):
    path = tmp_path / "config"
    api.write_kubeconfig(path)
    return client_from_kubeconfig(path)


def test_identity_is_least_privilege_and_idempotent(api, client):
    ensure_identity(client)
    ensure_identity(client)
    assert set(api.paths("PATCH")) == {
        f"/api/v1/namespaces/{NAMESPACE}",
        f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{IDENTITY}",
        f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{IDENTITY}",
        f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{IDENTITY}",
    }
    role = api.objects[f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{IDENTITY}"]
    for rule in role["rules"]:
        assert (
            "*" not in rule["verbs"]
            and "*" not in rule["resources"]
            and "*" not in rule["apiGroups"]
        )
    assert not any("delete" in rule["verbs"] for rule in role["rules"])
    binding = api.objects[f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{IDENTITY}"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": IDENTITY, "namespace": NAMESPACE}
    ]
    apply = next(r for r in api.requests if r.method == "PATCH")
    assert apply.query["fieldManager"] == ["contrail-kubernetes-master"]


def test_token_request_gives_a_bound_token(api, client):
    ensure_identity(client)
    token = request_token(client)
    assert token.value == "bound-token-1"
    lifetime = token.expires - token.issued
    assert TOKEN_LIFETIME - datetime.timedelta(minutes=1) < lifetime <= TOKEN_LIFETIME
    (post,) = [r for r in api.requests if r.method == "POST"]
    assert post.path == f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{IDENTITY}/token"
    assert post.body["spec"]["expirationSeconds"] == int(TOKEN_LIFETIME.total_seconds())


def test_rotation_is_due_after_most_of_the_granted_lifetime():
    issued = datetime.datetime(2026, 11, 22, tzinfo=datetime.timezone.utc)
    week = Token("t", issued + 7 * DAY, issued)
    assert not week.due(issued + 5 * DAY)
    assert week.due(issued + 6 * DAY)


def test_a_capped_lifetime_is_what_rotation_counts(api, client):
    """--service-account-max-token-expiration=24h: the week asked for comes back as a day."""
    api.max_token_seconds = 24 * 3600
    ensure_identity(client)
    token = request_token(client)
    assert DAY - datetime.timedelta(minutes=1) < token.expires - token.issued <= DAY
    assert not token.due(token.issued + HOUR), "a fresh capped token is not due"
    assert not token.due(token.issued + 19 * HOUR)
    assert token.due(token.issued + 20 * HOUR)


def test_a_token_expiring_before_it_was_asked_for_names_the_clocks(api, client):
    ensure_identity(client)
    with pytest.raises(KubeApiError, match="synchronise the clocks"):
        request_token(client, now=datetime.datetime.now(datetime.timezone.utc) + 30 * DAY)


def test_token_for_a_missing_service_account_is_a_404(client):
    with pytest.raises(KubeApiError, match="refused to request a token: 404 NotFound"):
        request_token(client)


def test_wrong_credentials_are_a_401(api, tmp_path):
    path = tmp_path / "config"
    api.write_kubeconfig(path, token="stale")
    with pytest.raises(KubeApiError, match="401 Unauthorized"):
        ensure_identity(client_from_kubeconfig(path))


def test_forbidden_is_a_403_naming_the_step(api, client):
    api.failures[("PATCH", "/apis/rbac.authorization.k8s.io/v1/clusterroles")] = 403
    with pytest.raises(
        KubeApiError, match="refused to apply ClusterRole contrail-kubemanager: 403 Forbidden"
    ):
        ensure_identity(client)


def test_conflict_is_reported(api, client):
    api.failures[("PATCH", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts")] = 409
    with pytest.raises(KubeApiError, match="409 AlreadyExists"):
        ensure_identity(client)


def test_unreachable_api_server(api, client):
    api.stop()
    with pytest.raises(KubeApiError, match="Kubernetes API unreachable"):
        ensure_identity(client)


def test_missing_kubeconfig(tmp_path):
    with pytest.raises(KubeApiError, match="has not written its kubeconfig"):
        client_from_kubeconfig(tmp_path / "absent")
    assert api_server(tmp_path / "absent") is None


def test_service_ip_and_server_address(api, client, tmp_path):
    assert str(kubernetes_service_ip(client)) == "10.152.183.1"
    path = tmp_path / "config"
    api.write_kubeconfig(path)
    assert api_server(path) == ("127.0.0.1", api.httpd.server_address[1])


NETWORK_CRD_PATH = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{NETWORK_CRD}"


def test_network_crd_is_created_once_and_an_existing_one_kept(api, client):
    assert ensure_network_crd(client) is True
    crd = api.objects[NETWORK_CRD_PATH]
    assert crd["spec"]["group"] == "k8s.cni.cncf.io"
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["kind"] == "NetworkAttachmentDefinition"
    assert crd["spec"]["names"]["plural"] == "network-attachment-definitions"
    (version,) = crd["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1", True, True)
    schema = version["schema"]["openAPIV3Schema"]
    assert schema["properties"]["spec"]["properties"]["config"] == {"type": "string"}
    api.objects[NETWORK_CRD_PATH] = {**crd, "metadata": {"name": NETWORK_CRD, "owner": "multus"}}
    assert ensure_network_crd(client) is False
    assert api.objects[NETWORK_CRD_PATH]["metadata"]["owner"] == "multus", "left as it was"


def test_network_crd_refusal_names_the_step(api, client):
    api.failures[("POST", "/apis/apiextensions.k8s.io")] = 403
    with pytest.raises(
        KubeApiError, match=f"refused to create CustomResourceDefinition {NETWORK_CRD}: 403"
    ):
        ensure_network_crd(client)


LEGACY_PATH = f"/api/v1/namespaces/{NAMESPACE}/secrets/{IDENTITY}"


def legacy_secret(kind="kubernetes.io/service-account-token", account=IDENTITY) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": IDENTITY,
            "namespace": NAMESPACE,
            "annotations": {"kubernetes.io/service-account.name": account},
        },
        "type": kind,
        "data": {"token": "bmV2ZXItZXhwaXJlcw=="},
    }


def test_the_never_expiring_token_secret_is_deleted(api, client):
    api.objects[LEGACY_PATH] = legacy_secret()
    assert remove_legacy_token_secret(client) is True
    assert LEGACY_PATH not in api.objects
    assert api.paths("DELETE") == [LEGACY_PATH]
    assert remove_legacy_token_secret(client) is False, "nothing left to delete"


@pytest.mark.parametrize(
    "secret",
    [legacy_secret(kind="Opaque"), legacy_secret(account="someone-else")],
)
def test_a_secret_that_is_not_that_token_is_kept(api, client, secret):
    api.objects[LEGACY_PATH] = secret
    assert remove_legacy_token_secret(client) is False
    assert LEGACY_PATH in api.objects
    assert api.paths("DELETE") == []


def test_a_refused_delete_is_reported(api, client):
    api.objects[LEGACY_PATH] = legacy_secret()
    api.failures[("DELETE", LEGACY_PATH)] = 403
    with pytest.raises(
        KubeApiError, match=f"refused to delete Secret {NAMESPACE}/{IDENTITY}: 403"
    ):
        remove_legacy_token_secret(client)


# Every call kube-manager makes, read in tungstenfabric/tf-controller (R2011 branch,
# src/container/kube-manager/kube_manager/): the sources are in kube_api.GRANTS.
WATCHED = [  # kube_manager.py starts one monitor per collection (kube/*_monitor.py)
    ("/api/v1", "namespaces", False),
    ("/api/v1", "pods", True),
    ("/api/v1", "services", True),
    ("/api/v1", "endpoints", True),
    ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    ("/apis/networking.k8s.io/v1", "ingresses", True),
    ("/apis/k8s.cni.cncf.io/v1", "network-attachment-definitions", True),
]
KUBE_MANAGER_CALLS = [
    ("GET", "/openapi/v2", ""),  # KubeMonitor.__init__: each kind's group and version
    # init_monitor: list cluster-wide, then get each entry; register_monitor: watch
    *(
        call
        for base, resource, namespaced in WATCHED
        for call in (
            ("GET", f"{base}/{resource}", ""),
            ("GET", f"{base}/{'namespaces/default/' if namespaced else ''}{resource}/x", ""),
            ("GET", f"{base}/{resource}", "watch=true&allowWatchBookmarks=true"),
        )
    ),
    # network_monitor.py _create_crds: reads the CRD by name (and creates it only when missing)
    ("GET", NETWORK_CRD_PATH, ""),
    # vnc_endpoints.py, vnc_ingress.py: get_resource("service", name, namespace)
    ("GET", "/api/v1/namespaces/default/services/web", ""),
    # patch_resource: vnc_pod.py network-status, vnc_service.py externalIPs, vnc_ingress.py status
    ("PATCH", "/api/v1/namespaces/default/pods/web-0", ""),
    ("PATCH", "/api/v1/namespaces/default/services/web", ""),
    ("PATCH", "/apis/networking.k8s.io/v1/namespaces/default/ingresses/web/status", ""),
]


def call(api: FakeApiServer, token: str, method: str, path: str, query: str = "") -> int:
    """One request as kube-manager sends it (plain HTTP, bearer token); the HTTP status."""
    url = f"{api.url}{path}" + (f"?{query}" if query else "")
    data = (
        json.dumps({"metadata": {"annotations": {"a": "b"}}}).encode()
        if method == "PATCH"
        else None
    )
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - local server
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/strategic-merge-patch+json")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - local server
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def kube_manager_token(api, client) -> str:
    ensure_identity(client)
    ensure_network_crd(client)
    return request_token(client).value


def test_the_role_allows_every_call_kube_manager_makes(api, kube_manager_token):
    refused = {
        (method, path): status
        for method, path, query in KUBE_MANAGER_CALLS
        if (status := call(api, kube_manager_token, method, path, query)) in (401, 403)
    }
    assert refused == {}


def test_the_role_grants_nothing_kube_manager_does_not_use():
    used = [
        attributes(method, path, {"watch": ["true"]} if "watch" in query else {})
        for method, path, query in KUBE_MANAGER_CALLS
    ]
    unused = []
    for rule in RULES:
        stored = rule.to_dict()
        for group in stored["apiGroups"]:
            for resource in stored["resources"]:
                for verb in stored["verbs"]:
                    if not any(
                        request is not None
                        and (request.verb, request.group, request.resource)
                        == (verb, group, resource)
                        and allows(stored, request)
                        for request in used
                    ):
                        unused.append(f"{resource}.{group or 'core'} {verb}")
    assert unused == []


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v1/nodes"),
        ("POST", "/api/v1/namespaces/default/events"),
        ("PATCH", "/api/v1/namespaces/default"),
        ("PUT", "/api/v1/namespaces/default/pods/web-0"),
        ("PATCH", "/api/v1/namespaces/default/services/web/status"),
        ("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"),
        ("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"),
        ("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/other.example.com"),
        ("DELETE", "/api/v1/namespaces/default/pods/web-0"),
        ("GET", "/api/v1/namespaces/contrail/secrets/contrail-kubemanager"),
    ],
)
def test_what_kube_manager_never_calls_is_forbidden(api, kube_manager_token, method, path):
    assert call(api, kube_manager_token, method, path) == 403


def test_an_expired_or_unknown_token_is_unauthorized(api, kube_manager_token):
    assert call(api, "made-up", "GET", "/api/v1/pods") == 401
    namespace, account, _ = api.bound_tokens[kube_manager_token]
    api.bound_tokens[kube_manager_token] = (
        namespace,
        account,
        datetime.datetime.now(datetime.timezone.utc),
    )
    assert call(api, kube_manager_token, "GET", "/api/v1/pods") == 401


def test_every_rule_says_where_kube_manager_uses_it():
    source = re.compile(
        r"[\w.-]+/[\w.-]+@[0-9a-f]{40}:src/container/kube-manager/kube_manager/\S+\.py"
    )
    for grant in GRANTS:
        assert grant.used_by, grant.rule
        for where in grant.used_by:
            assert source.fullmatch(where), where
