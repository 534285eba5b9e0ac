"""The nrpe files and relation data, and the check plugin's verdicts, without ops or engines."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest
import yaml

from contrail_common.containers import ContainerState, ContainerStatus
from contrail_common.hostpaths import HostRoot
from contrail_common.monitoring import check_contrail_container as plugin
from contrail_common.monitoring import nrpe, states
from contrail_common.testing import RecordingRunner, write_host_file

OWNER = "contrail-controller/0"
PREFIX = "contrail_controller"
PROJECT = "contrail-controller-0"
NAGIOS = nrpe.NagiosHost("juju-contrail-controller-0", "contrail-controller/0", "juju")
CONF = "/etc/nagios/nrpe.d"
EXPORT = "/var/lib/nagios/export"


@pytest.fixture
def host(tmp_path) -> HostRoot:
    root = HostRoot(tmp_path)
    root.path(CONF).mkdir(parents=True)
    root.path(EXPORT).mkdir(parents=True)
    return root


@pytest.fixture
def runner() -> RecordingRunner:
    return RecordingRunner()


def files(host: HostRoot, runner: RecordingRunner, owner=OWNER, prefix=PREFIX) -> nrpe.NrpeFiles:
    return nrpe.NrpeFiles(host, owner, prefix, runner)


def checks(*containers: str) -> list[nrpe.Check]:
    return nrpe.container_checks(PREFIX, PROJECT, containers, "contrail-controller/0")


def listing(host: HostRoot, path: str) -> list[str]:
    return sorted(p.name for p in host.path(path).iterdir())


# -- names and contents ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "prefix"),
    [
        ("contrail-controller", "contrail_controller"),
        ("contrail-kubernetes-master", "contrail_kubernetes_master"),
        ("tf-agent", "contrail_tf_agent"),
    ],
)
def test_check_prefix_from_the_application(app, prefix):
    assert nrpe.check_prefix(app) == prefix


def test_nagios_host_follows_charmhelpers_rules():
    default = nrpe.nagios_host("juju", "", "contrail-agent/3")
    assert default == nrpe.NagiosHost("juju-contrail-agent-3", "contrail-agent/3", "juju")
    custom = nrpe.nagios_host("prod", "tf,sdn", "contrail-agent/3")
    assert (custom.hostname, custom.servicegroups) == ("prod-contrail-agent-3", "tf,sdn")
    sent = nrpe.nagios_host(
        "juju",
        "",
        "contrail-agent/3",
        [{}, {"nagios_hostname": "site-kubernetes-worker-1", "nagios_host_context": "site"}],
    )
    assert sent.hostname == "site-kubernetes-worker-1"
    assert sent.unit_label == "site:contrail-agent/3"


def test_a_nagios_hostname_unfit_for_a_file_name_is_ignored():
    sent = nrpe.nagios_host("juju", "", "contrail-agent/3", [{"nagios_hostname": "../../etc"}])
    assert sent.hostname == "juju-contrail-agent-3"


def test_container_check_runs_the_plugin_on_the_state_file():
    (check,) = checks("config-api")
    assert check.shortname == "contrail_controller_config_api"
    assert check.command == "check_contrail_controller_config_api"
    assert check.argv == (
        "/usr/local/lib/nagios/plugins/check_contrail_container",
        "--state-file",
        "/var/lib/contrail-charms/container-states/contrail-controller-0.json",
        "--container",
        "config-api",
    )
    assert check.description == "container config-api {contrail-controller/0}"


def test_an_http_check_of_another_address_names_it():
    (vip,) = nrpe.http_checks(
        PREFIX, "10.0.0.10", [nrpe.HttpCheck("vip", 8082, host="10.0.0.100")], "u/0"
    )
    assert vip.argv[:3] == (nrpe.CHECK_HTTP, "-H", "10.0.0.100")
    assert vip.shortname == "contrail_controller_http_vip"


def test_http_checks_use_check_http_with_tls_where_asked():
    declared = [nrpe.HttpCheck("api", 8082), nrpe.HttpCheck("webui", 8143, tls=True)]
    api, webui = nrpe.http_checks(PREFIX, "10.0.0.10", declared, "u/0")
    assert api.shortname == "contrail_controller_http_api"
    assert api.argv == ("/usr/lib/nagios/plugins/check_http", "-H", "10.0.0.10", "-p", "8082",
                        "-u", "/")  # fmt: skip
    assert webui.argv[-1] == "-S"
    assert webui.description == "HTTPS webui on port 8143 {u/0}"
    api_tls, _ = nrpe.http_checks(PREFIX, "10.0.0.10", declared, "u/0", tls=True)
    assert api_tls.argv[-1] == "-S"


def test_invalid_check_names_are_refused():
    with pytest.raises(ValueError, match="must match"):
        nrpe.Check("bad name", "x", ("/bin/true",))
    with pytest.raises(ValueError, match="no command"):
        nrpe.Check("ok", "x", ())


def test_check_file_and_service_definition_contents():
    (check,) = checks("control")
    assert nrpe.check_file_content(check, "juju", OWNER) == (
        "# check contrail_controller_control\n"
        "# owner: contrail-controller/0\n"
        "# The following header was added automatically by juju\n"
        "# Modifying it will affect nagios monitoring and alerting\n"
        "# servicegroups: juju\n"
        "command[check_contrail_controller_control]=/usr/local/lib/nagios/plugins/"
        "check_contrail_container --state-file /var/lib/contrail-charms/container-states/"
        "contrail-controller-0.json --container control\n"
    )
    service = nrpe.service_definition(check, NAGIOS, OWNER)
    assert "define service {\n    use                             active-service\n" in service
    assert "    host_name                       juju-contrail-controller-0\n" in service
    assert (
        "    service_description             juju-contrail-controller-0"
        "[contrail_controller_control] container control {contrail-controller/0}\n"
    ) in service
    assert "check_nrpe!check_contrail_controller_control\n" in service
    assert "    servicegroups                   juju\n}\n" in service


def test_monitors_yaml_lists_every_check_by_shortname():
    monitors = yaml.safe_load(nrpe.monitors_yaml(checks("control", "webui-web")))
    assert monitors == {
        "monitors": {
            "remote": {
                "nrpe": {
                    "contrail_controller_control": {
                        "command": "check_contrail_controller_control"
                    },
                    "contrail_controller_webui_web": {
                        "command": "check_contrail_controller_webui_web"
                    },
                }
            }
        }
    }


# -- files on the host ----------------------------------------------------------------------


def test_write_creates_files_0644_installs_the_plugin_and_restarts_once(host, runner):
    assert files(host, runner).write(checks("control", "webui-web"), NAGIOS) is True
    assert listing(host, CONF) == [
        "check_contrail_controller_control.cfg",
        "check_contrail_controller_webui_web.cfg",
    ]
    assert listing(host, EXPORT) == [
        "service__juju-contrail-controller-0_check_contrail_controller_control.cfg",
        "service__juju-contrail-controller-0_check_contrail_controller_webui_web.cfg",
    ]
    for folder in (CONF, EXPORT):
        for path in host.path(folder).iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o644
    plugin_file = host.path(nrpe.PLUGIN_PATH)
    assert stat.S_IMODE(plugin_file.stat().st_mode) == 0o755
    assert plugin_file.read_bytes() == nrpe.PLUGIN_SOURCE.read_bytes()
    assert runner.calls == [["systemctl", "restart", "nagios-nrpe-server"]]


def test_unchanged_checks_write_nothing_and_do_not_restart(host, runner):
    files(host, runner).write(checks("control"), NAGIOS)
    path = host.path(f"{CONF}/check_contrail_controller_control.cfg")
    before = path.stat().st_mtime_ns
    assert files(host, runner).write(checks("control"), NAGIOS) is False
    assert path.stat().st_mtime_ns == before
    assert len(runner.calls) == 1


def test_removed_checks_and_a_new_hostname_leave_no_stale_files(host, runner):
    files(host, runner).write(checks("control", "webui-web"), NAGIOS)
    renamed = nrpe.NagiosHost("site-host-1", "site:contrail-controller/0", "juju")
    assert files(host, runner).write(checks("control"), renamed) is True
    assert listing(host, CONF) == ["check_contrail_controller_control.cfg"]
    assert listing(host, EXPORT) == ["service__site-host-1_check_contrail_controller_control.cfg"]
    assert len(runner.calls) == 2


def test_other_units_files_are_never_touched(host, runner):
    other = write_host_file(host, f"{CONF}/check_contrail_analytics_api.cfg", "# owner: a/0\n")
    same_prefix = write_host_file(
        host,
        f"{CONF}/check_contrail_controller_2_control.cfg",
        "# owner: contrail-controller-2/0\n",
    )
    foreign = write_host_file(host, f"{CONF}/check_disk_root.cfg", "command[check_disk_root]=x\n")
    files(host, runner).write(checks("control"), NAGIOS)
    files(host, runner).remove_all()
    assert other.exists() and same_prefix.exists() and foreign.exists()


def test_remove_all_removes_the_units_files_and_the_unused_plugin(host, runner):
    files(host, runner).write(checks("control"), NAGIOS)
    assert files(host, runner).remove_all() is True
    assert listing(host, CONF) == [] and listing(host, EXPORT) == []
    assert not host.path(nrpe.PLUGIN_PATH).exists()
    assert len(runner.calls) == 2
    assert files(host, runner).remove_all() is False, "nothing left: no restart"
    assert len(runner.calls) == 2


def test_plugin_stays_while_another_unit_runs_it(host, runner):
    analytics = nrpe.container_checks("contrail_analytics", "contrail-analytics-0", ["api"], "a")
    files(host, runner, owner="contrail-analytics/0", prefix="contrail_analytics").write(
        analytics, NAGIOS
    )
    files(host, runner).write(checks("control"), NAGIOS)
    files(host, runner).remove_all()
    assert host.path(nrpe.PLUGIN_PATH).exists()


def test_nothing_is_written_before_nrpe_is_installed(tmp_path, runner):
    bare = HostRoot(tmp_path)
    assert files(bare, runner).write(checks("control"), NAGIOS) is False
    assert not any(tmp_path.iterdir())
    assert runner.calls == []


def test_service_files_only_where_the_export_folder_exists(tmp_path, runner):
    only_nrpe = HostRoot(tmp_path)
    only_nrpe.path(CONF).mkdir(parents=True)
    assert files(only_nrpe, runner).write(checks("control"), NAGIOS) is True
    assert not only_nrpe.path(EXPORT).exists()


def test_a_missing_systemctl_or_a_failed_restart_does_not_raise(host):
    assert files(host, RecordingRunner(missing=True)).write(checks("control"), NAGIOS) is True
    failing = RecordingRunner(returncode=5, stderr="Unit nagios-nrpe-server.service not found.")
    assert files(host, failing).write(checks("webui"), NAGIOS) is True
    assert failing.calls == [["systemctl", "restart", "nagios-nrpe-server"]]


# -- recorded container states -------------------------------------------------------------------


STATES = {
    "node-init": ContainerStatus("node-init", ContainerState.EXITED, 0),
    "control": ContainerStatus("control", ContainerState.RUNNING),
    "api": ContainerStatus("api", ContainerState.RESTARTING, 2),
}


def test_state_file_is_world_readable_with_names_states_and_codes_only(tmp_path):
    host = HostRoot(tmp_path)
    path = states.record_container_states(host, PROJECT, STATES, {"node-init"}, now=1000.0)
    assert path == host.path(f"/var/lib/contrail-charms/container-states/{PROJECT}.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o755
    assert json.loads(path.read_text()) == {
        "project": PROJECT,
        "recorded_at": 1000.0,
        "containers": {
            "api": {"state": "restarting", "exit_code": 2, "one_shot": False},
            "control": {"state": "running", "exit_code": None, "one_shot": False},
            "node-init": {"state": "exited", "exit_code": 0, "one_shot": True},
        },
    }
    states.remove_container_states(host, PROJECT)
    assert not path.exists()


# -- the plugin ------------------------------------------------------------------------------------


def record(**containers) -> dict:
    return {"recorded_at": 1000.0, "containers": containers}


@pytest.mark.parametrize(
    ("entry", "code", "message"),
    [
        ({"state": "running"}, 0, "x running"),
        ({"state": "exited", "exit_code": 0, "one_shot": True}, 0, "x completed"),
        ({"state": "exited", "exit_code": 0}, 2, "x exited (exit code 0)"),
        ({"state": "exited", "exit_code": 3, "one_shot": True}, 2, "x exited (exit code 3)"),
        ({"state": "missing"}, 2, "x missing"),
        ({"state": "restarting", "exit_code": 5}, 1, "x restarting (last exit code 5)"),
        ({"state": "created"}, 1, "x created"),
        ({"state": "paused"}, 1, "x paused"),
        ({"state": "odd"}, 3, "x in unknown state 'odd'"),
    ],
)
def test_plugin_verdicts(entry, code, message):
    assert plugin.evaluate(record(x=entry), "x", now=1010.0) == (code, message)


def test_plugin_container_not_recorded_is_critical():
    code, message = plugin.evaluate(record(), "x", now=1010.0)
    assert code == 2 and message.startswith("x missing")


def test_plugin_stale_or_malformed_record_is_unknown():
    code, message = plugin.evaluate(record(x={"state": "running"}), "x", 60, now=1100.0)
    assert code == 3 and "recorded 100 s ago (max 60 s)" in message
    assert plugin.evaluate([], "x")[0] == 3
    assert plugin.evaluate({"containers": {}}, "x")[0] == 3


def test_plugin_main_prints_one_line_and_returns_the_code(tmp_path, capsys):
    path = tmp_path / "state.json"
    assert plugin.main(["--state-file", str(path), "--container", "x"]) == 3
    assert capsys.readouterr().out.startswith("UNKNOWN: no state file ")
    path.write_text("{not json")
    assert plugin.main(["--state-file", str(path), "--container", "x"]) == 3
    assert capsys.readouterr().out.startswith(f"UNKNOWN: cannot read {path}")
    states.record_container_states(HostRoot(tmp_path), "p", STATES)
    state = str(tmp_path / "var/lib/contrail-charms/container-states/p.json")
    assert plugin.main(["--state-file", state, "--container", "control"]) == 0
    assert capsys.readouterr().out == "OK: control running\n"
    assert plugin.main(["--bogus"]) == 3


def test_plugin_runs_as_a_standalone_script(tmp_path):
    states.record_container_states(HostRoot(tmp_path), "p", STATES)
    state = tmp_path / "var/lib/contrail-charms/container-states/p.json"
    result = subprocess.run(
        [sys.executable, "-I", str(nrpe.PLUGIN_SOURCE), "--state-file", str(state),
         "--container", "api"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (
        1,
        "WARNING: api restarting (last exit code 2)\n",
    )
    assert nrpe.PLUGIN_SOURCE.stat().st_mode & stat.S_IXUSR
