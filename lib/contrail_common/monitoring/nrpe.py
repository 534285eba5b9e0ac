"""nrpe-external-master: one Nagios check per container, plus the HTTP(S) checks a charm declares.

The files are the ones charmhelpers' `contrib.charmsupport.nrpe.NRPE` writes (that module refuses
to import off Ubuntu, so this is an equivalent without it):

- `/etc/nagios/nrpe.d/check_<shortname>.cfg` holding `command[check_<shortname>]=<plugin argv>`;
- `/var/lib/nagios/export/service__<nagios hostname>_check_<shortname>.cfg`, the Nagios service
  the nrpe charm exports (only when that directory exists);
- in this unit's databag on the relation, `monitors` (YAML
  `{monitors: {remote: {nrpe: {<shortname>: {command: check_<shortname>}}}}}`) and `primary`
  (`False` for a subordinate charm, which charm-nrpe reads to find the principal).

Files are written only when their content changes, and `nagios-nrpe-server` is restarted only
then: a status pass (update-status) never rewrites or restarts anything.

Container checks run `check_contrail_container`, which reads the container states the charm
records on every status pass (`states.record_container_states`) from a world-readable file: the
`nagios` user needs neither root nor a sudoers entry, and never talks to the container engine.
"""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import ops
import yaml

from ..config import is_nagios_name
from ..hostpaths import HostRoot
from ..rendering import write_file
from .states import make_dirs, state_file
from .systemd import Runner, systemctl

logger = logging.getLogger(__name__)

ENDPOINT = "nrpe-external-master"
NRPE_CONF_DIR = "/etc/nagios/nrpe.d"
EXPORT_DIR = "/var/lib/nagios/export"
PLUGIN_PATH = "/usr/local/lib/nagios/plugins/check_contrail_container"
PLUGIN_SOURCE = Path(__file__).with_name("check_contrail_container.py")
CHECK_HTTP = "/usr/lib/nagios/plugins/check_http"
NRPE_SERVICE = "nagios-nrpe-server"

# charmhelpers allows `[A-Za-z0-9-_.@]+`; these names also become file names.
_SHORTNAME = re.compile(r"[A-Za-z0-9_-]+")
_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Check:
    """One Nagios check: `shortname` names it, `argv` is the plugin command run by nrpe."""

    shortname: str
    description: str
    argv: tuple[str, ...]

    def __post_init__(self) -> None:
        if not _SHORTNAME.fullmatch(self.shortname):
            raise ValueError(f"check name {self.shortname!r} must match {_SHORTNAME.pattern}")
        if not self.argv:
            raise ValueError(f"check {self.shortname} has no command")

    @property
    def command(self) -> str:
        """The nrpe command name, `check_<shortname>` as charmhelpers names it."""
        return f"check_{self.shortname}"


@dataclass(frozen=True)
class HttpCheck:
    """An HTTP endpoint of the unit checked with nagios-plugins' `check_http`.

    `tls` marks an endpoint that always speaks HTTPS (the web UI); the others follow the
    charm's TLS setting. `host` checks another address than the unit's (the controller's VIP).
    """

    name: str
    port: int
    path: str = "/"
    tls: bool = False
    host: str = ""


@dataclass(frozen=True)
class NagiosHost:
    """How Nagios knows this unit: host name, unit label in descriptions, service groups."""

    hostname: str
    unit_label: str
    servicegroups: str


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def check_prefix(app_name: str) -> str:
    """`contrail_<app>` for every check of an application: `contrail-controller` ->
    `contrail_controller`, `tf-agent` -> `contrail_tf_agent`."""
    return "contrail_" + _slug(app_name.removeprefix("contrail-"))


def nagios_host(
    context: str, servicegroups: str, unit_name: str, remote: Iterable[Mapping[str, str]] = ()
) -> NagiosHost:
    """charmhelpers' rules: the host name the nrpe unit sent (`nagios_hostname`), else
    `<context>-<unit with / as ->`; descriptions name `<nagios_host_context>:<unit>`; the
    service groups default to the context.

    Both remote values end up in file names and Nagios object definitions: one that is not a
    Nagios name (as `nagios_context` must be) is ignored, with a warning."""
    hostname = host_context = ""
    for data in remote:
        sent = data.get("nagios_hostname", "")
        if not sent:
            continue
        if not _HOSTNAME.fullmatch(sent):
            logger.warning("ignoring invalid nagios_hostname %r from the nrpe unit", sent)
            continue
        hostname, host_context = sent, data.get("nagios_host_context", "")
        if not is_nagios_name(host_context):
            logger.warning(
                "ignoring invalid nagios_host_context %r from the nrpe unit", host_context
            )
            host_context = ""
        break
    if not hostname:
        unit = unit_name.replace("/", "-")
        hostname = f"{context}-{unit}" if context else unit
    label = f"{host_context}:{unit_name}" if host_context else unit_name
    return NagiosHost(hostname, label, servicegroups or context)


