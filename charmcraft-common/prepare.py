"""Build steps every charm shares: copy the shared code in, check the shared parts, pack.

charmcraft only packs what is inside a charm's directory (it drops symlinks that point out of
it), so before tests or packing `lib/contrail_interfaces/` is built from the interface specs
(`interfaces/<name>/v<N>/schema.py` becomes `contrail_interfaces/<name_with_underscores>_v<N>.py`)
and each `charms/<name>/lib/` receives a copy (gitignored) of it and of `lib/contrail_common/`;
and `charms/<name>/requirements.txt` is written from `charmcraft-common/requirements.txt` plus
the charm's own `requirements-extra.txt`, if any.

Commands:
  prepare [CHARM ...]                     build lib/contrail_interfaces and copy the shared
                                          code into every (or the named) charm
  check                                   every charm carries the shared charmcraft keys
                                          unchanged and an up-to-date copy of the shared code
  test-charms [PYTEST ARGS]               run each charm's unit tests against its prepared tree
  clean                                   remove what prepare wrote
  pack                                    prepare, then `charmcraft pack` each charm
                                          (charmcraft with LXD or Multipass)
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
COMMON_DIR = REPO / "charmcraft-common"
SHARED_PACKAGE = "contrail_common"
INTERFACES_PACKAGE = "contrail_interfaces"
# The keys of charmcraft.yaml that every charm must carry exactly as charmcraft-common has them.
SHARED_KEYS = ("type", "platforms", "parts")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


class Repository:
    """Paths of one checkout (a parameter so the steps can be tested on a scratch tree)."""

    def __init__(self, root: Path = REPO) -> None:
        self.root = root
        self.common = root / "charmcraft-common"
        self.charms_dir = root / "charms"

    def charms(self, names: list[str] | None = None) -> list[Path]:
        found = sorted(p.parent for p in self.charms_dir.glob("*/charmcraft.yaml"))
        if names:
            unknown = set(names) - {p.name for p in found}
            if unknown:
                raise SystemExit(f"no such charm: {', '.join(sorted(unknown))}")
            found = [p for p in found if p.name in names]
        return found

    def shared_yaml(self) -> dict:
        return yaml.safe_load((self.common / "charmcraft-common.yaml").read_text())

    def interface_schemas(self) -> dict[str, Path]:
        """Module name -> schema.py, e.g. `contrail_controller_v0`."""
        schemas = {}
        for schema in sorted((self.root / "interfaces").glob("*/v*/schema.py")):
            interface, version = schema.parent.parent.name, schema.parent.name
            schemas[f"{interface.replace('-', '_')}_{version}"] = schema
        return schemas


def build_interfaces_package(repo: Repository, target: Path) -> None:
    package = target / INTERFACES_PACKAGE
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        '"""Relation databag schemas, generated from interfaces/*/v*/schema.py."""\n'
    )
    for module, schema in repo.interface_schemas().items():
        shutil.copy2(schema, package / f"{module}.py")


def prepare(repo: Repository, names: list[str] | None = None) -> None:
    build_interfaces_package(repo, repo.root / "lib")
    for charm in repo.charms(names):
        lib = charm / "lib"
        lib.mkdir(exist_ok=True)
        for package in (SHARED_PACKAGE, INTERFACES_PACKAGE):
            shutil.rmtree(lib / package, ignore_errors=True)
            shutil.copytree(repo.root / "lib" / package, lib / package, ignore=_IGNORED)
        requirements = (repo.common / "requirements.txt").read_text()
        extra = charm / "requirements-extra.txt"
        if extra.exists():
            requirements += extra.read_text()
        (charm / "requirements.txt").write_text(requirements)


def check(repo: Repository) -> list[str]:
    """Every way a charm differs from what it must share; empty when all is well."""
    problems = []
    shared = repo.shared_yaml()
    for charm in repo.charms():
        try:
            own = yaml.safe_load((charm / "charmcraft.yaml").read_text()) or {}
        except yaml.YAMLError as error:
            problems.append(f"{charm.name}: charmcraft.yaml is not valid YAML: {error}")
            continue
        for key in SHARED_KEYS:
            if own.get(key) != shared.get(key):
                problems.append(
                    f"{charm.name}: charmcraft.yaml `{key}` differs from "
                    f"charmcraft-common/charmcraft-common.yaml; copy it from there"
                )
        problems += [f"{charm.name}: {p}" for p in _stale_copies(repo, charm)]
    return problems


def _stale_copies(repo: Repository, charm: Path) -> list[str]:
    source = repo.root / "lib" / SHARED_PACKAGE
    copy = charm / "lib" / SHARED_PACKAGE
    if not copy.is_dir():
        return [f"lib/{SHARED_PACKAGE} is missing: run prepare"]
    comparison = filecmp.dircmp(source, copy, ignore=["__pycache__"])
    if _differs(comparison):
        return [f"lib/{SHARED_PACKAGE} is out of date: run prepare"]
    package = charm / "lib" / INTERFACES_PACKAGE
    for module, schema in repo.interface_schemas().items():
        target = package / f"{module}.py"
        if not target.exists() or not filecmp.cmp(schema, target, shallow=False):
            return [f"lib/{INTERFACES_PACKAGE}/{module}.py is missing or stale: run prepare"]
    return []


def _differs(comparison: filecmp.dircmp) -> bool:
    if comparison.left_only or comparison.right_only or comparison.funny_files:
        return True
    _, mismatch, errors = filecmp.cmpfiles(
        comparison.left, comparison.right, comparison.common_files, shallow=False
    )
    if mismatch or errors:
        return True
    return any(_differs(sub) for sub in comparison.subdirs.values())


def clean(repo: Repository) -> None:
    for charm in repo.charms():
        shutil.rmtree(charm / "lib" / SHARED_PACKAGE, ignore_errors=True)
        shutil.rmtree(charm / "lib" / INTERFACES_PACKAGE, ignore_errors=True)
        (charm / "requirements.txt").unlink(missing_ok=True)


def test_charms(repo: Repository, pytest_args: list[str]) -> int:
    """Each charm's tests see only its prepared tree: a missing copy fails the import."""
    charms = [c for c in repo.charms() if (c / "tests" / "unit").is_dir()]
    if not charms:
        print("no charm has unit tests yet")
        return 0
    failed = []
    for charm in charms:
        env = dict(os.environ, PYTHONPATH=f"{charm / 'lib'}{os.pathsep}{charm / 'src'}")
        argv = [sys.executable, "-m", "pytest", "tests/unit", *pytest_args]
        if subprocess.run(argv, cwd=charm, env=env).returncode != 0:
            failed.append(charm.name)
    if failed:
        print(f"unit tests failed for: {', '.join(failed)}")
    return 1 if failed else 0


