"""The pack step up to the charmcraft call: `tox -e pack` itself (its deps and commands), then
`prepare.py pack`, on a scratch copy of the checkout, with a stand-in `charmcraft` on PATH that
records how it was called and writes the files the real one writes."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# What `tox -e pack` reads.
COPIED = ("tox.ini", "charmcraft-common", "lib/contrail_common", "interfaces", "charms", "bundles")
BUILT = shutil.ignore_patterns("__pycache__", "*.pyc", "*.charm", "build")


def left_for_pack(directory: str, names: list[str]) -> set[str]:
    """Build output, and what prepare writes into a charm, which the pack step must write."""
    ignored = set(BUILT(directory, names))
    if "charmcraft.yaml" in names:
        ignored |= {"lib", "requirements.txt"} & set(names)
    return ignored


# charmcraft 3.3 and later write one `<name>_<platform>.charm` per platform, the platform's
# `:` made `-` (canonical/charmcraft@15966e958a7bc09748cd9aeceb0e24cfa3990bca:
# charmcraft/services/package.py get_charm_name; tests/spread/smoketests/multi-base/
# one-platform/expected-charms.txt: `test-charm_ubuntu@22.04-amd64.charm`).
STAND_IN = """#!{python}
import json, sys
from pathlib import Path
import yaml

here = Path.cwd()
lib = here / "lib"
with open({record!r}, "a") as out:
    out.write(json.dumps({{
        "argv": sys.argv[1:],
        "cwd": str(here),
        "lib": sorted(p.name for p in lib.iterdir()) if lib.is_dir() else [],
        "requirements": (here / "requirements.txt").is_file(),
    }}) + "\\n")
if {fail!r}:
    sys.exit(3)
if {write!r}:
    project = yaml.safe_load((here / "charmcraft.yaml").read_text())
    for platform in project["platforms"]:
        name = project["name"] + "_" + platform.replace(":", "-") + ".charm"
        (here / name).write_bytes(b"stand-in")
"""


def load_prepare():
    spec = importlib.util.spec_from_file_location(
        "prepare", REPO / "charmcraft-common" / "prepare.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prepare = load_prepare()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    for name in COPIED:
        source, target = REPO / name, root / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=left_for_pack)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return root


def stand_in_charmcraft(directory: Path, *, fail: bool = False, write: bool = True) -> Path:
    """A `charmcraft` in `directory`; returns the file it appends one JSON line per call to."""
    directory.mkdir(parents=True, exist_ok=True)
    record = directory / "calls.jsonl"
    script = directory / "charmcraft"
    script.write_text(
        STAND_IN.format(python=sys.executable, record=str(record), fail=fail, write=write)
    )
    script.chmod(0o755)
    return record


def calls(record: Path) -> list[dict]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


def charm_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in (root / "charms").glob("*/charmcraft.yaml"))


def deployed_charm_files(root: Path) -> set[str]:
    """`<charm dir>/<file>` of every local .charm a bundle or overlay deploys."""
    files = set()
    for bundle in sorted((root / "bundles").rglob("*.yaml")):
        for app in (yaml.safe_load(bundle.read_text()).get("applications") or {}).values():
            charm = Path(str((app or {}).get("charm", "")))
            if charm.suffix == ".charm":
                files.add(f"{charm.parent.name}/{charm.name}")
    return files


def tox_environment(stand_in_dir: Path) -> dict[str, str]:
    """This environment minus the tox run we are inside of, with the stand-in first on PATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TOX_") and key not in {"VIRTUAL_ENV", "PYTHONPATH"}
    }
    env["PATH"] = f"{stand_in_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_tox_pack_reaches_charmcraft_in_every_charm_and_writes_what_the_bundles_deploy(
    checkout, tmp_path
):
    if importlib.util.find_spec("tox") is None:
        pytest.fail("tox is not installed here: run this suite with `tox -e unit`")
    record = stand_in_charmcraft(tmp_path / "bin")
    result = subprocess.run(
        [sys.executable, "-m", "tox", "-c", str(checkout / "tox.ini"), "-e", "pack"],
        env=tox_environment(tmp_path / "bin"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"tox -e pack failed:\n{result.stdout}\n{result.stderr}"
    made = calls(record)
    assert [Path(call["cwd"]) for call in made] == charm_dirs(checkout)
    for call in made:
        assert call["argv"] == ["pack", "--verbose"]
        assert call["lib"] == ["contrail_common", "contrail_interfaces"], call["cwd"]
        assert call["requirements"], f"{call['cwd']}: no requirements.txt for charmcraft"
    written = {f"{p.parent.name}/{p.name}" for p in (checkout / "charms").glob("*/*.charm")}
    missing = deployed_charm_files(checkout) - written
    assert not missing, f"the bundles deploy files pack does not write: {sorted(missing)}"


def test_pack_names_the_charm_charmcraft_failed_for(checkout, tmp_path, monkeypatch, capsys):
    record = stand_in_charmcraft(tmp_path / "bin", fail=True)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert prepare.pack(prepare.Repository(checkout)) == 3
    assert len(calls(record)) == 1, "pack stops at the first failure"
    assert "charmcraft pack failed for contrail-agent" in capsys.readouterr().out


def test_pack_fails_when_charmcraft_writes_no_charm_file(checkout, tmp_path, monkeypatch, capsys):
    stand_in_charmcraft(tmp_path / "bin", write=False)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert prepare.pack(prepare.Repository(checkout)) == 1
    assert "did not write contrail-agent_ubuntu@22.04-amd64.charm" in capsys.readouterr().out


def test_pack_without_charmcraft_says_how_to_install_it(checkout, tmp_path, monkeypatch, capsys):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert prepare.pack(prepare.Repository(checkout)) == 2
    assert "snap install charmcraft --classic" in capsys.readouterr().out
