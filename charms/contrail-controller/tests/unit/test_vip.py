"""Feature: with a VIP from keepalived, the APIs and the web UI answer on it."""

from __future__ import annotations

import dataclasses

from conftest import TAG, agents, analytics, app_data, kubernetes, peer, ready_state
from controller import ControllerConfig, ControllerInputs, services
from ops import testing

from contrail_common.base_charm import Cluster
from contrail_common.cluster import Member
from contrail_common.testing import read_env_file
from contrail_common.testing_hostile import install_nrpe, nrpe_relation
from contrail_common.vip import Vip

PROJECT = "contrail-controller-0"

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


def keepalived(*bags: dict[str, str]) -> testing.Relation:
    return testing.Relation(
        "vip", remote_app_name="keepalived", remote_units_data=dict(enumerate(bags))
    )


def website(vip: str = "10.0.0.100", hostname: str = "", port: str = "8082") -> dict[str, str]:
    return {"hostname": hostname or vip, "private-address": vip, "port": port}


def test_a_keepalived_vip_is_rendered_shown_and_published(ctx, host):
    named = website(hostname="contrail.example.com")
    relation = keepalived(named, named)
    out = ctx.run(
        ctx.on.relation_changed(relation, remote_unit=0),
        ready_state(relations=[peer(), analytics(), kubernetes(), agents(), relation]),
    )
    assert out.unit_status == testing.ActiveStatus("Unit is ready; VIP 10.0.0.100")
    assert read_env_file(host, PROJECT, "config-api")["CONFIG_API_LISTEN_ALL"] == "true"
    assert read_env_file(host, PROJECT, "webui-web")["CONFIG_API_VIP"] == "10.0.0.100"
    provided, _ = app_data(out, "contrail-controller")  # to kube-manager and to the agents
    assert provided["controller-vip"] == "10.0.0.100"
    assert provided["controller-vip-hostname"] == "contrail.example.com"
    assert provided["controller-ips"] == ["192.0.2.0"], "agents keep the unit list"


def test_keepalived_before_its_virtual_ip_is_set_gives_no_vip(ctx, host):
    """Juju's own private-address (the keepalived unit's address) is not the VIP."""
    relation = keepalived({"private-address": "192.0.2.0"})
    out = ctx.run(
        ctx.on.relation_changed(relation, remote_unit=0),
        ready_state(relations=[peer(), analytics(), kubernetes(), relation]),
    )
    assert out.unit_status == testing.ActiveStatus(
        "Unit is ready; no VIP yet: keepalived publishes none (set its virtual_ip)"
    )
    assert "CONFIG_API_LISTEN_ALL" not in read_env_file(host, PROJECT, "config-api")
    (provided,) = app_data(out, "contrail-controller")
    assert provided["controller-vip"] is None


def test_only_the_leader_checks_the_vip_in_nagios(ctx, host):
    install_nrpe(host)
    relations = [peer(), analytics(), kubernetes(), keepalived(website()), nrpe_relation()]
    out = ctx.run(ctx.on.config_changed(), ready_state(relations=relations))
    vip_check = host.path("/etc/nagios/nrpe.d/check_contrail_controller_http_vip.cfg")
    assert "-H 10.0.0.100 -p 8082" in vip_check.read_text()
    assert host.path("/etc/nagios/nrpe.d/check_contrail_controller_http_api.cfg").exists()
    ctx.run(ctx.on.config_changed(), dataclasses.replace(out, leader=False))
    assert not vip_check.exists()
    assert host.path("/etc/nagios/nrpe.d/check_contrail_controller_http_api.cfg").exists()
