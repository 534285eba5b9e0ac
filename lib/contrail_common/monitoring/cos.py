"""cos-agent: metrics, alert rules and a dashboard for the COS agent on the unit's machine.

The requirer is the COS agent subordinate (grafana-agent or opentelemetry-collector); the whole
provider side is one unit databag key (`contrail_interfaces.cos_agent_v0`). Rules and the
dashboard are built with `cosl`, the library the COS charms themselves use, so they carry the
same Juju topology labels and dashboard ids as those of any charm on the published `cos_agent`
library.

The requirer puts the scrape jobs of every unit on its machine into one `scrape_configs` list,
and grafana-agent and Prometheus reject a list with two jobs of one name, so each job is named
per application and unit (`scrape_jobs`). Logs need nothing here: the released `cos_agent`
data has no log file field, and both agents tail `/var/log/**/*log` themselves, which covers
`/var/log/contrail`.

Contrail's daemons expose no Prometheus endpoint, so each related unit runs the exporter in
`contrail_exporter.py` as a systemd service bound to 127.0.0.1 (`metrics_port`), which the
agent scrapes as `localhost`. The service is (re)started only when its unit file or the
exporter's code changes, and removed with the relation or the unit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ops
from cosl import DashboardPath40UID, JujuTopology, LZMABase64
from cosl.rules import AlertRules, generic_alert_groups

from contrail_interfaces.cos_agent_v0 import ProviderUnitData

from ..hostpaths import HostRoot
from ..rendering import write_file
from .states import make_dirs, state_file
from .systemd import Runner, systemctl

logger = logging.getLogger(__name__)

ENDPOINT = "cos-agent"
EXPORTER_DIR = "/usr/local/lib/contrail-charms/exporter"
EXPORTER_SOURCES = ("contrail_exporter.py", "introspect.py", "check_contrail_container.py")
SYSTEMD_DIR = "/etc/systemd/system"
SYSTEM_PYTHON = "/usr/bin/python3"
# The exporter's one dependency, from the Ubuntu archive (the system python3 runs it).
EXPORTER_PACKAGE = "python3-prometheus-client"
EXPORTER_PACKAGE_MARKER = "/usr/lib/python3/dist-packages/prometheus_client/__init__.py"
SCRAPE_JOB = "contrail"
# One dashboard for the whole Contrail deployment, sent by every charm with the same uid:
# Grafana's dashboard consumer keeps one per uid, so it shows once however many charms relate.
DASHBOARD_UID_KEY = "contrail-charms"
DASHBOARD_CHARMS = (
    "contrail-controller", "contrail-analytics", "contrail-analyticsdb", "contrail-agent",
    "contrail-kubernetes-master", "contrail-kubernetes-node",
)  # fmt: skip

_HERE = Path(__file__).parent
RULES_DIR = _HERE / "prometheus_alert_rules"
DASHBOARDS_DIR = _HERE / "grafana_dashboards"

# Installs Debian packages by name; raises ExporterError when it cannot.
Installer = Callable[[Sequence[str]], None]


class ExporterError(Exception):
    """The exporter could not be installed or started; the message says what to do."""


@dataclass(frozen=True)
class IntrospectPort:
    """A Contrail service whose introspect port the exporter reads peer sessions from."""

    service: str  # a key of introspect.READERS: `control` or `vrouter-agent`
    port: int


def service_name(project: str) -> str:
    return f"contrail-exporter-{project}.service"


def exporter_argv(
    port: int, project: str, address: str, introspects: Iterable[IntrospectPort]
) -> list[str]:
    argv = [
        SYSTEM_PYTHON, "-E", "-s", f"{EXPORTER_DIR}/contrail_exporter.py",
        "--listen", f"127.0.0.1:{port}", "--state-file", state_file(project),
    ]  # fmt: skip
    host = f"[{address}]" if ":" in address else address
    for target in introspects:
        argv += ["--introspect", f"{target.service}=http://{host}:{target.port}"]
    return argv


def sources_digest() -> str:
    """sha256 over the exporter's code, written into the unit file so new code restarts it."""
    digest = hashlib.sha256()
    for name in EXPORTER_SOURCES:
        digest.update((_HERE / name).read_bytes())
    return digest.hexdigest()