def charm_files(charm: Path) -> list[Path]:
    """What `charmcraft pack` writes in a charm directory: one file per platform, named as
    charmcraft 3.3 and later name it, `<name>_<platform>.charm` with `:` made `-`
    (canonical/charmcraft@15966e958a7bc09748cd9aeceb0e24cfa3990bca:
    charmcraft/services/package.py get_charm_name), e.g. `x_ubuntu@22.04-amd64.charm`."""
    project = yaml.safe_load((charm / "charmcraft.yaml").read_text())
    name = project["name"]
    return [
        charm / f"{name}_{platform.replace(':', '-')}.charm" for platform in project["platforms"]
    ]


def pack(repo: Repository) -> int:
    # charmcraft builds each platform in an LXD (or Multipass) container of that base, so the
    # host's distribution does not matter ("In Linux, Charmcraft defaults to LXD to build the
    # charms in a container matching the target bases": documentation.ubuntu.com/charmcraft/
    # latest/howto/manage-charmcraft).
    if shutil.which("charmcraft") is None:
        print(
            "charmcraft is not on PATH: `sudo snap install charmcraft --classic`, and LXD for "
            "it to build in: `sudo snap install lxd && sudo lxd init --auto`."
        )
        return 2
    prepare(repo)
    for charm in repo.charms():
        result = subprocess.run(["charmcraft", "pack", "--verbose"], cwd=charm)
        if result.returncode != 0:
            print(f"charmcraft pack failed for {charm.name}")
            return result.returncode
        # The bundles deploy these files by name.
        for expected in charm_files(charm):
            if not expected.exists():
                print(
                    f"{charm.name}: charmcraft did not write {expected.name}; the bundles need it"
                )
                return 1
    return 0


def main(argv: list[str]) -> int:
    repo = Repository()
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "prepare":
        prepare(repo, args or None)
        return 0
    if command == "check":
        problems = check(repo)
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    if command == "test-charms":
        return test_charms(repo, args)
    if command == "clean":
        clean(repo)
        return 0
    if command == "pack":
        return pack(repo)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
