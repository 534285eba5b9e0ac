"""What every Contrail workload charm inherits from ContrailCharm, tested once on a probe charm.

The charm suites test what each charm adds (its relations, containers and env); the behaviour
here - images and registry secrets, addresses, cluster membership, status from the engine,
update-status, removal, the logs action - is shared code.
"""

from __future__ import annotations

import dataclasses
import json
import stat
import sys
from pathlib import Path

import pytest
import yaml
from ops import testing

sys.path.insert(0, str(Path(__file__).parent / "probe" / "src"))

from probe_charm import COMPONENTS, IMAGES, ProbeCharm

from contrail_common.containers import RegistryCredentials
from contrail_common.containers.memory_engine import MemoryRegistry
from contrail_common.monitoring import nrpe
from contrail_common.testing import (
    RecordingRunner,
    app_data,
    charm_fixtures,
    encode,
    read_env_file,
    unit_data,
)

TAG = "R24.1-latest"
VERSION = "R24.1-build42"
PROJECT = "contrail-probe-0"

engine, host, scratch_host, ctx = charm_fixtures(
    ProbeCharm, lambda: IMAGES, VERSION, ["10.0.0.10", "192.168.1.10"]
)


def peer(members=None, **kwargs) -> testing.PeerRelation:
    data = {} if members is None else {"members": json.dumps(members)}
    return testing.PeerRelation("probe-cluster", local_app_data=data, **kwargs)


def state(**overrides) -> testing.State:
    fields = {"leader": True, "config": {"image-tag": TAG}, "relations": [peer()]}
    fields.update(overrides)
    return testing.State(**fields)


def test_install_deploys_with_0600_env_files_ports_and_version(ctx, engine, host):
    out = ctx.run(ctx.on.install(), state())
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == {"node-init", "probe-api"}
    assert out.workload_version == VERSION
    assert {p.port for p in out.opened_ports} == {8099}
    for path in host.path(f"/etc/contrail/{PROJECT}").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    api = engine.containers[f"{PROJECT}-probe-api"]
    assert api.labels["net.juniper.node"] == "probe"
    assert api.labels["io.juju.unit"] == "contrail-probe/0"


def test_unset_image_tag_blocks_and_deploys_nothing(ctx, engine):
    out = ctx.run(ctx.on.install(), state(config={}))
    assert out.unit_status == testing.BlockedStatus(
        "image-tag: set the Contrail release to run (juju config contrail-probe image-tag=<tag>)"
    )
    assert engine.containers == {}


def test_unpinned_tag_is_shown(ctx, engine):
    for name in COMPONENTS:
        engine.add_image(f"opensdn/opensdn-{name}:latest", {"version": "master"})
    out = ctx.run(ctx.on.config_changed(), state(config={"image-tag": "latest"}))
    assert out.unit_status == testing.ActiveStatus("Unit is ready (unpinned image tag latest)")


def test_proxies_reach_every_container(ctx, host):
    config = {"image-tag": TAG, "http-proxy": "http://proxy:3128", "no-proxy": "10.0.0.0/8"}
    ctx.run(ctx.on.config_changed(), state(config=config))
    env = read_env_file(host, PROJECT, "probe-api")
    assert env["HTTP_PROXY"] == env["http_proxy"] == "http://proxy:3128"
    assert env["NO_PROXY"] == "10.0.0.0/8"


def test_control_network_picks_the_matching_address(ctx, host):
    config = {"image-tag": TAG, "control-network": "172.16.0.0/16, 192.168.1.0/24"}
    out = ctx.run(ctx.on.config_changed(), state(config=config))
    assert read_env_file(host, PROJECT, "probe-api")["NODES"] == "192.168.1.10"
    assert unit_data(out, "probe-cluster")[0]["address"] == "192.168.1.10"


def test_control_network_without_a_match_blocks(ctx, engine):
    out = ctx.run(
        ctx.on.config_changed(),
        state(config={"image-tag": TAG, "control-network": "172.16.0.0/16"}),
    )
    assert out.unit_status == testing.BlockedStatus(
        "control-network: no address of this unit is in 172.16.0.0/16"
    )
    assert engine.containers == {}


def test_non_leader_waits_for_the_leader_then_deploys(ctx, engine):
    out = ctx.run(ctx.on.config_changed(), state(leader=False))
    assert out.unit_status == testing.WaitingStatus("waiting for the leader to add this unit")
    assert engine.containers == {}
    members = [{"unit": "contrail-probe/0", "address": "192.0.2.0", "data-address": "192.0.2.0"}]
    out = ctx.run(ctx.on.config_changed(), state(leader=False, relations=[peer(members)]))
    assert out.unit_status.name == "active"


