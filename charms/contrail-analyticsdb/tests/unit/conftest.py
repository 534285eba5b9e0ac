"""Fixtures: the charm on a scratch host tree with an in-memory engine, and relation builders."""

from __future__ import annotations

import json

from analyticsdb import AnalyticsdbConfig, AnalyticsdbInputs, services
from charm import ContrailAnalyticsdbCharm
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
PEER = "analyticsdb-cluster"
ENDPOINT = "contrail-analyticsdb"


def image_names() -> set[str]:
    config = AnalyticsdbConfig.load({"image-tag": TAG})
    cluster = Cluster("10.0.0.10", "10.0.0.10", [], 1)
    return {config.image(s.image) for s in services(config, cluster, AnalyticsdbInputs())}


engine, host, scratch_host, ctx = charm_fixtures(
    ContrailAnalyticsdbCharm, image_names, VERSION, HOST_ADDRESSES
)


def peer(members: list[dict] | None = None, **kwargs) -> testing.PeerRelation:
    app_data = {} if members is None else {"members": json.dumps(members)}
    return testing.PeerRelation(PEER, local_app_data=app_data, **kwargs)


def member(unit: int, address: str) -> dict:
    return {"unit": f"contrail-analyticsdb/{unit}", "address": address, "data-address": address}


def controller(
    ips=("10.0.0.11",),
    data_ips=("192.168.0.11",),
    auth_mode: str | None = "rbac",
    orchestrator: str | None = "kubernetes",
    app="contrail-controller",
) -> testing.Relation:
    return testing.Relation(
        ENDPOINT,
        remote_app_name=app,
        remote_app_data=encode(
            unit_type="controller",
            controller_ips=list(ips),
            controller_data_ips=list(data_ips),
            auth_mode=auth_mode,
            cloud_orchestrator=orchestrator,
            analytics_ips=[],
        ),
    )


def analytics(ips=("10.0.1.1",), app="contrail-analytics") -> testing.Relation:
    return testing.Relation(
        ENDPOINT,
        remote_app_name=app,
        remote_app_data=encode(
            unit_type="analytics",
            analytics_ips=list(ips),
            controller_ips=[],
            controller_data_ips=[],
            auth_mode=None,
            cloud_orchestrator=None,
        ),
    )


def ready_state(**overrides) -> testing.State:
    """A single leader unit related to both requirers."""
    fields = {
        "leader": True,
        "config": {"image-tag": TAG},
        "relations": [peer(), controller(), analytics()],
    }
    fields.update(overrides)
    return testing.State(**fields)


def provided(state: testing.State) -> dict[str, list]:
    """analyticsdb-ips as published on each relation, by remote application."""
    return {
        relation.remote_app_name: json.loads(relation.local_app_data["analyticsdb-ips"])
        for relation in state.relations
        if isinstance(relation, testing.Relation) and relation.endpoint == ENDPOINT
    }
