"""Rehearse a deployment on a machine without Juju: run a bundle's charms in one process.

    tox -e rehearse -- bundles/k8s-contrail.yaml [--overlay FILE] [--config APP.OPTION=VALUE ...]
                       [--secret APP.OPTION=KEY=VALUE[,KEY=VALUE]] [--seed N]

Every unit of the bundle's Contrail charms runs its real charm code (ops.testing) until no
relation data changes; the Charmed Kubernetes charms are stand-ins that write what the real
ones write. Prints a `juju status`-like table, the number of hooks run, and where each unit's
rendered env files can be read. `--secret` creates a Juju user secret with that content and sets
the option to its URI, as an operator does after `juju add-secret` and `juju grant-secret`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "bundle")]

from model import Model  # noqa: E402


def parse_assignment(text: str) -> tuple[str, str, str]:
    target, _, value = text.partition("=")
    app, _, option = target.partition(".")
    if not app or not option or not _:
        raise argparse.ArgumentTypeError(f"{text!r} is not APP.OPTION=VALUE")
    return app, option, value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--overlay", type=Path, action="append", default=[])
    parser.add_argument("--config", type=parse_assignment, action="append", default=[])
    parser.add_argument("--secret", type=parse_assignment, action="append", default=[])
    parser.add_argument("--seed", type=int, default=0, help="shuffle unit and relation order")
    options = parser.parse_args(argv)
    # The charms' own logging and ops.testing's consistency notes are not the rehearsal's output.
    logging.disable(logging.WARNING)

    overrides: dict[str, dict[str, str]] = {}
    for app, option, value in options.config:
        overrides.setdefault(app, {})[option] = value
    model = Model(options.bundle, options.overlay, overrides, seed=options.seed)
    try:
        for app, option, content in options.secret:
            pairs = dict(item.split("=", 1) for item in content.split(",") if "=" in item)
            model.hand_over_secret(app, option, pairs)
        model.deploy(shuffle=bool(options.seed))
        print_status(model)
        return 0 if all(s.name == "active" for s in model.statuses().values()) else 1
    finally:
        model.close()


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
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
            + "  "
            + row[3]
        )
    print(f"\n{model.hooks} hooks run; containers per machine:")
    for machine in model.machines.values():
        if machine.engine.containers:
            print(f"  machine {machine.name}: {len(machine.engine.containers)} containers")
    print("\nRendered env files (one per container):")
    for unit in sorted(model.units, key=lambda u: (u.app, u.index)):
        folder = unit.machine.host.path("/etc/contrail") / unit.name.replace("/", "-")
        if folder.exists():
            print(f"  {unit.name}: {folder}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
