"""Hostile options and relation data on the probe charm: what every charm inherits refuses
them with a Blocked status naming the option, and writes no file that reads otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from ops import testing

sys.path.insert(0, str(Path(__file__).parent / "probe" / "src"))

from probe_charm import IMAGES, ProbeCharm, ProbeConfig

from contrail_common.services import Service
from contrail_common.testing import charm_fixtures, encode
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

TAG = "R24.1-latest"
PROJECT = "contrail-probe-0"
OPTIONS = charm_options(Path(__file__).parent / "probe")
CONFIG = {"image-tag": TAG}
DATABAGS = [
    Databag("probe-cluster", "peer-app", cluster_schema.PeerAppData, blocks=False),
    Databag("probe-cluster", "peer-unit", cluster_schema.PeerUnitData, blocks=False),
    NRPE,
]

engine, host, scratch_host, ctx = charm_fixtures(
    ProbeCharm, lambda: IMAGES, "R24.1-build42", ["10.0.0.10"]
)


def hostile_state(config=CONFIG, secrets=()) -> testing.State:
    members = [
        {"unit": "contrail-probe/0", "address": "192.0.2.0"},
        {"unit": "contrail-probe/1", "address": "10.0.0.11"},
    ]
    peer = testing.PeerRelation(
        "probe-cluster",
        local_app_data=encode(members=members),
        peers_data={1: encode(address="10.0.0.11")},
    )
    nrpe = nrpe_relation(nagios_hostname="juju-contrail-probe-0", nagios_host_context="juju")
    return testing.State(
        leader=True, config=dict(config), relations=[peer, nrpe], secrets=list(secrets)
    )


@CHARM_SETTINGS
@given(change=option_changes(OPTIONS, CONFIG))
def test_any_option_value(ctx, host, change):
    option, value = change
    install_nrpe(host)
    config = {**CONFIG, option: value}
    with delivered_by_juju(OPTIONS[option]):
        out = ctx.run(ctx.on.config_changed(), hostile_state(config))
    check_option_run(ProbeConfig, config, option, out)
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


@pytest.mark.parametrize(
    "option, value",
    [
        ("image-tag", " "),
        ("image-tag", "${HOME}"),
        ("image-tag", "a,b c"),
        ("image-tag", "-latest"),
        ("image-tag", "R24.1-latest\n"),
        ("image-tag", "x" * 129),
        ("docker-registry", " "),
        ("docker-registry", "/"),
        ("docker-registry", "${HOME}"),
        ("docker-registry", "a,b c"),
        ("docker-registry", "OpenSDN"),
        ("docker-registry", "registry.example:99999"),
        ("docker-registry", "registry.example//contrail"),
        ("docker-registry", "registry.example/Contrail"),
        ("docker-registry", "https://registry.example"),
        ("docker-registry", "-registry.example"),
    ],
)
def test_a_bad_image_reference_blocks_naming_the_option(ctx, engine, option, value):
    out = ctx.run(ctx.on.config_changed(), hostile_state({**CONFIG, option: value}))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(f"invalid config: {option}: must be")
    assert engine.containers == {}, "nothing is pulled or created"


@pytest.mark.parametrize(
    "registry, reference",
    [
        ("", "opensdn/contrail-probe-api:R24.1-latest"),
        ("registry.example:5000/contrail/", "registry.example:5000/contrail/contrail-probe-api"),
        ("localhost/contrail", "localhost/contrail/contrail-probe-api"),
        ("Registry.Example", "Registry.Example/contrail-probe-api"),
        ("my-org", "my-org/contrail-probe-api"),
    ],
)
def test_good_image_references_pass(registry, reference):
    config = ProbeConfig.load({"image-tag": TAG, "docker-registry": registry})
    assert config.image("probe-api").startswith(reference)


@pytest.mark.parametrize("character", [*BREAKERS, *CONTROLS])
@pytest.mark.parametrize("key", ["username", "password"])
def test_registry_credentials_with_a_line_break_block(ctx, character, key):
    content = {"username": "puller", "password": "s3cr3t"}
    content[key] += character
    secret = testing.Secret(tracked_content=content)
    config = {**CONFIG, "registry-credentials": secret.id}
    out = ctx.run(ctx.on.config_changed(), hostile_state(config, [secret]))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(f"registry-credentials: the {key} in secret")
    assert "s3cr3t" not in out.unit_status.message and "puller" not in out.unit_status.message


def test_a_value_no_check_caught_blocks_at_the_env_writer(ctx, engine, host, monkeypatch):
    """The last line of defence: the env writer refuses, and the unit blocks, no hook error."""

    def services(self, config, cluster, inputs):
        return [Service("probe-api", "probe-api", "probe", {"FROM_SOMEWHERE": "x\x85Y=1"})]

    monkeypatch.setattr(ProbeCharm, "services", services)
    out = ctx.run(ctx.on.config_changed(), hostile_state())
    assert out.unit_status == testing.BlockedStatus(
        "probe-api.env: the value of FROM_SOMEWHERE holds U+0085, a line break or control "
        "character; fix the option, secret or relation data it comes from"
    )
    assert engine.containers == {}
    assert not host.path(f"/etc/contrail/{PROJECT}/probe-api.env").exists()


def test_remote_nrpe_names_reach_no_file_unchecked(ctx, host):
    install_nrpe(host)
    nrpe = nrpe_relation(nagios_hostname="site-probe-0\n", nagios_host_context="site\n    x y")
    peer = testing.PeerRelation("probe-cluster")
    ctx.run(
        ctx.on.config_changed(), testing.State(leader=True, config=CONFIG, relations=[peer, nrpe])
    )
    check_files(host)
    exported = sorted(p.name for p in host.path("/var/lib/nagios/export").iterdir())
    assert exported and all(
        name.startswith("service__juju-contrail-probe-0_") for name in exported
    )
