"""Hostile values in every option and every databag field the CNI node reads (hypothesis)."""

from __future__ import annotations

from pathlib import Path

import pytest
from charm import ContrailKubernetesNodeCharm
from conftest import TAG, control_plane, install_binary, master, nested_master, write_routes
from hypothesis import given
from hypothesis import strategies as st
from kubernetes_node import KubernetesNodeConfig
from ops import testing

from contrail_common.testing_hostile import (
    CHARM_SETTINGS,
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
from contrail_interfaces import contrail_kubernetes_config_v0 as config_schema
from contrail_interfaces import kubernetes_cni_v0 as cni_schema

OPTIONS = charm_options(Path(__file__).parents[2])
CONFIG = {"image-tag": TAG}
DATABAGS = [
    Databag("contrail-kubernetes-config", "app", config_schema.ProviderAppData),
    Databag("cni", "unit", cni_schema.ProviderUnitData, raw=True),
    NRPE,
]


def hostile_state(config=CONFIG, nested: bool = False) -> testing.State:
    """A ready unit on a control-plane machine, with every relation it reads and nrpe."""
    relations = [
        control_plane(),
        nested_master() if nested else master(),
        nrpe_relation(nagios_hostname="juju-contrail-kubernetes-node-0"),
    ]
    return testing.State(leader=True, config=dict(config), relations=relations)


@pytest.fixture(autouse=True)
def nested_host(monkeypatch, host):
    """A default route for the pods' parent interface, and an underlay agent that answers."""
    write_routes(host)
    monkeypatch.setattr(ContrailKubernetesNodeCharm, "probe", lambda self, address, port: True)


# Standard and nested mode: the nested fields are read only in nested mode.
STATES = [hostile_state(), hostile_state(nested=True)]


@CHARM_SETTINGS
@given(change=option_changes(OPTIONS, CONFIG))
def test_any_option_value(ctx, host, change):
    option, value = change
    install_nrpe(host)
    install_binary(host)
    config = {**CONFIG, option: value}
    with delivered_by_juju(OPTIONS[option]):
        out = ctx.run(ctx.on.config_changed(), hostile_state(config))
    check_option_run(KubernetesNodeConfig, config, option, out)
    check_files(host)


@CHARM_SETTINGS
@given(
    change=st.sampled_from(STATES).flatmap(
        lambda base: databag_changes(base, DATABAGS).map(lambda change: (base, *change))
    )
)
def test_any_databag_value(ctx, host, change):
    base, bag, key, value = change
    install_nrpe(host)
    install_binary(host)
    state = with_field(base, bag, key, value)
    out = ctx.run(ctx.on.config_changed(), state)
    check_databag_run(state, bag, key, out)
    check_files(host)


@pytest.mark.parametrize("service_cidr", ["fe80::%eth0/64", "10.152.183.0/24,fe80::%x y/64"])
def test_a_scoped_service_cidr_blocks(ctx, host, service_cidr):
    relations = [control_plane(service_cidr=service_cidr), master()]
    state = testing.State(leader=True, config=CONFIG, relations=relations)
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status.name == "blocked"
    assert "(service-cidr)" in out.unit_status.message
