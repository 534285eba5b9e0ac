"""Hostile values in every option and every databag field kube-manager's charm reads, in
standard and nested mode (hypothesis)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TAG, controller, encode, nodes, principal, token_secret
from hypothesis import given
from hypothesis import strategies as st
from kubernetes_master import MasterConfig
from ops import testing

from contrail_common.testing_hostile import (
    BREAKERS,
    CHARM_SETTINGS,
    CONTROLS,
    NRPE,
    Databag,
    charm_options,
    check_databag_run,
    check_files,
    check_option_run,
    databag_changes,
    delivered_by_juju,
    install_nrpe,
    nrpe_relation,
    option_changes,
    with_field,
)
from contrail_interfaces import contrail_cluster_v0 as cluster_schema
from contrail_interfaces import contrail_controller_v0 as controller_schema
from contrail_interfaces import kube_api_endpoint_v0 as endpoint_schema

OPTIONS = charm_options(Path(__file__).parents[2])
TOKEN = token_secret()
KEYSTONE = testing.Secret(tracked_content={"password": "underlay-s3cret"})
STANDARD = {"image-tag": TAG}
NESTED = {
    "image-tag": TAG,
    "nested_mode": True,
    "nested_controller_nodes": "192.168.0.10, 192.168.0.11",
    "nested_keystone_url": "https://keystone.cloud:5000/v3",
    "nested_keystone_password": KEYSTONE.id,
    "nested_vip": "10.10.10.5",
    "cluster_project": "default-domain:k8s",
    "cluster_network": "default-domain:k8s:pods",
}
DATABAGS = [
    Databag("contrail-controller", "app", controller_schema.ProviderAppData),
    Databag("kube-api-endpoint", "unit", endpoint_schema.ProviderUnitData, raw=True),
    Databag("kubernetes-master-cluster", "peer-app", cluster_schema.PeerAppData, blocks=False),
    Databag("kubernetes-master-cluster", "peer-unit", cluster_schema.PeerUnitData, blocks=False),
    NRPE,
]


def hostile_state(config=STANDARD, keystone: testing.Secret = KEYSTONE) -> testing.State:
    """A ready leader of two units with a fresh token, every relation it reads and nrpe."""
    members = [
        {"unit": "contrail-kubernetes-master/0", "address": "192.0.2.0"},
        {"unit": "contrail-kubernetes-master/1", "address": "10.0.0.21"},
    ]
    peer = testing.PeerRelation(
        "kubernetes-master-cluster",
        local_app_data=encode(
            members=members,
            kube_manager_token_secret=TOKEN.id,
            kubernetes_service_ip="10.152.183.1",
        ),
        peers_data={1: encode(address="10.0.0.21", data_address="10.0.0.21")},
    )
    legacy = testing.SubordinateRelation(
        "kube-api-endpoint",
        remote_app_name="kubernetes-master",
        remote_unit_data={"hostname": "10.0.0.99", "port": "6443"},
    )
    relations = [
        peer,
        controller(),
        nodes(),
        principal(),
        legacy,
        nrpe_relation(nagios_hostname="juju-contrail-kubernetes-master-0"),
    ]
    return testing.State(
        leader=True, config=dict(config), relations=relations, secrets=[TOKEN, keystone]
    )


@CHARM_SETTINGS
@given(
    change=st.sampled_from([STANDARD, NESTED]).flatmap(
        lambda base: option_changes(OPTIONS, base).map(lambda change: (base, *change))
    )
)
def test_any_option_value(ctx, host, api, change):
    base, option, value = change
    install_nrpe(host)
    config = {**base, option: value}
    with delivered_by_juju(OPTIONS[option]):
        out = ctx.run(ctx.on.config_changed(), hostile_state(config))
    check_option_run(MasterConfig, config, option, out)
    check_files(host)


@CHARM_SETTINGS
@given(change=databag_changes(hostile_state(), DATABAGS))
def test_any_databag_value(ctx, host, api, change):
    bag, key, value = change
    install_nrpe(host)
    state = with_field(hostile_state(), bag, key, value)
    out = ctx.run(ctx.on.config_changed(), state)
    check_databag_run(state, bag, key, out)
    check_files(host)


@pytest.mark.parametrize("character", sorted(set(BREAKERS + CONTROLS) - {"\x00"}))
def test_a_keystone_password_with_a_line_break_blocks(ctx, host, api, character):
    keystone = testing.Secret(tracked_content={"password": f"s3cr3t{character}X=1"})
    config = {**NESTED, "nested_keystone_password": keystone.id}
    out = ctx.run(ctx.on.config_changed(), hostile_state(config, keystone))
    assert out.unit_status.name == "blocked"
    assert "nested_keystone_password: the password in secret" in out.unit_status.message
    assert f"U+{ord(character):04X}" in out.unit_status.message
    assert "s3cr3t" not in out.unit_status.message
    check_files(host)
