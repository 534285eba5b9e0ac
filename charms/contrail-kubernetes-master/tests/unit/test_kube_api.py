"""kube_api against the in-process API server, through the real lightkube client."""

from __future__ import annotations

import datetime

import pytest
from fake_apiserver import FakeApiServer
from kube_api import (
    IDENTITY,
    NAMESPACE,
    TOKEN_LIFETIME,
    KubeApiError,
    Token,
    api_server,
    client_from_kubeconfig,
    ensure_identity,
    kubernetes_service_ip,
    request_token,
)


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
    lifetime = token.expires - datetime.datetime.now(datetime.timezone.utc)
    assert TOKEN_LIFETIME - datetime.timedelta(minutes=1) < lifetime <= TOKEN_LIFETIME
    (post,) = [r for r in api.requests if r.method == "POST"]
    assert post.path == f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{IDENTITY}/token"
    assert post.body["spec"]["expirationSeconds"] == int(TOKEN_LIFETIME.total_seconds())


def test_rotation_is_due_only_near_expiry():
    now = datetime.datetime(2026, 11, 22, tzinfo=datetime.timezone.utc)
    assert not Token("t", now + datetime.timedelta(days=6)).due(now)
    assert Token("t", now + datetime.timedelta(days=1)).due(now)


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
