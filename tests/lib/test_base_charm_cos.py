"""cos-agent as every charm inherits it from ContrailCharm, tested once on the probe charm."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
from ops import testing

sys.path.insert(0, str(Path(__file__).parent / "probe" / "src"))

from probe_charm import IMAGES, ProbeCharm

from contrail_common.monitoring import cos
from contrail_common.testing import charm_fixtures, mark_installed
from contrail_interfaces.cos_agent_v0 import ProviderUnitData

TAG = "R24.1-latest"
PROJECT = "contrail-probe-0"
SERVICE = f"contrail-exporter-{PROJECT}.service"
UNIT_FILE = f"/etc/systemd/system/{SERVICE}"
STATE_FILE = f"/var/lib/contrail-charms/container-states/{PROJECT}.json"

engine, host, scratch_host, ctx = charm_fixtures(
    ProbeCharm, lambda: IMAGES, "R24.1-build42", ["10.0.0.10"]
)


@pytest.fixture
def apt(monkeypatch, host) -> list[list[str]]:
    """Records the packages the charm installs (and leaves what apt leaves)."""
    calls: list[list[str]] = []

    def install(_self, names):
        calls.append(list(names))
        mark_installed(host, names)

    monkeypatch.setattr(ProbeCharm, "install_packages", install)
    return calls


def peer() -> testing.PeerRelation:
    return testing.PeerRelation("probe-cluster")


def cos_relation() -> testing.Relation:
    """The COS agent subordinate on this unit's machine (container scope: one remote unit)."""
    return testing.Relation(
        "cos-agent", remote_app_name="grafana-agent", remote_units_data={0: {}}
    )


def state(*relations, config=None) -> testing.State:
    return testing.State(
        leader=True,
        config={"image-tag": TAG} if config is None else config,
        relations=[peer(), *relations],
    )


def test_joined_publishes_the_data_and_runs_the_exporter(ctx, host, systemctl_runner, apt):
    out = ctx.run(ctx.on.install(), state())
    relation = cos_relation()
    joined = dataclasses.replace(out, relations={*out.relations, relation})
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), joined)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    raw = out.get_relation(relation.id).local_unit_data[ProviderUnitData.KEY]
    data = ProviderUnitData.model_validate_json(raw)
    assert data.metrics_scrape_jobs == cos.scrape_jobs("contrail-probe", "contrail-probe/0", 9799)
    # Only the released requirer's fields: it would drop anything else without a word.
    assert set(json.loads(raw)) <= set(ProviderUnitData.model_fields)
    assert data.log_slots == [] and data.log_alert_rules == {}
    labels = {r["labels"]["juju_application"] for g in data.metrics_alert_rules["groups"]
              for r in g["rules"]}  # fmt: skip
    assert labels == {"contrail-probe"}
    assert data.dashboards == cos.dashboards()
    assert apt == [["python3-prometheus-client"]]
    assert systemctl_runner.calls == [
        ["systemctl", "daemon-reload"], ["systemctl", "enable", SERVICE],
        ["systemctl", "restart", SERVICE],
    ]  # fmt: skip
    unit = host.path(UNIT_FILE).read_text()
    assert "--introspect control=http://192.0.2.0:8083" in unit  # the binding address
    assert "--listen 127.0.0.1:9799" in unit
    assert json.loads(host.path(STATE_FILE).read_text())["containers"]["probe-api"] == {
        "state": "running", "exit_code": None, "one_shot": False
    }  # fmt: skip


def test_update_status_records_states_and_changes_nothing_else(
    ctx, engine, host, systemctl_runner, apt
):
    relation = cos_relation()
    out = ctx.run(ctx.on.config_changed(), state(relation))
    written = host.path(UNIT_FILE).stat().st_mtime_ns
    engine.crash(PROJECT, "probe-api", exit_code=4)
    out = ctx.run(ctx.on.update_status(), out)
    out = ctx.run(ctx.on.config_changed(), out)
    assert len(systemctl_runner.calls) == 3 and len(apt) == 1
    assert host.path(UNIT_FILE).stat().st_mtime_ns == written
    recorded = json.loads(host.path(STATE_FILE).read_text())["containers"]["probe-api"]
    assert recorded == {"state": "exited", "exit_code": 4, "one_shot": False}


def test_the_exporter_runs_before_the_unit_is_ready(ctx, host, systemctl_runner, apt):
    relation = cos_relation()
    out = ctx.run(ctx.on.config_changed(), state(relation, config={}))
    assert out.unit_status.name == "blocked"  # no image-tag
    assert ProviderUnitData.KEY in out.get_relation(relation.id).local_unit_data
    assert host.path(UNIT_FILE).exists()
    assert not host.path(STATE_FILE).exists(), "no containers yet: nothing recorded"


def test_a_failed_install_blocks_naming_it_and_update_status_retries(
    ctx, monkeypatch, engine, host, systemctl_runner, apt
):
    def broken_apt(_self, names):
        raise cos.ExporterError("could not install python3-prometheus-client: 404 (check ...)")

    monkeypatch.setattr(ProbeCharm, "install_packages", broken_apt)
    out = ctx.run(ctx.on.config_changed(), state(cos_relation()))
    assert out.unit_status == testing.BlockedStatus(
        "cos-agent: could not install python3-prometheus-client: 404 (check ...)"
    )
    assert f"{PROJECT}-probe-api" in engine.containers, "the workload is deployed all the same"
    assert systemctl_runner.calls == []
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.name == "blocked", "still failing: still shown"
    monkeypatch.setattr(
        ProbeCharm, "install_packages", lambda _self, names: mark_installed(host, names)
    )
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert host.path(UNIT_FILE).exists() and len(systemctl_runner.calls) == 3


def test_broken_and_remove_take_the_exporter_and_the_states_away(ctx, host, systemctl_runner, apt):
    relation = cos_relation()
    out = ctx.run(ctx.on.config_changed(), state(relation))
    assert host.path(STATE_FILE).exists()
    out = ctx.run(ctx.on.relation_broken(out.get_relation(relation.id)), out)
    assert not host.path(UNIT_FILE).exists() and not host.path(STATE_FILE).exists()
    assert systemctl_runner.calls[-2:] == [
        ["systemctl", "disable", "--now", SERVICE], ["systemctl", "daemon-reload"]
    ]  # fmt: skip
    assert out.unit_status.name == "active"
    again = ctx.run(ctx.on.config_changed(), state(cos_relation()))
    assert host.path(UNIT_FILE).exists()
    ctx.run(ctx.on.remove(), again)
    assert not host.path(UNIT_FILE).exists() and not host.path(STATE_FILE).exists()
    assert not (host.path(cos.EXPORTER_DIR) / "contrail_exporter.py").exists()


def test_without_the_relation_nothing_is_installed(ctx, host, systemctl_runner, apt):
    out = ctx.run(ctx.on.install(), state())
    ctx.run(ctx.on.update_status(), out)
    assert systemctl_runner.calls == [] and apt == []
    assert not host.path("/etc/systemd/system").exists()
    assert not host.path("/var/lib/contrail-charms").exists()
