"""cos-agent pieces: alert rules, dashboard, scrape job, and the exporter's systemd service."""

from __future__ import annotations

import hashlib
import json
import re
import stat
from pathlib import Path

import pytest
import yaml
from cosl import DashboardPath40UID, JujuTopology, LZMABase64

from contrail_common.hostpaths import HostRoot
from contrail_common.monitoring import contrail_exporter, cos
from contrail_common.testing import RecordingRunner, mark_installed
from contrail_interfaces.cos_agent_v0 import ProviderUnitData

REPO = Path(__file__).resolve().parents[2]
CHARMS = {path.parent.name for path in (REPO / "charms").glob("*/charmcraft.yaml")}

TOPOLOGY = JujuTopology(
    model="k8s", model_uuid="f2a5b1c4-9d3e-4b7a-8c6f-0e1d2c3b4a59", application="contrail-controller",
    unit="contrail-controller/0", charm_name="contrail-controller",
)  # fmt: skip
PROJECT = "contrail-controller-0"
SERVICE = "contrail-exporter-contrail-controller-0.service"
UNIT_FILE = f"/etc/systemd/system/{SERVICE}"
ARGV = cos.exporter_argv(9741, PROJECT, "10.0.0.10", [cos.IntrospectPort("control", 8083)])


def exported_metric_names() -> set[str]:
    """Every metric family name the exporter can produce, read from its source."""
    source = (cos._HERE / "contrail_exporter.py").read_text()
    names = set(re.findall(r'"(contrail_[a-z_]+)"', source))
    names |= {f"contrail_{kind}_peer_up" for kind in ("bgp", "xmpp")}
    return names


def referenced_metrics(expression: str) -> set[str]:
    return set(re.findall(r"\b(contrail_[a-z_]+)\b", expression))


def test_alert_rules_carry_the_topology_and_use_only_exported_metrics():
    rules = cos.metrics_alert_rules(TOPOLOGY)
    groups = {group["name"]: group for group in rules["groups"]}
    prefix = TOPOLOGY.identifier.replace("-", "_")  # sanitized as Prometheus names
    assert set(groups) == {
        f"{prefix}_contrail_containers_rules", f"{prefix}_contrail_peers_rules",
        f"{prefix}_HostHealth_rules",
    }  # fmt: skip
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    assert {
        "ContrailContainerDown", "ContrailContainerStatesStale", "ContrailContainerStatesMissing",
        "ContrailIntrospectUnreachable", "ContrailBgpPeerDown", "ContrailXmppPeerDown",
        "ContrailVrouterWithoutControlNode", "HostDown", "HostMetricsMissing",
    } == set(alerts)  # fmt: skip
    exported = exported_metric_names()
    for name, rule in alerts.items():
        assert "%%juju_topology%%" not in rule["expr"], name
        assert referenced_metrics(rule["expr"]) <= exported, name
        assert rule["labels"]["juju_application"] == "contrail-controller"
        assert rule["labels"]["juju_model_uuid"] == TOPOLOGY.model_uuid
        assert rule["labels"]["severity"] in ("critical", "warning")
    assert alerts["ContrailContainerDown"]["expr"] == "contrail_container_up{} == 0"


def test_dashboard_is_compressed_tagged_and_uses_only_exported_metrics():
    encoded = cos.dashboards()
    assert len(encoded) == 1
    dashboard = json.loads(LZMABase64.decompress(encoded[0]))
    assert dashboard["title"] == "Contrail"
    assert {f"charm: {name}" for name in CHARMS} <= set(dashboard["tags"])
    # Grafana's dashboard consumer keeps a uid of this form and replaces any other.
    assert DashboardPath40UID.is_valid(dashboard["uid"])
    assert isinstance(dashboard["version"], int)
    exported = exported_metric_names()
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    expressions += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    assert expressions
    for expression in expressions:
        assert referenced_metrics(expression) <= exported, expression
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {"${prometheusds}"}


def test_every_charm_sends_the_same_dashboard_bytes_so_grafana_keeps_one():
    """The consumer keeps one dashboard per uid; identical copies make the choice moot."""
    assert set(cos.DASHBOARD_CHARMS) == CHARMS
    copies = {json.dumps(cos.dashboards()) for _ in CHARMS}
    assert len(copies) == 1