def container_checks(
    prefix: str, project: str, containers: Iterable[str], unit_label: str
) -> list[Check]:
    """One check per container (service), each reading the unit's recorded states."""
    return [
        Check(
            f"{prefix}_{_slug(name)}",
            f"container {name} {{{unit_label}}}",
            (PLUGIN_PATH, "--state-file", state_file(project), "--container", name),
        )
        for name in containers
    ]


def http_checks(
    prefix: str, address: str, checks: Iterable[HttpCheck], unit_label: str, tls: bool = False
) -> list[Check]:
    """`check_http -H <address> -p <port> -u <path>`, with `-S` for HTTPS endpoints."""
    result = []
    for check in checks:
        secure = tls or check.tls
        argv = [CHECK_HTTP, "-H", check.host or address, "-p", str(check.port), "-u", check.path]
        if secure:
            argv.append("-S")
        scheme = "HTTPS" if secure else "HTTP"
        result.append(
            Check(
                f"{prefix}_http_{_slug(check.name)}",
                f"{scheme} {check.name} on port {check.port} {{{unit_label}}}",
                tuple(argv),
            )
        )
    return result


def _owner_line(owner: str) -> str:
    return f"# owner: {owner}\n"


def check_file_content(check: Check, servicegroups: str, owner: str) -> str:
    """`/etc/nagios/nrpe.d/check_<shortname>.cfg`, as charmhelpers writes it, plus the owner."""
    text = f"# check {check.shortname}\n" + _owner_line(owner)
    if servicegroups:
        text += (
            "# The following header was added automatically by juju\n"
            "# Modifying it will affect nagios monitoring and alerting\n"
            f"# servicegroups: {servicegroups}\n"
        )
    return text + f"command[{check.command}]={shlex.join(check.argv)}\n"


def service_definition(check: Check, host: NagiosHost, owner: str) -> str:
    """The exported Nagios service, charmhelpers' template plus the owner."""
    return (
        "\n"
        "#---------------------------------------------------\n"
        "# This file is Juju managed\n"
        f"{_owner_line(owner)}"
        "#---------------------------------------------------\n"
        "define service {\n"
        "    use                             active-service\n"
        f"    host_name                       {host.hostname}\n"
        f"    service_description             {host.hostname}[{check.shortname}] "
        f"{check.description}\n"
        f"    check_command                   check_nrpe!{check.command}\n"
        f"    servicegroups                   {host.servicegroups}\n"
        "}\n"
    )


def monitors_yaml(checks: Iterable[Check]) -> str:
    """The `monitors` value charm-nrpe merges into what it sends Nagios."""
    nrpe = {check.shortname: {"command": check.command} for check in checks}
    return yaml.safe_dump({"monitors": {"remote": {"nrpe": nrpe}}}, default_flow_style=False)


