"""The shared build step on a scratch checkout: copy-in, the shared-keys check, cleaning."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def load_prepare():
    spec = importlib.util.spec_from_file_location(
        "prepare", REPO / "charmcraft-common" / "prepare.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["prepare"] = module
    spec.loader.exec_module(module)
    return module


prepare = load_prepare()


@pytest.fixture
def scratch(tmp_path: Path):
    """A checkout with the real lib and common files, one interface and one charm."""
    shutil.copytree(REPO / "lib", tmp_path / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "charmcraft-common", tmp_path / "charmcraft-common")
    schema = tmp_path / "interfaces" / "contrail-controller" / "v0" / "schema.py"
    schema.parent.mkdir(parents=True)
    schema.write_text(
        "from pydantic import BaseModel\n\nclass ProviderAppData(BaseModel):\n    auth_mode: str = 'rbac'\n"
    )
    charm = tmp_path / "charms" / "contrail-probe"
    (charm / "src").mkdir(parents=True)
    shared = yaml.safe_load(
        (tmp_path / "charmcraft-common" / "charmcraft-common.yaml").read_text()
    )
    (charm / "charmcraft.yaml").write_text(yaml.safe_dump({"name": "contrail-probe", **shared}))
    (charm / "requirements-extra.txt").write_text("lightkube>=0.15\n")
    return prepare.Repository(tmp_path)


def test_prepare_copies_the_shared_code_and_check_passes(scratch):
    charm = scratch.charms_dir / "contrail-probe"
    assert prepare.check(scratch) == [
        "contrail-probe: lib/contrail_common is missing: run prepare"
    ]
    prepare.prepare(scratch)
    assert (charm / "lib" / "contrail_common" / "containers" / "engine.py").exists()
    assert (charm / "lib" / "contrail_interfaces" / "contrail_controller_v0.py").exists()
    requirements = (charm / "requirements.txt").read_text()
    assert "ops>=" in requirements and "lightkube>=0.15" in requirements
    assert prepare.check(scratch) == []


def test_check_finds_a_stale_copy(scratch):
    prepare.prepare(scratch)
    (scratch.root / "lib" / "contrail_common" / "status.py").write_text("# changed\n")
    assert prepare.check(scratch) == [
        "contrail-probe: lib/contrail_common is out of date: run prepare"
    ]
    prepare.prepare(scratch)
    schema = scratch.root / "interfaces" / "contrail-controller" / "v0" / "schema.py"
    schema.write_text(schema.read_text() + "# changed\n")
    assert "contrail_controller_v0.py is missing or stale" in prepare.check(scratch)[0]


def test_check_finds_changed_shared_keys(scratch):
    prepare.prepare(scratch)
    path = scratch.charms_dir / "contrail-probe" / "charmcraft.yaml"
    own = yaml.safe_load(path.read_text())
    own["platforms"] = {"ubuntu@20.04:amd64": None}
    own["parts"]["charm"]["charm-requirements"] = []
    path.write_text(yaml.safe_dump(own))
    problems = prepare.check(scratch)
    assert len(problems) == 2
    assert "`platforms` differs" in problems[0] and "`parts` differs" in problems[1]


def test_clean_removes_what_prepare_wrote(scratch):
    prepare.prepare(scratch)
    prepare.clean(scratch)
    charm = scratch.charms_dir / "contrail-probe"
    assert not (charm / "lib" / "contrail_common").exists()
    assert not (charm / "requirements.txt").exists()


def test_interfaces_package_is_built_in_lib_too(scratch):
    prepare.prepare(scratch)
    assert (scratch.root / "lib" / "contrail_interfaces" / "contrail_controller_v0.py").exists()


def test_charm_tests_only_see_the_prepared_tree(scratch):
    charm = scratch.charms_dir / "contrail-probe"
    (charm / "tests" / "unit").mkdir(parents=True)
    (charm / "tests" / "unit" / "test_import.py").write_text(
        "import contrail_common.status\n\ndef test_import():\n    assert contrail_common.status.combine\n"
    )
    assert prepare.test_charms(scratch, ["-q", "-p", "no:cacheprovider"]) == 1, "no copy yet"
    prepare.prepare(scratch)
    assert prepare.test_charms(scratch, ["-q", "-p", "no:cacheprovider"]) == 0


def test_unknown_charm_name_is_refused(scratch):
    with pytest.raises(SystemExit, match="no such charm: nope"):
        prepare.prepare(scratch, ["nope"])