# The dashboard file's content (without `version`) for each version: a changed dashboard with
# an unchanged version would lose to an older copy in Grafana while charms are upgraded.
DASHBOARD_VERSIONS = {1: "3cd3505fbc50d6b9d409437919c9ebea5c7bb4ba740843f18f340b52c9355f44"}


def test_a_changed_dashboard_has_a_new_version():
    (path,) = cos.DASHBOARDS_DIR.glob("*.json")
    dashboard = json.loads(path.read_text())
    version = dashboard.pop("version")
    digest = hashlib.sha256(json.dumps(dashboard, sort_keys=True).encode()).hexdigest()
    assert DASHBOARD_VERSIONS.get(version) == digest, (
        f"{path.name} changed: raise its version and record {digest} for it here"
    )


def test_scrape_job_targets_the_exporter_on_localhost_under_a_per_unit_name():
    (job,) = cos.scrape_jobs("contrail-controller", "contrail-controller/0", 9741)
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"] == [{"targets": ["localhost:9741"]}]
    assert re.fullmatch(r"contrail-controller_contrail_[0-9a-f]{8}", job["job_name"])
    assert cos.scrape_jobs("contrail-controller", "contrail-controller/0", 9741) == [job]


def test_job_names_differ_per_application_unit_and_job():
    names = {
        cos.scrape_jobs(app, f"{app}/{index}", port)[0]["job_name"]
        for app in ("contrail-agent", "contrail-agent-dpdk")
        for index in (0, 1)
        for port in (9744, 9745)
    }
    assert len(names) == 8


def test_our_schema_has_the_fields_of_the_released_requirer():
    """`cos_agent` LIBPATCH 26 `CosAgentProviderUnitData`: a field it lacks would be dropped."""
    released = {
        "metrics_alert_rules", "log_alert_rules", "dashboards", "subordinate",
        "metrics_scrape_jobs", "log_slots", "tracing_protocols",
    }  # fmt: skip
    assert set(ProviderUnitData.model_fields) == released
    # Like the released model, unknown keys are dropped on reading, not refused.
    sent = {"metrics_alert_rules": {}, "log_alert_rules": {}, "dashboards": [],
            "metrics_scrape_jobs": [], "log_slots": [], "include_log_files": ["/var/log/x.log"]}  # fmt: skip
    assert "include_log_files" not in ProviderUnitData.model_validate(sent).model_dump()


def test_exporter_argv_reads_the_state_file_and_the_introspect_on_the_unit_address():
    assert ARGV == [
        "/usr/bin/python3", "-E", "-s", "/usr/local/lib/contrail-charms/exporter/contrail_exporter.py",
        "--listen", "127.0.0.1:9741",
        "--state-file", f"/var/lib/contrail-charms/container-states/{PROJECT}.json",
        "--introspect", "control=http://10.0.0.10:8083",
    ]  # fmt: skip
    v6 = cos.exporter_argv(1, "p", "fd00::10", [cos.IntrospectPort("vrouter-agent", 8085)])
    assert v6[-1] == "vrouter-agent=http://[fd00::10]:8085"
    parser_accepts = contrail_exporter._introspect_target(v6[-1])
    assert parser_accepts == ("vrouter-agent", "http://[fd00::10]:8085")


# -- the service on the host --------------------------------------------------------------


class Installer:
    def __init__(self, host: HostRoot, fail: str = "") -> None:
        self.host, self.fail, self.calls = host, fail, []

    def __call__(self, names) -> None:
        self.calls.append(list(names))
        if self.fail:
            raise cos.ExporterError(self.fail)
        mark_installed(self.host, names)


@pytest.fixture
def host(tmp_path) -> HostRoot:
    return HostRoot(tmp_path)


def service(host, runner, unit="contrail-controller/0", project=PROJECT) -> cos.ExporterService:
    return cos.ExporterService(host, unit, project, runner)


