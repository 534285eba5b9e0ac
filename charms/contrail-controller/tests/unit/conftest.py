"""Fixtures: the charm on a scratch host tree with an in-memory engine, and relation builders."""

from __future__ import annotations

import json

from charm import ContrailControllerCharm
from controller import ControllerConfig, ControllerInputs, services
from ops import testing

from contrail_common.base_charm import Cluster
from contrail_common.testing import (
    app_data,
    charm_fixtures,
    encode,
)

__all__ = ["app_data", "encode"]

TAG = "R24.1-latest"
VERSION = "R24.1-build42"
HOST_ADDRESSES = ["10.0.0.10", "192.168.1.10"]


def image_names() -> set[str]:
    config = ControllerConfig.load({"image-tag": TAG})
    cluster = Cluster("10.0.0.10", "10.0.0.10", [], 1)
    return {config.image(s.image) for s in services(config, cluster, ControllerInputs())}


engine, host, scratch_host, ctx = charm_fixtures(
    ContrailControllerCharm, image_names, VERSION, HOST_ADDRESSES
)


def peer(
    members: list[dict] | None = None,
    cookie: testing.Secret | None = None,
    webui: testing.Secret | None = None,
    **kwargs,
) -> testing.PeerRelation:
    app_data = {}
    if members is not None:
        app_data["members"] = json.dumps(members)
    if cookie is not None:
        app_data["erlang-cookie-secret"] = json.dumps(cookie.id)
    if webui is not None:
        app_data["webui-password-secret"] = json.dumps(webui.id)
    return testing.PeerRelation("controller-cluster", local_app_data=app_data, **kwargs)


def cookie_secret() -> testing.Secret:
    return testing.Secret(
        tracked_content={"cookie": "c00k1e"}, owner="app", label="rabbitmq-erlang-cookie"
    )


def webui_secret() -> testing.Secret:
    return testing.Secret(
        tracked_content={"password": "w3bui-pw"}, owner="app", label="webui-admin-password"
    )


def analytics(ips=("10.0.1.1",), **kwargs) -> testing.Relation:
    return testing.Relation(
        "contrail-analytics",
        remote_app_name="contrail-analytics",
        remote_app_data=encode(analytics_ips=list(ips)),
        **kwargs,
    )


def analyticsdb(ips=("10.0.2.1",)) -> testing.Relation:
    return testing.Relation(
        "contrail-analyticsdb",
        remote_app_name="contrail-analyticsdb",
        remote_app_data=encode(analyticsdb_ips=list(ips)),
    )


def kubernetes(
    cluster="k8s", app="contrail-kubernetes-master", subnets=("10.32.0.0/12",)
) -> testing.Relation:
    return testing.Relation(
        "contrail-controller",
        remote_app_name=app,
        remote_app_data=encode(
            unit_type="kubernetes", cluster_name=cluster, pod_subnets=list(subnets)
        ),
    )


def agents(units: int = 2) -> testing.Relation:
    return testing.Relation(
        "contrail-controller",
        remote_app_name="contrail-agent",
        remote_app_data=encode(unit_type="agent"),
        remote_units_data={i: encode(dpdk=False) for i in range(units)},
    )


def ready_state(**overrides) -> testing.State:
    """A single leader unit with every relation it needs."""
    fields = {
        "leader": True,
        "config": {"image-tag": TAG},
        "relations": [peer(), analytics(), kubernetes()],
    }
    fields.update(overrides)
    return testing.State(**fields)