def unit_file_content(unit_name: str, argv: Sequence[str]) -> str:
    """A hardened service: a throw-away unprivileged user, read-only system, no new privileges."""
    return (
        "# Juju managed: the Contrail charms' metrics exporter.\n"
        f"# owner: {unit_name}\n"
        f"# code: {sources_digest()}\n"
        "[Unit]\n"
        f"Description=Contrail metrics exporter for {unit_name}\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        f"ExecStart={' '.join(argv)}\n"
        "DynamicUser=yes\n"
        "NoNewPrivileges=yes\n"
        "ProtectSystem=strict\n"
        "ProtectHome=yes\n"
        "PrivateTmp=yes\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def job_name(app: str, unit: str, job: dict[str, Any]) -> str:
    """`<app>_<job>_<8 hex>`, the published provider's pattern; the hash also covers the unit,
    so two units of one application beside one agent cannot collide either."""
    content = {k: v for k, v in job.items() if k != "job_name"}
    serialized = json.dumps({"unit": unit, "job": content}, sort_keys=True)
    digest = hashlib.blake2b(serialized.encode(), digest_size=4).hexdigest()
    return f"{app}_{job.get('job_name', SCRAPE_JOB)}_{digest}"


def scrape_jobs(app: str, unit: str, port: int) -> list[dict[str, Any]]:
    job: dict[str, Any] = {
        "job_name": SCRAPE_JOB,
        "metrics_path": "/metrics",
        "static_configs": [{"targets": [f"localhost:{port}"]}],
    }
    return [{**job, "job_name": job_name(app, unit, job)}]


def metrics_alert_rules(topology: JujuTopology) -> dict[str, Any]:
    """Our rules plus COS's generic host rules, each tagged with the application's topology."""
    rules = AlertRules(query_type="promql", topology=topology)
    rules.add_path(RULES_DIR, recursive=False)
    rules.add(generic_alert_groups.application_rules, group_name_prefix=topology.identifier)
    return rules.as_dict()


def dashboards() -> list[str]:
    """The dashboards compressed as Grafana's requirers expect, the same bytes from every charm.

    The uid is not per charm (as the published provider makes it) but per product: the six
    charms send one dashboard that already selects by application and unit, and identical
    copies let Grafana keep one. Every charm's tag is on it, so a search by any finds it.
    """
    encoded = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        dashboard = json.loads(path.read_text())
        relative = str(path.relative_to(_HERE))
        dashboard["uid"] = DashboardPath40UID.generate(DASHBOARD_UID_KEY, relative)
        tags = [tag for tag in dashboard.get("tags", []) if not tag.startswith("charm: ")]
        dashboard["tags"] = [*tags, *(f"charm: {name}" for name in DASHBOARD_CHARMS)]
        encoded.append(LZMABase64.compress(json.dumps(dashboard, sort_keys=True)))
    return encoded


def provider_data(charm: ops.CharmBase, port: int) -> ProviderUnitData:
    topology = JujuTopology.from_charm(charm)
    return ProviderUnitData(
        metrics_alert_rules=metrics_alert_rules(topology),
        log_alert_rules={},
        dashboards=dashboards(),
        metrics_scrape_jobs=scrape_jobs(charm.app.name, charm.unit.name, port),
        log_slots=[],
    )


class ExporterService:
    """The exporter's files and systemd service for one unit on the host."""

    def __init__(
        self, host: HostRoot, unit_name: str, project: str, runner: Runner = subprocess.run
    ) -> None:
        self.host, self.unit_name, self.project, self.runner = host, unit_name, project, runner
        self.name = service_name(project)
        self.unit_file = host.path(SYSTEMD_DIR) / self.name

    def ensure(self, argv: Sequence[str], install: Installer) -> bool:
        """Install and (re)start the exporter when anything about it changed."""
        if not self.host.path(EXPORTER_PACKAGE_MARKER).exists():
            install([EXPORTER_PACKAGE])
        changed = self._install_sources()
        changed = write_file(self.unit_file, unit_file_content(self.unit_name, argv), 0o644) or (
            changed
        )
        if changed:
            self._systemctl("daemon-reload")
            self._systemctl("enable", self.name)
            self._systemctl("restart", self.name)
        return changed

    def remove(self) -> bool:
        """Stop and remove this unit's service; the code goes with the machine's last one."""
        if not self.unit_file.exists():
            return False
        self._systemctl("disable", "--now", self.name, tolerate=True)
        self.unit_file.unlink(missing_ok=True)
        self._systemctl("daemon-reload", tolerate=True)
        if not any(self.host.path(SYSTEMD_DIR).glob(service_name("*"))):
            for name in EXPORTER_SOURCES:
                (self.host.path(EXPORTER_DIR) / name).unlink(missing_ok=True)
        return True

    def _install_sources(self) -> bool:
        directory = self.host.path(EXPORTER_DIR)
        make_dirs(directory)
        changed = False
        for name in EXPORTER_SOURCES:
            changed = write_file(directory / name, (_HERE / name).read_bytes(), 0o644) or changed
        return changed

    def _systemctl(self, *args: str, tolerate: bool = False) -> None:
        failure = systemctl(self.runner, *args)
        if failure and tolerate:
            logger.warning("%s", failure)
        elif failure:
            raise ExporterError(failure)


class CosAgent:
    """The cos-agent side of one unit, as `ContrailCharm` drives it."""

    def __init__(
        self,
        charm: ops.CharmBase,
        project: str,
        host: HostRoot,
        port: int,
        runner: Runner = subprocess.run,
    ) -> None:
        self.charm, self.port = charm, port
        self.relations = list(charm.model.relations[ENDPOINT])
        self.service = ExporterService(host, charm.unit.name, project, runner)
        self.project = project

    @property
    def related(self) -> bool:
        return bool(self.relations)

    def update(
        self, address: str, introspects: Iterable[IntrospectPort], install: Installer
    ) -> bool:
        """Run the exporter and publish the data; with no relation, remove the exporter."""
        if not self.related:
            return self.service.remove()
        changed = self.service.ensure(
            exporter_argv(self.port, self.project, address, introspects), install
        )
        self.publish()
        return changed

    def publish(self) -> None:
        value = provider_data(self.charm, self.port).model_dump_json()
        for relation in self.relations:
            databag = relation.data[self.charm.unit]
            if databag.get(ProviderUnitData.KEY) != value:
                databag[ProviderUnitData.KEY] = value

    def remove(self) -> bool:
        return self.service.remove()
