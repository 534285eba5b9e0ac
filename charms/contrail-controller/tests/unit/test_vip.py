"""Feature: with a VIP from keepalived, the APIs and the web UI answer on it."""

from __future__ import annotations

from conftest import TAG
from controller import ControllerConfig, ControllerInputs, services

from contrail_common.base_charm import Cluster
from contrail_common.cluster import Member
from contrail_common.vip import Vip

VIP = Vip("10.0.0.100", None, 8082)


def envs(inputs: ControllerInputs) -> dict[str, dict[str, str]]:
    config = ControllerConfig.load({"image-tag": TAG})
    members = [Member(unit="contrail-controller/0", address="10.0.0.10")]
    cluster = Cluster("10.0.0.10", "10.0.0.10", members, 1)
    return {s.name: dict(s.env) for s in services(config, cluster, inputs)}


def test_without_a_vip_the_apis_listen_on_the_units_own_address():
    rendered = envs(ControllerInputs())
    assert "CONFIG_API_LISTEN_ALL" not in rendered["config-api"]
    for name in ("webui-web", "webui-job"):
        assert "WEBUI_LISTEN_ADDRESSES" not in rendered[name]
        assert "CONFIG_API_VIP" not in rendered[name]


def test_with_a_vip_the_config_api_and_web_ui_listen_everywhere_and_the_ui_uses_the_vip():
    with_vip, without = envs(ControllerInputs(vip=VIP)), envs(ControllerInputs())
    assert with_vip["config-api"]["CONFIG_API_LISTEN_ALL"] == "true"
    for name in ("webui-web", "webui-job"):
        assert with_vip[name]["WEBUI_LISTEN_ADDRESSES"] == "'0.0.0.0'"
        assert with_vip[name]["CONFIG_API_VIP"] == "10.0.0.100"
    changed = {name for name in with_vip if with_vip[name] != without[name]}
    assert changed == {"config-api", "webui-web", "webui-job"}, "nothing else is re-created"
    # Internal clients keep the unit lists.
    assert with_vip["config-api"]["CONFIG_NODES"] == "10.0.0.10"