def test_min_cluster_size_waits_and_counts(ctx, engine):
    out = ctx.run(ctx.on.config_changed(), state(config={"image-tag": TAG, "min-cluster-size": 3}))
    assert out.unit_status == testing.WaitingStatus(
        "waiting for 2 more contrail-probe unit(s) (min-cluster-size 3)"
    )
    assert engine.containers == {}


def test_leader_keeps_member_order_and_drops_departed_units(ctx):
    members = [
        {"unit": "contrail-probe/2", "address": "10.0.0.12", "data-address": None},
        {"unit": "contrail-probe/1", "address": "10.0.0.11", "data-address": None},
        {"unit": "contrail-probe/0", "address": "10.0.0.10", "data-address": None},
    ]
    relation = peer(
        members, peers_data={2: encode(address="10.0.0.12"), 3: encode(address="10.0.0.13")}
    )
    out = ctx.run(ctx.on.leader_elected(), state(relations=[relation]))
    (data,) = app_data(out, "probe-cluster")
    assert [(m["unit"], m["address"]) for m in data["members"]] == [
        ("contrail-probe/2", "10.0.0.12"),
        ("contrail-probe/0", "192.0.2.0"),
        ("contrail-probe/3", "10.0.0.13"),
    ]


def test_malformed_peer_data_is_rebuilt_by_the_leader(ctx):
    broken = testing.PeerRelation("probe-cluster", local_app_data={"members": "{{"})
    out = ctx.run(ctx.on.config_changed(), state(relations=[broken]))
    assert out.unit_status.name == "active"
    assert app_data(out, "probe-cluster")[0]["members"][0]["unit"] == "contrail-probe/0"


def test_registry_credentials_come_from_a_user_secret(ctx, engine, host):
    login = RegistryCredentials("puller", "pa55-w0rd")
    engine.registries["docker.io"] = MemoryRegistry(
        images=engine.registries["docker.io"].images, credentials=login
    )
    secret = testing.Secret(tracked_content={"username": "puller", "password": "pa55-w0rd"})
    config = {"image-tag": TAG, "registry-credentials": secret.id}
    out = ctx.run(ctx.on.config_changed(), state(config=config, secrets=[secret]))
    assert out.unit_status.name == "active"
    for path in host.path(f"/etc/contrail/{PROJECT}").iterdir():
        assert "pa55-w0rd" not in path.read_text()
    for relation in out.relations:
        assert all(
            "pa55-w0rd" not in v
            for v in {**relation.local_app_data, **relation.local_unit_data}.values()
        )


def test_wrong_registry_password_blocks_naming_the_cause(ctx, engine):
    engine.registries["docker.io"].credentials = RegistryCredentials("puller", "right")
    secret = testing.Secret(tracked_content={"username": "puller", "password": "wrong"})
    out = ctx.run(
        ctx.on.install(),
        state(config={"image-tag": TAG, "registry-credentials": secret.id}, secrets=[secret]),
    )
    assert out.unit_status.name == "blocked"
    assert "from docker.io: unauthorized" in out.unit_status.message
    assert "wrong" not in out.unit_status.message


def test_unreadable_registry_secret_blocks_with_the_fix(ctx, engine):
    config = {"image-tag": TAG, "registry-credentials": "secret:cs1v0pr3gb3jkh5c0avg"}
    out = ctx.run(ctx.on.config_changed(), state(config=config))
    assert out.unit_status == testing.BlockedStatus(
        "registry-credentials: secret secret:cs1v0pr3gb3jkh5c0avg not found or not granted "
        "(juju grant-secret secret:cs1v0pr3gb3jkh5c0avg contrail-probe)"
    )


def test_secret_without_keys_blocks(ctx):
    secret = testing.Secret(tracked_content={"user": "x"})
    out = ctx.run(
        ctx.on.config_changed(),
        state(config={"image-tag": TAG, "registry-credentials": secret.id}, secrets=[secret]),
    )
    assert "needs the keys username and password" in out.unit_status.message


