"""The kube-manager charm through ops.testing, with the real lightkube client and a fake API."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from conftest import (
    PROJECT,
    TAG,
    controller,
    decoded,
    nodes,
    peer,
    principal,
    ready_state,
    token_secret,
)
from ops import testing

from contrail_common.testing import MALFORMED_SECRET_URI, app_data, juju_delivers, read_env_file

NESTED = {
    "image-tag": TAG,
    "nested_mode": True,
    "nested_controller_nodes": "192.168.0.10, 192.168.0.11",
    "nested_keystone_url": "https://keystone.cloud:5000/v3",
    "nested_vip": "10.10.10.5",
    "cluster_project": "default-domain:k8s",
    "cluster_network": "default-domain:k8s:pods",
}


def kube_manager_env(host) -> dict[str, str]:
    return read_env_file(host, PROJECT, "kube-manager")


def test_standard_leader_creates_identity_token_and_runs_kube_manager(ctx, engine, host, api):
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == {"node-init", "kube-manager"}
    env = kube_manager_env(host)
    assert env["K8S_TOKEN"] == "bound-token-1"
    assert env["KUBERNETES_API_SERVER"] == "127.0.0.1"
    assert env["KUBERNETES_API_SECURE_PORT"] == str(api.httpd.server_address[1])
    assert env["CONTROLLER_NODES"] == "10.0.0.1"
    assert env["ANALYTICS_NODES"] == "10.0.1.1"
    assert env["KUBERNETES_CLUSTER_NAME"] == "k8s"
    assert env["KUBERNETES_POD_SUBNETS"] == "10.32.0.0/12"
    (secret,) = out.secrets
    assert secret.tracked_content["token"] == "bound-token-1"
    assert secret.label == "kube-manager-token"
    (peer_data,) = app_data(out, "kubernetes-master-cluster")
    assert peer_data["kube-manager-token-secret"] == secret.id
    assert peer_data["kubernetes-service-ip"] == "10.152.183.1"


def test_leader_publishes_cluster_facts_and_never_the_token(ctx, api):
    out = ctx.run(ctx.on.config_changed(), ready_state())
    (to_controller,) = app_data(out, "contrail-controller")
    assert to_controller["unit-type"] == "kubernetes"
    assert to_controller["cluster-name"] == "k8s"
    assert to_controller["pod-subnets"] == ["10.32.0.0/12"]
    assert to_controller["kubernetes-api-server"] == "127.0.0.1"
    (to_nodes,) = app_data(out, "contrail-kubernetes-config")
    assert to_nodes == {
        "cluster-name": "k8s",
        "pod-subnets": ["10.32.0.0/12"],
        "nested-mode": False,
        "nested-vip": None,
        "nested-port": None,
    }
    for relation in out.relations:
        assert all("bound-token" not in v for v in relation.local_app_data.values())


def test_without_a_kubeconfig_it_waits_for_the_api(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status.name == "waiting"
    assert (
        "waiting for the Kubernetes API: no usable /root/.kube/config" in out.unit_status.message
    )
    assert engine.containers == {}


@pytest.mark.parametrize(
    "failure, reason",
    [
        (("PATCH", "/apis/rbac.authorization.k8s.io/v1/clusterroles"), "403 Forbidden"),
        (("POST", "/api/v1/namespaces/contrail/serviceaccounts"), "409 AlreadyExists"),
        (("GET", "/api/v1/namespaces/default/services"), "404 NotFound"),
    ],
)
def test_api_refusals_wait_with_the_reason_and_retry(ctx, engine, api, failure, reason):
    api.failures[failure] = {"403 Forbidden": 403, "409 AlreadyExists": 409, "404 NotFound": 404}[
        reason
    ]
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status.name == "waiting"
    assert "waiting for the kube-manager token: Kubernetes API refused" in out.unit_status.message
    assert reason in out.unit_status.message
    assert engine.containers == {}
    api.failures.clear()
    assert ctx.run(ctx.on.config_changed(), out).unit_status.name == "active"


def test_wrong_admin_credentials_wait(ctx, api, host):
    api.write_kubeconfig(host.path("/root/.kube/config"), token="stale")
    out = ctx.run(ctx.on.install(), ready_state())
    assert "401 Unauthorized" in out.unit_status.message


def test_unreachable_api_waits_then_update_status_retries(ctx, engine, api):
    api.stop()
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status.name == "waiting"
    assert "Kubernetes API unreachable" in out.unit_status.message
    assert engine.containers == {}


def test_update_status_obtains_the_token_without_deploying(ctx, engine, api):
    api.failures[("PATCH", "/api")] = 403
    out = ctx.run(ctx.on.install(), ready_state())
    api.failures.clear()
    writes = engine.io.writes
    out = ctx.run(ctx.on.update_status(), out)
    assert engine.io.writes == writes, "update-status starts no containers"
    assert out.secrets and next(iter(out.secrets)).tracked_content["token"] == "bound-token-1"
    assert ctx.run(ctx.on.config_changed(), out).unit_status.name == "active"


@pytest.mark.parametrize(
    "days_left, lifetime_days",
    [(1, 7), (4 / 24, 1)],
    ids=["a-week-token-a-day-before-expiry", "a-capped-day-token-after-most-of-its-day"],
)
def test_a_due_token_is_rotated(ctx, host, api, days_left, lifetime_days):
    secret = token_secret(days_left=days_left, token="old-token", lifetime_days=lifetime_days)
    out = ctx.run(
        ctx.on.secret_rotate(secret),
        ready_state(
            relations=[peer(secret), controller(), nodes(), principal()], secrets=[secret]
        ),
    )
    assert out.get_secret(id=secret.id).latest_content["token"] == "bound-token-1"
    assert kube_manager_env(host)["K8S_TOKEN"] == "bound-token-1"


def test_a_fresh_token_is_not_requested_again(ctx, host, api):
    secret = token_secret(days_left=6, token="still-good")
    out = ctx.run(
        ctx.on.secret_rotate(secret),
        ready_state(
            relations=[peer(secret), controller(), nodes(), principal()], secrets=[secret]
        ),
    )
    assert out.unit_status.name == "active"
    assert api.requests == [], "no API call while the token is fresh"
    assert kube_manager_env(host)["K8S_TOKEN"] == "still-good"


def test_non_leader_uses_the_leaders_token(ctx, host, api):
    secret = token_secret(token="leaders-token")
    members = [
        {"unit": "contrail-kubernetes-master/0", "address": "192.0.2.0", "data-address": None}
    ]
    relation = peer(secret, members=members)
    out = ctx.run(
        ctx.on.config_changed(),
        ready_state(
            leader=False,
            relations=[relation, controller(), nodes(), principal()],
            secrets=[secret],
        ),
    )
    assert out.unit_status.name == "active"
    assert kube_manager_env(host)["K8S_TOKEN"] == "leaders-token"
    assert api.requests == [], "only the leader talks to the Kubernetes API"


def test_non_leader_without_token_waits_for_the_leader(ctx):
    members = [
        {"unit": "contrail-kubernetes-master/0", "address": "192.0.2.0", "data-address": None}
    ]
    out = ctx.run(
        ctx.on.config_changed(),
        ready_state(
            leader=False, relations=[peer(members=members), controller(), nodes(), principal()]
        ),
    )
    assert "waiting for the leader to create the kube-manager token" in out.unit_status.message


def test_service_subnets_must_hold_the_kubernetes_service_ip(ctx, engine, api):
    out = ctx.run(
        ctx.on.install(), ready_state(config={"image-tag": TAG, "service_subnets": "10.96.0.0/12"})
    )
    assert out.unit_status.name == "blocked"
    assert (
        "service_subnets does not hold the cluster's kubernetes service IP 10.152.183.1"
        in out.unit_status.message
    )
    assert engine.containers == {}


def test_api_override_is_what_kube_manager_uses(ctx, host, api):
    config = {
        "image-tag": TAG,
        "kubernetes_api_hostname": "k8s-vip.example",
        "kubernetes_api_secure_port": 6443,
    }
    ctx.run(ctx.on.config_changed(), ready_state(config=config))
    env = kube_manager_env(host)
    assert (env["KUBERNETES_API_SERVER"], env["KUBERNETES_API_SECURE_PORT"]) == (
        "k8s-vip.example",
        "6443",
    )


def test_api_override_needs_both_options(ctx):
    out = ctx.run(
        ctx.on.config_changed(),
        ready_state(config={"image-tag": TAG, "kubernetes_api_hostname": "vip"}),
    )
    assert out.unit_status == testing.BlockedStatus(
        "invalid config: kubernetes_api_hostname and kubernetes_api_secure_port go together: set both or neither"
    )


def test_legacy_kube_api_endpoint_relation(ctx, host, api):
    legacy = testing.SubordinateRelation(
        "kube-api-endpoint",
        remote_app_name="kubernetes-master",
        remote_unit_data={"hostname": "10.0.0.99", "port": "6443"},
    )
    ctx.run(
        ctx.on.config_changed(),
        ready_state(relations=[peer(), controller(), nodes(), principal(), legacy]),
    )
    env = kube_manager_env(host)
    assert (env["KUBERNETES_API_SERVER"], env["KUBERNETES_API_SECURE_PORT"]) == (
        "10.0.0.99",
        "6443",
    )


def test_standard_mode_needs_the_controller(ctx, engine, api):
    out = ctx.run(ctx.on.install(), ready_state(relations=[peer(), nodes(), principal()]))
    assert "missing relation: contrail-controller" in out.unit_status.message
    assert engine.containers == {}


def test_controller_without_addresses_waits_and_malformed_blocks(ctx, api):
    empty = testing.Relation("contrail-controller", remote_app_name="contrail-controller")
    out = ctx.run(
        ctx.on.relation_joined(empty), ready_state(relations=[peer(), empty, principal()])
    )
    assert "waiting for contrail-controller to publish its addresses" in out.unit_status.message
    bad = testing.Relation(
        "contrail-controller",
        remote_app_name="contrail-controller",
        remote_app_data={"controller-ips": "[1"},
    )
    out = ctx.run(ctx.on.relation_changed(bad), ready_state(relations=[peer(), bad, principal()]))
    assert (
        "contrail-controller data from contrail-controller is malformed" in out.unit_status.message
    )


def nested_state(secret: testing.Secret, **config) -> testing.State:
    return ready_state(
        config={**NESTED, "nested_keystone_password": secret.id, **config},
        relations=[peer(), nodes(), principal()],
        secrets=[secret],
    )


def test_nested_mode_runs_without_the_controller(ctx, engine, host, api):
    secret = testing.Secret(tracked_content={"password": "underlay-s3cret"})
    out = ctx.run(ctx.on.install(), nested_state(secret))
    assert out.unit_status.name == "active"
    env = kube_manager_env(host)
    assert env["KUBEMANAGER_NESTED_MODE"] == "1"
    assert env["CONTROLLER_NODES"] == "192.168.0.10,192.168.0.11"
    assert env["KEYSTONE_AUTH_ADMIN_PASSWORD"] == "underlay-s3cret"
    assert "KUBERNESTES_NESTED_VROUTER_VIP" not in env  # read by cni-init, not kube-manager
    assert env["KUBERNETES_CLUSTER_PROJECT"] == "{'domain': 'default-domain', 'project': 'k8s'}"
    (to_nodes,) = app_data(out, "contrail-kubernetes-config")
    assert to_nodes["nested-mode"] is True
    assert (to_nodes["nested-vip"], to_nodes["nested-port"]) == ("10.10.10.5", 9091)
    for relation in out.relations:
        for bag in (relation.local_app_data, relation.local_unit_data):
            assert all("underlay-s3cret" not in value for value in bag.values())


def test_nested_mode_names_every_missing_option(ctx):
    out = ctx.run(
        ctx.on.config_changed(), ready_state(config={"image-tag": TAG, "nested_mode": True})
    )
    assert out.unit_status.name == "blocked"
    for option in (
        "nested_controller_nodes",
        "nested_keystone_url",
        "nested_keystone_password",
        "nested_vip",
        "cluster_project",
        "cluster_network",
    ):
        assert option in out.unit_status.message


def test_nested_keystone_secret_not_granted_blocks(ctx, api):
    config = {**NESTED, "nested_keystone_password": "secret:cs1v0pr3gb3jkh5c0avg"}
    out = ctx.run(
        ctx.on.config_changed(),
        ready_state(config=config, relations=[peer(), nodes(), principal()]),
    )
    assert (
        "nested_keystone_password: secret secret:cs1v0pr3gb3jkh5c0avg not found or not granted"
        in out.unit_status.message
    )


def test_nested_mode_cannot_change_after_deploy(ctx, engine, api):
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status.name == "active"
    writes = engine.io.writes
    secret = testing.Secret(tracked_content={"password": "p"})
    changed = dataclasses.replace(
        out,
        config={**NESTED, "nested_keystone_password": secret.id},
        secrets=[*out.secrets, secret],
    )
    blocked = ctx.run(ctx.on.config_changed(), changed)
    assert (
        "nested_mode cannot change after deploy: set it back to false"
        in blocked.unit_status.message
    )
    assert engine.io.writes == writes


@pytest.mark.parametrize(
    "option, value",
    [
        ("cluster_name", "Bad Name"),
        ("pod_subnets", "10.32.0.0/33"),
        ("pod_subnets", ""),
        ("service_subnets", "nonsense"),
        ("ip_fabric_subnets", "10.32.0.0/16"),
        ("public_fip_pool", "{'domain': 'x'}"),
        ("cluster_project", "only-one-part"),
        ("cluster_network", "a:b"),
        ("kubernetes_api_secure_port", 70000),
        ("nested_vip", "not-an-ip"),
        ("nested_port", 0),
        ("nested_keystone_password", MALFORMED_SECRET_URI),
        ("log-level", "LOUD"),
        ("image-tag", "a\nb"),
    ],
)
def test_invalid_option_blocks_naming_it(ctx, engine, option, value, monkeypatch):
    juju_delivers(monkeypatch, value)
    out = ctx.run(ctx.on.config_changed(), ready_state(config={"image-tag": TAG, option: value}))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("invalid config: ")
    assert (
        option in out.unit_status.message
        or "overlaps" in out.unit_status.message
        or "at least one" in out.unit_status.message
    )
    assert engine.containers == {}


def test_overlapping_subnets_are_named(ctx):
    out = ctx.run(
        ctx.on.config_changed(),
        ready_state(config={"image-tag": TAG, "service_subnets": "10.32.1.0/24"}),
    )
    assert (
        "pod_subnets 10.32.0.0/12 overlaps service_subnets 10.32.1.0/24" in out.unit_status.message
    )


def test_typed_names_become_kube_manager_dicts(ctx, host, api):
    config = {
        "image-tag": TAG,
        "public_fip_pool": "default-domain:admin:public:fip",
        "cluster_network": "default-domain:k8s:pods",
    }
    ctx.run(ctx.on.config_changed(), ready_state(config=config))
    env = kube_manager_env(host)
    assert (
        env["KUBERNETES_PUBLIC_FIP_POOL"]
        == "{'domain': 'default-domain', 'project': 'admin', 'network': 'public', 'name': 'fip'}"
    )
    assert (
        env["KUBERNETES_CLUSTER_NETWORK"]
        == "{'domain': 'default-domain', 'project': 'k8s', 'name': 'pods'}"
    )
    assert env["KUBERNETES_CLUSTER_PROJECT"] == "{}"


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["controller", "nodes", "principal"]))
)
def test_relation_orders_converge(ctx, engine, api, order):
    builders = {"controller": controller, "nodes": nodes, "principal": principal}
    state = ctx.run(
        ctx.on.install(), testing.State(leader=True, config={"image-tag": TAG}, relations=[peer()])
    )
    for name in order:
        relation = builders[name]()
        state = dataclasses.replace(state, relations=[*state.relations, relation])
        state = ctx.run(ctx.on.relation_created(relation), state)
    assert state.unit_status.name == "active"
    assert set(engine.status(PROJECT)) == {"node-init", "kube-manager"}
    assert len(api.issued_tokens) == 1, "one token, however the relations arrive"


def test_cluster_name_change_updates_controller_and_nodes(ctx, api):
    out = ctx.run(ctx.on.install(), ready_state())
    out = ctx.run(
        ctx.on.config_changed(),
        dataclasses.replace(out, config={"image-tag": TAG, "cluster_name": "blue"}),
    )
    assert (
        decoded(out.get_relations("contrail-controller")[0].local_app_data)["cluster-name"]
        == "blue"
    )
    assert (
        decoded(out.get_relations("contrail-kubernetes-config")[0].local_app_data)["cluster-name"]
        == "blue"
    )


def test_a_capped_token_lifetime_does_not_renew_on_every_update_status(ctx, engine, host, api):
    """--service-account-max-token-expiration=24h: the week asked for comes back as a day."""
    api.max_token_seconds = 24 * 3600
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status.name == "active"
    writes = engine.io.writes
    for _ in range(3):
        out = ctx.run(ctx.on.update_status(), out)
        out = ctx.run(ctx.on.secret_rotate(next(iter(out.secrets))), out)
    assert api.issued_tokens == ["bound-token-1"], "one token for the day it was granted"
    assert engine.io.writes == writes, "kube-manager is not re-created"
    assert kube_manager_env(host)["K8S_TOKEN"] == "bound-token-1"


def test_a_token_kept_without_its_issue_time_is_renewed_once(ctx, api):
    secret = token_secret(days_left=6, token="kept-by-an-earlier-version", lifetime_days=None)
    state = ready_state(
        relations=[peer(secret), controller(), nodes(), principal()], secrets=[secret]
    )
    out = ctx.run(ctx.on.secret_rotate(secret), state)
    content = out.get_secret(id=secret.id).latest_content
    assert content["token"] == "bound-token-1"
    assert "issued" in content
    out = ctx.run(ctx.on.update_status(), out)
    assert api.issued_tokens == ["bound-token-1"]


def test_the_leader_creates_the_network_crd_kube_manager_watches(ctx, api):
    ctx.run(ctx.on.install(), ready_state())
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/network-attachment-definitions.k8s.cni.cncf.io"
    assert api.objects[path]["spec"]["names"]["kind"] == "NetworkAttachmentDefinition"
    assert ("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions") in [
        (r.method, r.path) for r in api.requests
    ]


LEGACY = "/api/v1/namespaces/contrail/secrets/contrail-kubemanager"
LEGACY_SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {
        "name": "contrail-kubemanager",
        "namespace": "contrail",
        "annotations": {"kubernetes.io/service-account.name": "contrail-kubemanager"},
    },
    "type": "kubernetes.io/service-account-token",
}


def test_the_never_expiring_token_secret_goes_once_the_bound_token_is_kept(ctx, api):
    api.objects[LEGACY] = LEGACY_SECRET
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status.name == "active"
    assert LEGACY not in api.objects
    (secret,) = out.secrets
    assert secret.tracked_content["token"] == "bound-token-1"
    token_request = next(i for i, r in enumerate(api.requests) if r.path.endswith("/token"))
    delete = next(i for i, r in enumerate(api.requests) if r.method == "DELETE")
    assert token_request < delete, "deleted only after the bound token was obtained"
    assert any(
        "deleted Secret contrail/contrail-kubemanager, the never-expiring" in line.message
        for line in ctx.juju_log
    )


def test_a_refused_delete_of_the_old_token_is_retried(ctx, engine, api):
    api.objects[LEGACY] = LEGACY_SECRET
    api.failures[("DELETE", LEGACY)] = 403
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status.name == "active", "kube-manager runs on its bound token meanwhile"
    assert LEGACY in api.objects
    api.failures.clear()
    out = ctx.run(ctx.on.update_status(), out)
    assert LEGACY not in api.objects
    assert api.issued_tokens == ["bound-token-1"], "the retry asks for no new token"
    api.requests.clear()
    ctx.run(ctx.on.update_status(), out)
    assert api.requests == [], "nothing left to retry"
