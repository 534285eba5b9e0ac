"""Fixtures: the kube-manager charm on a scratch host, an in-memory engine and a fake API."""

from __future__ import annotations

import datetime
import json

import pytest
from charm import ContrailKubernetesMasterCharm
from fake_apiserver import FakeApiServer
from kubernetes_master import MasterConfig, MasterInputs, services
from ops import testing

from contrail_common.base_charm import Cluster
from contrail_common.testing import charm_fixtures, encode

TAG = "R24.1-latest"
VERSION = "R24.1-build42"
PROJECT = "contrail-kubernetes-master-0"


def image_names() -> set[str]:
    config = MasterConfig.load({"image-tag": TAG})
    cluster = Cluster("10.0.0.20", "10.0.0.20", [], 1)
    return {config.image(s.image) for s in services(config, cluster, MasterInputs())}


engine, host, scratch_host, ctx = charm_fixtures(
    ContrailKubernetesMasterCharm, image_names, VERSION, ["10.0.0.20"]
)


@pytest.fixture
def api(host):
    server = FakeApiServer()
    server.write_kubeconfig(host.path("/root/.kube/config"))
    yield server
    server.stop()


def peer(token_secret: testing.Secret | None = None, **app_fields) -> testing.PeerRelation:
    data = dict(app_fields)
    if token_secret is not None:
        data["kube_manager_token_secret"] = token_secret.id
    return testing.PeerRelation("kubernetes-master-cluster", local_app_data=encode(**data))


def token_secret(
    days_left: float = 6,
    token: str = "stored-token",  # noqa: S107
    lifetime_days: float | None = 7,
) -> testing.Secret:
    """The leader's kept token; lifetime_days=None: kept without its issue time."""
    now = datetime.datetime.now(datetime.timezone.utc)
    expires = now + datetime.timedelta(days=days_left)
    content = {"token": token, "expires": expires.isoformat()}
    if lifetime_days is not None:
        content["issued"] = (expires - datetime.timedelta(days=lifetime_days)).isoformat()
    return testing.Secret(tracked_content=content, owner="app", label="kube-manager-token")


def controller(ips=("10.0.0.1",)) -> testing.Relation:
    data = encode(
        controller_ips=list(ips),
        controller_data_ips=list(ips),
        analytics_ips=["10.0.1.1"],
        auth_mode="rbac",
    )
    return testing.Relation(
        "contrail-controller", remote_app_name="contrail-controller", remote_app_data=data
    )


def nodes() -> testing.Relation:
    return testing.Relation(
        "contrail-kubernetes-config", remote_app_name="contrail-kubernetes-node"
    )


def principal() -> testing.SubordinateRelation:
    return testing.SubordinateRelation("juju-info", remote_app_name="kubernetes-control-plane")


def ready_state(**overrides) -> testing.State:
    fields = {
        "leader": True,
        "config": {"image-tag": TAG},
        "relations": [peer(), controller(), nodes(), principal()],
    }
    fields.update(overrides)
    return testing.State(**fields)


def decoded(bag) -> dict:
    return {key: json.loads(value) for key, value in bag.items()}
