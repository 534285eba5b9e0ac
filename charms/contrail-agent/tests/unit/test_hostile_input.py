"""Hostile values in every option and every databag field the agent reads (hypothesis)."""

from __future__ import annotations

from pathlib import Path

from agent_testing import TAG, controller, principal
from hypothesis import given
from ops import testing
from vrouter import AgentConfig

from contrail_common.testing import encode
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
from contrail_interfaces import contrail_cluster_v0 as cluster_schema
from contrail_interfaces import contrail_controller_v0 as controller_schema

OPTIONS = charm_options(Path(__file__).parents[2])
CONFIG = {"image-tag": TAG, "physical-interface": "ens4", "xflow-node-ip": "10.0.0.9"}
DATABAGS = [
    Databag("contrail-controller", "app", controller_schema.ProviderAppData),
    Databag("agent-cluster", "peer-app", cluster_schema.PeerAppData, blocks=False),
    Databag("agent-cluster", "peer-unit", cluster_schema.PeerUnitData, blocks=False),
    NRPE,
]


def hostile_state(config=CONFIG) -> testing.State:
    """A ready leader of two units, with every relation it reads and nrpe."""
    members = [
        {"unit": "contrail-agent/0", "address": "192.0.2.0"},
        {"unit": "contrail-agent/1", "address": "10.0.0.12"},
    ]
    peer = testing.PeerRelation(
        "agent-cluster",
        local_app_data=encode(members=members),
        peers_data={1: encode(address="10.0.0.12", data_address="192.168.16.12")},
    )
    relations = [
        peer,
        controller(),
        principal(),
        nrpe_relation(nagios_hostname="juju-contrail-agent-0", nagios_host_context="juju"),
    ]
    return testing.State(leader=True, config=dict(config), relations=relations)


@CHARM_SETTINGS
@given(change=option_changes(OPTIONS, CONFIG))
def test_any_option_value(ctx, host, change):
    option, value = change
    install_nrpe(host)
    config = {**CONFIG, option: value}
    with delivered_by_juju(OPTIONS[option]):
        out = ctx.run(ctx.on.config_changed(), hostile_state(config))
    check_option_run(AgentConfig, config, option, out)
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
