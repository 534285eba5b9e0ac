"""Fixtures: the analytics charm on a scratch host tree with an in-memory engine."""

from __future__ import annotations

import json

from analytics import AnalyticsConfig, AnalyticsInputs, services
from charm import ContrailAnalyticsCharm
from ops import testing

from contrail_common.base_charm import Cluster
from contrail_common.testing import charm_fixtures, encode

TAG = "R24.1-latest"
VERSION = "R24.1-build42"
PROJECT = "contrail-analytics-0"


def image_names() -> set[str]:
    config = AnalyticsConfig.load({"image-tag": TAG})
    cluster = Cluster("10.0.1.10", "10.0.1.10", [], 1)
    with_db = AnalyticsInputs(analyticsdb_ips=["10.0.2.1"])
    return {config.image(s.image) for s in services(config, cluster, with_db)}


engine, host, scratch_host, ctx = charm_fixtures(
    ContrailAnalyticsCharm, image_names, VERSION, ["10.0.1.10"]
)


def peer(members: list[dict] | None = None, **kwargs) -> testing.PeerRelation:
    app_data = {} if members is None else {"members": json.dumps(members)}
    return testing.PeerRelation("analytics-cluster", local_app_data=app_data, **kwargs)


def controller(ips=("10.0.0.1",), data_ips=("10.1.0.1",), **fields) -> testing.Relation:
    data = encode(
        controller_ips=list(ips),
        controller_data_ips=list(data_ips),
        auth_mode="rbac",
        cloud_orchestrator="kubernetes",
    )
    data.update(encode(**fields))
    return testing.Relation(
        "contrail-analytics", remote_app_name="contrail-controller", remote_app_data=data
    )


def analyticsdb(ips=("10.0.2.1",)) -> testing.Relation:
    return testing.Relation(
        "contrail-analyticsdb",
        remote_app_name="contrail-analyticsdb",
        remote_app_data=encode(analyticsdb_ips=list(ips)),
    )


def ready_state(**overrides) -> testing.State:
    fields = {"leader": True, "config": {"image-tag": TAG}, "relations": [peer(), controller()]}
    fields.update(overrides)
    return testing.State(**fields)