class NrpeFiles:
    """The nrpe and export files of one unit's checks on the host.

    A unit's files are those named with its check prefix whose owner line names the unit, so
    units of other applications on the same machine are never touched.
    """

    def __init__(
        self, host: HostRoot, owner: str, prefix: str, runner: Runner = subprocess.run
    ) -> None:
        self.host, self.owner, self.prefix, self.runner = host, owner, prefix, runner
        self.conf_dir = host.path(NRPE_CONF_DIR)
        self.export_dir = host.path(EXPORT_DIR)

    @property
    def nrpe_installed(self) -> bool:
        """nagios-nrpe-server's drop-in folder exists (the nrpe charm installed it)."""
        return self.conf_dir.is_dir()

    def owned(self) -> list[Path]:
        """This unit's check and service files currently on the host."""
        patterns = [(self.conf_dir, f"check_{self.prefix}_*.cfg")]
        patterns.append((self.export_dir, f"service__*_check_{self.prefix}_*.cfg"))
        found = []
        for directory, pattern in patterns:
            if not directory.is_dir():
                continue
            for path in sorted(directory.glob(pattern)):
                try:
                    if _owner_line(self.owner) in path.read_text():
                        found.append(path)
                except (OSError, UnicodeDecodeError):
                    continue
        return found

    def write(self, checks: Sequence[Check], nagios: NagiosHost) -> bool:
        """Make the host hold exactly these checks; restart nrpe if anything changed.

        Does nothing (and returns False) until nrpe is installed, as charmhelpers does.
        """
        if not self.nrpe_installed:
            logger.info("%s is missing: nrpe is not installed yet", NRPE_CONF_DIR)
            return False
        if any(check.argv[0] == PLUGIN_PATH for check in checks):
            self.install_plugin()
        wanted: dict[Path, str] = {}
        for check in checks:
            wanted[self.conf_dir / f"{check.command}.cfg"] = check_file_content(
                check, nagios.servicegroups, self.owner
            )
            if self.export_dir.is_dir():
                name = f"service__{nagios.hostname}_{check.command}.cfg"
                wanted[self.export_dir / name] = service_definition(check, nagios, self.owner)
        changed = False
        for path, content in wanted.items():
            changed = write_file(path, content, 0o644) or changed
        for path in self.owned():
            if path not in wanted:
                path.unlink(missing_ok=True)
                changed = True
        if changed:
            self.restart()
        return changed

    def remove_all(self) -> bool:
        """Remove every check of this unit (relation gone, unit removed); restart if any."""
        stale = self.owned()
        for path in stale:
            path.unlink(missing_ok=True)
        self._remove_unused_plugin()
        if stale:
            self.restart()
        return bool(stale)

    def install_plugin(self) -> bool:
        plugin = self.host.path(PLUGIN_PATH)
        make_dirs(plugin.parent)
        return write_file(plugin, PLUGIN_SOURCE.read_bytes(), 0o755)

    def _remove_unused_plugin(self) -> None:
        """The plugin is shared by every Contrail unit of the machine: remove it with the last
        check that runs it."""
        plugin = self.host.path(PLUGIN_PATH)
        if not plugin.exists():
            return
        if self.conf_dir.is_dir():
            for path in self.conf_dir.glob("*.cfg"):
                try:
                    if PLUGIN_PATH in path.read_text():
                        return
                except (OSError, UnicodeDecodeError):
                    continue
        plugin.unlink(missing_ok=True)

    def restart(self) -> None:
        """Restart nagios-nrpe-server; a failure is logged, never raised."""
        failure = systemctl(self.runner, "restart", NRPE_SERVICE)
        if failure:
            logger.warning("%s", failure)


def publish(
    relations: Iterable[ops.Relation],
    unit: ops.Unit,
    checks: Optional[Iterable[Check]],
    primary: bool,
) -> None:
    """This unit's `primary` and (unless `checks` is None) `monitors` on every relation."""
    settings = {"primary": str(primary)}
    if checks is not None:
        settings["monitors"] = monitors_yaml(checks)
    for relation in relations:
        databag = relation.data[unit]
        for key, value in settings.items():
            if databag.get(key) != value:
                databag[key] = value


class Nrpe:
    """The nrpe-external-master side of one unit, as `ContrailCharm` drives it."""

    def __init__(
        self,
        charm: ops.CharmBase,
        project: str,
        host: HostRoot,
        runner: Runner = subprocess.run,
    ) -> None:
        self.relations = list(charm.model.relations[ENDPOINT])
        self.unit = charm.unit
        self.primary = not charm.meta.subordinate
        self.project, self.host = project, host
        self.prefix = check_prefix(charm.app.name)
        self.files = NrpeFiles(host, charm.unit.name, self.prefix, runner)

    @property
    def related(self) -> bool:
        return bool(self.relations)

    def update(
        self,
        context: str,
        servicegroups: str,
        containers: Iterable[str],
        http: Iterable[HttpCheck] = (),
        address: str = "",
        tls: bool = False,
    ) -> bool:
        """Write the checks and publish them; with no relation, remove them instead."""
        if not self.related:
            return self.remove()
        remote = [relation.data[unit] for relation in self.relations for unit in relation.units]
        nagios = nagios_host(context, servicegroups, self.unit.name, remote)
        checks = container_checks(self.prefix, self.project, containers, nagios.unit_label)
        if address:
            checks += http_checks(self.prefix, address, http, nagios.unit_label, tls)
        changed = self.files.write(checks, nagios)
        # As charmhelpers: no `monitors` before nrpe is installed to run them.
        installed = self.files.nrpe_installed
        publish(self.relations, self.unit, checks if installed else None, self.primary)
        return changed

    def remove(self) -> bool:
        """Remove this unit's checks."""
        return self.files.remove_all()
