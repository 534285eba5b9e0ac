"""Hostile values in every option and every databag field the controller reads (hypothesis)."""

from __future__ import annotations

from pathlib import Path

from conftest import TAG, analytics, analyticsdb, cookie_secret, encode, kubernetes, webui_secret
from controller import ControllerConfig
from hypothesis import given
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
from contrail_interfaces import contrail_analytics_v0 as analytics_schema
from contrail_interfaces import contrail_analyticsdb_v0 as analyticsdb_schema
from contrail_interfaces import contrail_cluster_v0 as cluster_schema
from contrail_interfaces import contrail_controller_v0 as controller_schema

OPTIONS = charm_options(Path(__file__).parents[2])
CONFIG = {"image-tag": TAG}
DATABAGS = [
    Databag("contrail-analytics", "app", analytics_schema.ProviderAppData),
    Databag("contrail-analyticsdb", "app", analyticsdb_schema.ProviderAppData),
    Databag("contrail-controller", "app", controller_schema.RequirerAppData),
    Databag("controller-cluster", "peer-app", cluster_schema.PeerAppData, blocks=False),
    Databag("controller-cluster", "peer-unit", cluster_schema.PeerUnitData, blocks=False),
    NRPE,
]


def hostile_state(config=CONFIG) -> testing.State:
    """A ready leader of two units, with every relation it reads and nrpe."""
    cookie, webui = cookie_secret(), webui_secret()
    member = {"unit": "contrail-controller/0", "address": "192.0.2.0"}
    peer = testing.PeerRelation(
        "controller-cluster",
        local_app_data=encode(
            members=[member, {"unit": "contrail-controller/1", "address": "10.0.0.11"}],
            erlang_cookie_secret=cookie.id,
            webui_password_secret=webui.id,
        ),
        peers_data={1: encode(address="10.0.0.11", data_address="10.0.0.11")},
    )
    relations = [
        peer,
        analytics(),
        analyticsdb(),
        kubernetes(),
        nrpe_relation(nagios_hostname="juju-contrail-controller-0", nagios_host_context="juju"),
    ]
    return testing.State(
        leader=True, config=dict(config), relations=relations, secrets=[cookie, webui]
    )


@CHARM_SETTINGS
@given(change=option_changes(OPTIONS, CONFIG))
def test_any_option_value(ctx, host, change):
    option, value = change
    install_nrpe(host)
    config = {**CONFIG, option: value}
    with delivered_by_juju(OPTIONS[option]):
        out = ctx.run(ctx.on.config_changed(), hostile_state(config))
    check_option_run(ControllerConfig, config, option, out)
    check_files(host)


@CHARM_SETTINGS
@given(change=databag_changes(hostile_state(), DATABAGS))
def test_any_databag_value(ctx, host, change):
    bag, key, value = change
    install_nrpe(host)
    state = with_field(hostile_state(), bag, key, value)
    out = ctx.run(ctx.on.config_changed(), state)
    check_databag_run(state, bag, key, out)
    check_files(host)
