"""Rehearse a deployment on a machine without Juju: run a bundle's charms in one process.

    tox -e rehearse -- bundles/k8s-contrail.yaml [--overlay FILE] [--config APP.OPTION=VALUE ...]
                       [--secret APP.OPTION=KEY=VALUE[,KEY=VALUE]] [--seed N]

Every unit of the bundle's Contrail charms runs its real charm code (ops.testing) until no
relation data changes; the Charmed Kubernetes charms are stand-ins that write what the real
ones write. Prints where each application's images come from (release line, registry, tag), a
`juju status`-like table, the number of hooks run, and where each unit's rendered env files can
be read. Input it cannot run (a missing file, an application, option or endpoint the bundle
does not have, a value of the wrong type) is one line on stderr and exit code 2. `--secret` creates a Juju user secret with that content and sets
the option to its URI, as an operator does after `juju add-secret` and `juju grant-secret`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "bundle")]

from front_end import (  # noqa: E402
    RehearsalError,
    assignment,
    charms_of,
    config_value,
    load_bundle,
    release_of,
    secret_content,
)
from model import Model  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--overlay", type=Path, action="append", default=[])
    parser.add_argument("--config", action="append", default=[], metavar="APP.OPTION=VALUE")
    parser.add_argument("--secret", action="append", default=[], metavar="APP.OPTION=K=V[,K=V]")
    parser.add_argument("--seed", type=int, default=0, help="shuffle unit and relation order")
    options = parser.parse_args(argv)
    # The charms' own logging and ops.testing's consistency notes are not the rehearsal's output.
    logging.disable(logging.WARNING)
    try:
        return rehearse(options)
    except RehearsalError as error:
        print(f"rehearse: {error}", file=sys.stderr)
        return 2


def rehearse(options: argparse.Namespace) -> int:
    charms = charms_of(options.bundle, load_bundle(options.bundle, options.overlay))
    overrides: dict[str, dict[str, object]] = {}
    for text in options.config:
        app, option, value = assignment(text)
        overrides.setdefault(app, {})[option] = config_value(app, option, value, charms)
    secrets = []
    for text in options.secret:
        app, option, content = assignment(text)
        secrets.append((app, option, secret_content(app, option, content, charms)))
    model = Model(options.bundle, options.overlay, overrides, seed=options.seed)
    try:
        for app, option, content in secrets:
            model.hand_over_secret(app, option, content)
        model.deploy(shuffle=bool(options.seed))
        print_releases(model)
        print_status(model)
        return 0 if all(s.name == "active" for s in model.statuses().values()) else 1
    finally:
        model.close(keep=True)  # the env files printed stay readable


def print_releases(model: Model) -> None:
    """Where each application's images come from: the release line, registry and tag."""
    rows = [("App", "Line", "Registry", "Tag")]
    for app in sorted((a for a in model.apps.values() if a.charm), key=lambda a: a.name):
        options = (app.meta.get("config") or {}).get("options") or {}
        defaults = {name: spec.get("default") for name, spec in options.items()}
        rows.append((app.name, *release_of(app.options, defaults)))
    print_table(rows)
    print()


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, row[-1]]))


def print_status(model: Model) -> None:
    rows = [("Unit", "Machine", "Workload", "Message")]
    for unit in sorted(model.units, key=lambda u: (u.app, u.index)):
        status = unit.status
        rows.append(
            (
                unit.name + ("*" if unit.leader else ""),
                unit.machine.name,
                status.name,
                status.message,
            )
        )
    print_table(rows)
    print(f"\n{model.hooks} hooks run; containers per machine:")
    for machine in model.machines.values():
        if machine.engine.containers:
            print(f"  machine {machine.name}: {len(machine.engine.containers)} containers")
    print(f"\nRendered env files (one per container), kept until `rm -r {model.workdir}`:")
    for unit in sorted(model.units, key=lambda u: (u.app, u.index)):
        folder = unit.machine.host.path("/etc/contrail") / unit.name.replace("/", "-")
        if folder.exists():
            print(f"  {unit.name}: {folder}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