def test_pull_failure_is_kept_and_update_status_does_not_retry(ctx, engine):
    del engine.registries["docker.io"].images[f"opensdn/contrail-probe-api:{TAG}"]
    out = ctx.run(ctx.on.install(), state())
    assert out.unit_status == testing.BlockedStatus(
        f"cannot pull opensdn/contrail-probe-api:{TAG} from docker.io: "
        "image not found (check the image name and tag): manifest unknown"
    )
    writes = engine.io.writes
    again = ctx.run(ctx.on.update_status(), out)
    assert engine.io.writes == writes, "update-status neither pulls nor creates"
    assert again.unit_status == out.unit_status
    engine.add_image(f"opensdn/contrail-probe-api:{TAG}", {"version": VERSION})
    assert ctx.run(ctx.on.config_changed(), again).unit_status.name == "active"


def test_update_status_reports_every_unhealthy_container_without_writing(ctx, engine):
    out = ctx.run(ctx.on.install(), state())
    engine.crash(PROJECT, "probe-api", exit_code=2)
    engine.crash(PROJECT, "node-init", exit_code=1)
    writes = engine.io.writes
    status = ctx.run(ctx.on.update_status(), out).unit_status
    assert engine.io.writes == writes
    assert status == testing.BlockedStatus(
        "containers exited: node-init (code 1), probe-api (code 2)"
    )


def test_restarting_container_waits_and_node_init_success_is_healthy(ctx, engine):
    out = ctx.run(ctx.on.install(), state())
    engine.crash(PROJECT, "node-init", exit_code=0)
    assert ctx.run(ctx.on.update_status(), out).unit_status.name == "active"
    engine.crash(PROJECT, "probe-api", exit_code=1, restarting=True)
    status = ctx.run(ctx.on.update_status(), out).unit_status
    assert status == testing.WaitingStatus("containers probe-api restarting (last exit code 1)")


def test_remove_deletes_containers_and_env_files(ctx, engine, host):
    out = ctx.run(ctx.on.install(), state())
    ctx.run(ctx.on.remove(), out)
    assert engine.status(PROJECT) == {}
    assert not host.path(f"/etc/contrail/{PROJECT}").exists()


def test_logs_action_lists_and_tails(ctx, engine):
    out = ctx.run(ctx.on.install(), state())
    engine.containers[f"{PROJECT}-probe-api"].output.extend(["starting", "listening"])
    ctx.run(ctx.on.action("logs"), out)
    assert ctx.action_results == {"containers": "node-init running\nprobe-api running"}
    ctx.run(ctx.on.action("logs", params={"container": "probe-api", "lines": 1}), out)
    assert ctx.action_results == {"logs": "listening\n"}
    with pytest.raises(testing.ActionFailed, match="no container named nope"):
        ctx.run(ctx.on.action("logs", params={"container": "nope"}), out)


def test_logs_action_with_invalid_config_fails(ctx):
    with pytest.raises(testing.ActionFailed, match="invalid config: log-level"):
        ctx.run(ctx.on.action("logs"), state(config={"image-tag": TAG, "log-level": "LOUD"}))


def test_invalid_config_changes_nothing_already_running(ctx, engine):
    out = ctx.run(ctx.on.install(), state())
    writes = engine.io.writes
    bad = dataclasses.replace(out, config={"image-tag": TAG, "log-level": "LOUD"})
    blocked = ctx.run(ctx.on.config_changed(), bad)
    assert blocked.unit_status.message.startswith("invalid config: log-level")
    assert engine.io.writes == writes
    assert len(engine.status(PROJECT)) == 2


def test_upgrade_and_secret_changed_reconcile(ctx):
    secret = testing.Secret(tracked_content={"username": "u", "password": "p"})
    out = ctx.run(
        ctx.on.install(),
        state(config={"image-tag": TAG, "registry-credentials": secret.id}, secrets=[secret]),
    )
    assert ctx.run(ctx.on.upgrade_charm(), out).unit_status.name == "active"
    assert (
        ctx.run(ctx.on.secret_changed(out.get_secret(id=secret.id)), out).unit_status.name
        == "active"
    )


def test_container_runtime_cannot_change_after_deploy(ctx, engine):
    out = ctx.run(ctx.on.install(), state())
    writes = engine.io.writes
    switched = dataclasses.replace(
        out, config={"image-tag": TAG, "container-runtime": "containerd"}
    )
    blocked = ctx.run(ctx.on.config_changed(), switched)
    assert blocked.unit_status == testing.BlockedStatus(
        "container-runtime: the containers run on docker; it cannot change after deploy "
        "(set it back to docker or auto, or redeploy the unit)"
    )
    assert engine.io.writes == writes
    back = dataclasses.replace(blocked, config={"image-tag": TAG, "container-runtime": "docker"})
    assert ctx.run(ctx.on.config_changed(), back).unit_status.name == "active"


# -- nrpe-external-master ------------------------------------------------------------------------

