"""The upgrade facts (`images/upgrade.yaml`): complete for every line, and each citation found
in the cited lines of the cited commit when git copies of the repositories are at hand.

The copies are looked for under $CONTRAIL_MIRRORS (default /work/.mirror), one bare
repository per `owner+name/repo`; without them the citations are skipped, not failed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from contrail_common.images.releases import LINES
from contrail_common.upgrade import facts

MIRRORS = Path(os.environ.get("CONTRAIL_MIRRORS", "/work/.mirror"))


def test_every_fact_cites_every_line_with_a_needle():
    for fact in facts.load().values():
        assert set(fact.source) == set(LINES), fact.id
        assert fact.needle and fact.fact, fact.id
        for cited in fact.source.values():
            where, _, path = cited.partition(":")
            assert where in ("builder", "controller", "vrouter", "deployer"), cited
            assert path, cited


def test_every_source_names_a_full_commit():
    for line, repos in facts.sources().items():
        assert line in LINES
        for where, ref in repos.items():
            repo, _, commit = ref.partition("@")
            assert "/" in repo and len(commit) == 40, (line, where, ref)


def test_the_builder_and_controller_commits_are_the_image_contracts():
    import yaml

    contract = Path(facts.__file__).parents[1] / "images" / "contract.yaml"
    recorded = yaml.safe_load(contract.read_text())["sources"]
    for line, repos in facts.sources().items():
        assert repos["builder"] == recorded[line]["builder"]
        assert repos["controller"] == recorded[line]["controller"]


def test_the_values_the_code_uses():
    assert facts.value("order-controller-first") == ["controller", "openstack", "compute"]
    assert facts.LOADED_MODULE_VERSION == "/sys/module/vrouter/version"
    assert facts.BUILT_MODULE_PATH.format(kernel="6.8.0-31-generic") == (
        "/lib/modules/6.8.0-31-generic/updates/dkms/vrouter.ko"
    )
    assert facts.VERSION_LABEL == "version"
    assert facts.component_minor("rabbitmq", "R2011") == "3.7"
    assert facts.component_minor("rabbitmq", "R24.1") is None  # the build's base decides
    assert facts.component_minor("zookeeper", "R25.1") == "3.7"


def _citations():
    for fact in facts.load().values():
        for line, cited in fact.source.items():
            yield pytest.param(fact, line, cited, id=f"{fact.id}-{line}")


@pytest.mark.parametrize(("fact", "line", "cited"), list(_citations()))
def test_each_citation_says_what_the_fact_says(fact, line, cited):
    where, _, rest = cited.partition(":")
    path, _, lines = rest.partition(":")
    repo, _, commit = facts.sources()[line][where].partition("@")
    git_dir = MIRRORS / repo.replace("/", "+") / "repo"
    if not git_dir.is_dir():
        pytest.skip(f"no git copy of {repo} under {MIRRORS}")
    shown = subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    missing = ("bad object", "invalid object", "not a valid object")
    if shown.returncode != 0 and any(text in shown.stderr for text in missing):
        pytest.skip(f"{repo} copy lacks {commit}")
    assert shown.returncode == 0, f"{repo}@{commit}:{path}: {shown.stderr.strip()}"
    text = shown.stdout.splitlines()
    if lines:
        first, _, last = lines.partition("-")
        text = text[int(first) - 1 : int(last or first)]
    assert any(fact.needle in row for row in text), f"{fact.needle!r} not in {cited} ({line})"
