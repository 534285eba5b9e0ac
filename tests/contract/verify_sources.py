"""Check that every source `contract.yaml`, `tls.yaml` and `membership.yaml` cite exists and
mentions what the rule is about.

A maintainer tool beside derive_reads.py, run against git mirrors of the cited repositories:

    python tests/contract/verify_sources.py OWNER/REPO=GIT_DIR [...]

For each rule and line it reads the cited commit's file and looks, in the cited lines (or the
whole file when none are cited), for the rule's variable or the stem the script builds it
from (`find_my_ip_and_order_for_node KAFKA` reads KAFKA_NODES).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

IMAGES = Path(__file__).parents[2] / "lib" / "contrail_common" / "images"
CONTRACT = IMAGES / "contract.yaml"
TLS = IMAGES / "tls.yaml"
MEMBERSHIP = IMAGES / "membership.yaml"


def main(argv: list[str]) -> int:
    mirrors = dict(arg.split("=", 1) for arg in argv[1:])
    data = yaml.safe_load(CONTRACT.read_text())
    failures = 0
    tls = yaml.safe_load(TLS.read_text())
    entries = [(r["variable"], _needles(r["variable"]), r["source"]) for r in data["rules"]]
    entries += [
        (e["variables"][0], _needles(e["variables"][0]), e["source"])
        for e in data["exempt"]
        if "source" in e
    ]
    entries += [(v["variable"], _needles(v["variable"]), v["source"]) for v in tls["variables"]]
    entries += [(f["about"], {f["needle"]}, f["source"]) for f in tls["facts"]]
    for variable, needles, sources in entries:
        for line, cited in sources.items():
            where, path = cited.split(":", 1)
            source = f"{data['sources'][line][where]}:{path}"
            failures += _check(mirrors, variable, needles, line, source)
    membership = yaml.safe_load(MEMBERSHIP.read_text())
    for fact in membership["facts"]:
        for line, cited in fact["source"].items():
            where, path = cited.split(":", 1)
            source = f"{membership['sources'][line][where]}:{path}"
            failures += _check(mirrors, fact["about"], {fact["needle"]}, line, source)
    for fact in membership["upstream"]:
        failures += _check(mirrors, fact["about"], {fact["needle"]}, "upstream", fact["source"])
    return 1 if failures else 0


def _check(mirrors: dict[str, str], about: str, needles: set[str], line: str, cited: str) -> int:
    """1 when `cited` (repo@commit:path[:lines]) is missing or holds none of `needles`."""
    repo, _, rest = cited.partition("@")
    commit, _, path = rest.partition(":")
    path, _, lines = path.partition(":")
    git_dir = mirrors.get(repo)
    if git_dir is None:
        print(f"SKIP {repo} (no mirror given)")
        return 0
    shown = subprocess.run(
        ["git", "--git-dir", git_dir, "show", f"{commit}:{path}"],
        capture_output=True, text=True,
    )  # fmt: skip
    if shown.returncode != 0:
        print(f"MISSING {line} {repo}@{commit}:{path}")
        return 1
    text = shown.stdout.splitlines()
    if lines:
        first, _, last = lines.partition("-")
        text = text[int(first) - 1 : int(last or first)]
    if not any(n in row for row in text for n in needles):
        print(f"NOT FOUND {about} in {line} {repo}@{commit}:{path}:{lines}")
        return 1
    print(f"ok {about} {line} {path}:{lines}")
    return 0


def _needles(variable: str) -> set[str]:
    """The variable, or the stem the script builds it from."""
    stem = variable.removesuffix("_NODES")
    needles = {variable, stem} if stem != variable else {variable}
    # kube-manager's Python reads KUBERNETES_POD_SUBNETS as its `pod_subnets` argument.
    needles.add(variable.removeprefix("KUBERNETES_").lower())
    return needles


if __name__ == "__main__":
    sys.exit(main(sys.argv))