NRPE_CONF = "/etc/nagios/nrpe.d"
NRPE_EXPORT = "/var/lib/nagios/export"
STATE_FILE = f"/var/lib/contrail-charms/container-states/{PROJECT}.json"
CHECKS = ["check_contrail_probe_node_init.cfg", "check_contrail_probe_probe_api.cfg"]


@pytest.fixture
def nagios(host, systemctl_runner) -> RecordingRunner:
    """A host where the nrpe subordinate installed nagios-nrpe-server and exports services."""
    host.path(NRPE_CONF).mkdir(parents=True)
    host.path(NRPE_EXPORT).mkdir(parents=True)
    return systemctl_runner


def nrpe_relation(**remote) -> testing.SubordinateRelation:
    return testing.SubordinateRelation(
        "nrpe-external-master", remote_app_name="nrpe", remote_unit_data=remote
    )


def names(host, folder: str) -> list[str]:
    return sorted(p.name for p in host.path(folder).iterdir())


def test_nrpe_joined_writes_one_check_per_container_and_publishes_monitors(ctx, host, nagios):
    out = ctx.run(ctx.on.install(), state())
    relation = nrpe_relation(nagios_hostname="juju-contrail-probe-0", nagios_host_context="juju")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), replace(out, relation))
    assert names(host, NRPE_CONF) == CHECKS
    assert names(host, NRPE_EXPORT) == [f"service__juju-contrail-probe-0_{c}" for c in CHECKS]
    check = host.path(f"{NRPE_CONF}/check_contrail_probe_probe_api.cfg").read_text()
    assert (
        "command[check_contrail_probe_probe_api]=/usr/local/lib/nagios/plugins/"
        f"check_contrail_container --state-file {STATE_FILE} --container probe-api\n"
    ) in check
    service = host.path(f"{NRPE_EXPORT}/service__juju-contrail-probe-0_{CHECKS[1]}").read_text()
    assert "[contrail_probe_probe_api] container probe-api {juju:contrail-probe/0}" in service
    assert nagios.calls == [["systemctl", "restart", "nagios-nrpe-server"]]
    databag = out.get_relation(relation.id).local_unit_data
    assert yaml.safe_load(databag["monitors"]) == {
        "monitors": {
            "remote": {
                "nrpe": {
                    "contrail_probe_node_init": {"command": "check_contrail_probe_node_init"},
                    "contrail_probe_probe_api": {"command": "check_contrail_probe_probe_api"},
                }
            }
        }
    }
    assert databag["primary"] == "True"
    assert stat.S_IMODE(host.path(nrpe.PLUGIN_PATH).stat().st_mode) == 0o755