def test_first_ensure_installs_the_package_code_and_a_hardened_service(host):
    runner, install = RecordingRunner(), Installer(host)
    assert service(host, runner).ensure(ARGV, install) is True
    assert install.calls == [["python3-prometheus-client"]]
    assert runner.calls == [
        ["systemctl", "daemon-reload"], ["systemctl", "enable", SERVICE],
        ["systemctl", "restart", SERVICE],
    ]  # fmt: skip
    unit = host.path(UNIT_FILE)
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    text = unit.read_text()
    assert f"ExecStart={' '.join(ARGV)}\n" in text
    for line in ("DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict"):
        assert f"{line}\n" in text
    for name in cos.EXPORTER_SOURCES:
        installed = host.path(cos.EXPORTER_DIR) / name
        assert installed.read_bytes() == (cos._HERE / name).read_bytes()
        assert stat.S_IMODE(installed.stat().st_mode) == 0o644


def test_unchanged_ensure_touches_nothing_and_a_change_restarts(host):
    runner, install = RecordingRunner(), Installer(host)
    service(host, runner).ensure(ARGV, install)
    written = host.path(UNIT_FILE).stat().st_mtime_ns
    assert service(host, runner).ensure(ARGV, install) is False
    assert len(runner.calls) == 3 and len(install.calls) == 1
    assert host.path(UNIT_FILE).stat().st_mtime_ns == written
    moved = cos.exporter_argv(9741, PROJECT, "10.0.0.99", [cos.IntrospectPort("control", 8083)])
    assert service(host, runner).ensure(moved, install) is True
    assert runner.calls[-1] == ["systemctl", "restart", SERVICE]


def test_new_exporter_code_restarts_the_service(host):
    runner, install = RecordingRunner(), Installer(host)
    service(host, runner).ensure(ARGV, install)
    (host.path(cos.EXPORTER_DIR) / "introspect.py").write_text("# an older release\n")
    assert service(host, runner).ensure(ARGV, install) is True
    assert runner.calls[-1] == ["systemctl", "restart", SERVICE]


def test_failures_are_typed_with_the_reason(host):
    with pytest.raises(cos.ExporterError, match="no apt"):
        service(host, RecordingRunner()).ensure(ARGV, Installer(host, fail="no apt"))
    failing = RecordingRunner(returncode=1, stderr="Failed to restart: unit masked")
    with pytest.raises(cos.ExporterError, match=r"systemctl daemon-reload failed \(1\)"):
        service(host, failing).ensure(ARGV, Installer(host))


def test_remove_stops_the_service_and_the_last_one_takes_the_code(host):
    runner, install = RecordingRunner(), Installer(host)
    agent = cos.exporter_argv(9744, "contrail-agent-0", "10.0.0.10", [])
    service(host, runner).ensure(ARGV, install)
    service(host, runner, "contrail-agent/0", "contrail-agent-0").ensure(agent, install)
    runner.calls.clear()
    assert service(host, runner).remove() is True
    assert runner.calls == [
        ["systemctl", "disable", "--now", SERVICE], ["systemctl", "daemon-reload"]
    ]  # fmt: skip
    assert not host.path(UNIT_FILE).exists()
    assert (host.path(cos.EXPORTER_DIR) / "contrail_exporter.py").exists(), (
        "the agent still runs it"
    )
    assert service(host, runner).remove() is False
    service(host, runner, "contrail-agent/0", "contrail-agent-0").remove()
    assert list(host.path(cos.EXPORTER_DIR).iterdir()) == []


def test_remove_tolerates_a_service_systemd_no_longer_knows(host):
    service(host, RecordingRunner()).ensure(ARGV, Installer(host))
    gone = RecordingRunner(returncode=5, stderr="Unit file does not exist.")
    assert service(host, gone).remove() is True
    assert not host.path(UNIT_FILE).exists()


def test_rules_file_is_valid_yaml_in_the_official_format():
    content = yaml.safe_load((cos.RULES_DIR / "contrail.rules").read_text())
    for group in content["groups"]:
        for rule in group["rules"]:
            assert {"alert", "expr", "labels", "annotations"} <= set(rule)
            assert "summary" in rule["annotations"] and "description" in rule["annotations"]