def test_state_file_is_0644_and_holds_no_env_value_or_secret(ctx, engine, host, nagios):
    login = RegistryCredentials("puller", "pa55-w0rd")
    engine.registries["docker.io"] = MemoryRegistry(
        images=engine.registries["docker.io"].images, credentials=login
    )
    secret = testing.Secret(tracked_content={"username": "puller", "password": "pa55-w0rd"})
    config = {"image-tag": TAG, "registry-credentials": secret.id, "http-proxy": "http://p:3128"}
    relation = nrpe_relation()
    out = ctx.run(
        ctx.on.config_changed(),
        state(config=config, secrets=[secret], relations=[peer(), relation]),
    )
    assert out.unit_status.name == "active"
    path = host.path(STATE_FILE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    text = path.read_text()
    for value in ("pa55-w0rd", "puller", "http://p:3128", "SYS_NOTICE", "10.0.0.10", TAG):
        assert value not in text
    record = json.loads(text)
    assert set(record) == {"project", "recorded_at", "containers"}
    assert record["containers"]["probe-api"] == {
        "state": "running", "exit_code": None, "one_shot": False
    }  # fmt: skip
    assert record["containers"]["node-init"]["one_shot"] is True


def test_update_status_records_states_but_never_rewrites_or_restarts(ctx, engine, host, nagios):
    out = ctx.run(ctx.on.config_changed(), state(relations=[peer(), nrpe_relation()]))
    assert len(nagios.calls) == 1
    check = host.path(f"{NRPE_CONF}/{CHECKS[1]}")
    written = check.stat().st_mtime_ns
    engine.crash(PROJECT, "probe-api", exit_code=3)
    out = ctx.run(ctx.on.update_status(), out)
    out = ctx.run(ctx.on.config_changed(), out)  # an unchanged reconcile rewrites nothing either
    assert len(nagios.calls) == 1
    assert check.stat().st_mtime_ns == written
    recorded = json.loads(host.path(STATE_FILE).read_text())["containers"]["probe-api"]
    assert recorded == {"state": "exited", "exit_code": 3, "one_shot": False}


def test_nagios_context_and_servicegroups_are_respected(ctx, host, nagios):
    out = ctx.run(ctx.on.config_changed(), state(relations=[peer(), nrpe_relation()]))
    assert names(host, NRPE_EXPORT) == [f"service__juju-contrail-probe-0_{c}" for c in CHECKS]
    config = {"image-tag": TAG, "nagios_context": "site1", "nagios_servicegroups": "sdn, tf"}
    ctx.run(ctx.on.config_changed(), replace(out, config=config))
    assert names(host, NRPE_EXPORT) == [f"service__site1-contrail-probe-0_{c}" for c in CHECKS]
    service = host.path(f"{NRPE_EXPORT}/service__site1-contrail-probe-0_{CHECKS[0]}").read_text()
    assert "    host_name                       site1-contrail-probe-0\n" in service
    assert "    servicegroups                   sdn,tf\n" in service
    assert "# servicegroups: sdn,tf\n" in host.path(f"{NRPE_CONF}/{CHECKS[0]}").read_text()
    assert len(nagios.calls) == 2


def test_invalid_nagios_context_blocks_naming_the_option(ctx, nagios):
    config = {"image-tag": TAG, "nagios_context": "a/b"}
    out = ctx.run(ctx.on.config_changed(), state(config=config))
    assert out.unit_status.message.startswith("invalid config: nagios_context: must be")


def test_nrpe_broken_removes_every_file_of_the_unit(ctx, host, nagios):
    relation = nrpe_relation()
    out = ctx.run(ctx.on.config_changed(), state(relations=[peer(), relation]))
    assert host.path(STATE_FILE).exists()
    out = ctx.run(ctx.on.relation_broken(out.get_relation(relation.id)), out)
    assert names(host, NRPE_CONF) == [] and names(host, NRPE_EXPORT) == []
    assert not host.path(STATE_FILE).exists()
    assert not host.path(nrpe.PLUGIN_PATH).exists()
    assert len(nagios.calls) == 2
    assert out.unit_status.name == "active"


def test_remove_deletes_the_checks(ctx, host, nagios):
    out = ctx.run(ctx.on.config_changed(), state(relations=[peer(), nrpe_relation()]))
    ctx.run(ctx.on.remove(), out)
    assert names(host, NRPE_CONF) == [] and names(host, NRPE_EXPORT) == []
    assert not host.path(STATE_FILE).exists()


def test_checks_wait_for_a_ready_unit_and_for_nrpe_itself(ctx, host, systemctl_runner):
    relation = nrpe_relation()
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(config={}, relations=[peer(), relation]))  # fmt: skip
    assert out.unit_status.name == "blocked"
    out = ctx.run(ctx.on.config_changed(), replace(out, config={"image-tag": TAG}))
    assert out.unit_status.name == "active"
    assert not host.path(NRPE_CONF).exists(), "nrpe not installed yet: nothing written"
    assert "monitors" not in out.get_relation(relation.id).local_unit_data
    assert systemctl_runner.calls == []
    host.path(NRPE_CONF).mkdir(parents=True)  # nrpe installed, then tells its host name
    changed = testing.SubordinateRelation(
        "nrpe-external-master",
        id=relation.id,
        remote_app_name="nrpe",
        remote_unit_data={"nagios_hostname": "juju-contrail-probe-0"},
    )
    out = replace(out, changed)
    out = ctx.run(ctx.on.relation_changed(out.get_relation(relation.id)), out)
    assert names(host, NRPE_CONF) == CHECKS
    assert "monitors" in out.get_relation(relation.id).local_unit_data
    assert len(systemctl_runner.calls) == 1


def test_without_the_relation_nothing_is_written(ctx, host, nagios):
    out = ctx.run(ctx.on.install(), state())
    ctx.run(ctx.on.update_status(), out)
    assert names(host, NRPE_CONF) == [] and names(host, NRPE_EXPORT) == []
    assert not host.path("/var/lib/contrail-charms").exists()
    assert not host.path(nrpe.PLUGIN_PATH).exists()
    assert nagios.calls == []


def replace(out: testing.State, relation=None, **fields) -> testing.State:
    """`out` with one relation added or replaced (same id) and other fields changed."""
    if relation is not None:
        kept = [r for r in out.relations if r.id != relation.id]
        fields["relations"] = [*kept, relation]
    return dataclasses.replace(out, **fields)
