"""Run the images' own `find_my_ip_and_order_for_node_list` on the ordinal lists the membership
component renders, and check that every member finds itself at the position of its id.

A maintainer tool beside verify_sources.py, run as root against git mirrors of the builder
repositories:

    python tests/contract/verify_membership.py OWNER/REPO=GIT_DIR [...]

For each release line it takes general-base/functions.sh at the commit membership.yaml cites,
and runs the function in a network namespace of its own (`unshare --net`, loopback only), so
that 127.0.0.1 is the one local address and no resolver can be reached: a placeholder that
needed a lookup would fail there, and one that could be local would be found.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).parents[2]
sys.path.insert(0, str(REPO / "lib"))

from contrail_common.membership import PLACEHOLDER, MemberRecord, ordinal_list  # noqa: E402

MEMBERSHIP = REPO / "lib" / "contrail_common" / "images" / "membership.yaml"
FUNCTIONS = "containers/general-base/functions.sh"
LOCAL = "127.0.0.1"
# Members 1, 3 and 5 remain (2 and 4 were removed); addresses from TEST-NET-1 are never local.
REMAINING = (1, 3, 5)


def main(argv: list[str]) -> int:
    mirrors = dict(arg.split("=", 1) for arg in argv[1:])
    if shutil.which("unshare") is None:
        print("SKIP: unshare is not installed")
        return 0
    data = yaml.safe_load(MEMBERSHIP.read_text())
    assert data["placeholder"] == PLACEHOLDER, "membership.yaml and lists.py disagree"
    failures = 0
    for line, sources in data["sources"].items():
        repo, commit = sources["builder"].split("@")
        git_dir = mirrors.get(repo)
        if git_dir is None:
            print(f"SKIP {line}: no mirror of {repo} given")
            continue
        functions = subprocess.run(
            ["git", "--git-dir", git_dir, "show", f"{commit}:{FUNCTIONS}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        for own in REMAINING:
            failures += _check(line, functions, own)
    return 1 if failures else 0


def _check(line: str, functions: str, own: int) -> int:
    members = [
        MemberRecord(unit=f"app/{n}", id=n, address=LOCAL if n == own else f"192.0.2.{n}")
        for n in REMAINING
    ]
    entries = ",".join(ordinal_list(members))
    with tempfile.NamedTemporaryFile("w", suffix=".sh") as script:
        script.write(functions)
        script.flush()
        found = subprocess.run(
            [
                "unshare", "--net", "bash", "-c",
                'ip link set lo up && source "$0" && find_my_ip_and_order_for_node_list "$1"',
                script.name, entries,
            ],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    expected = f"{LOCAL} {own}"
    if found.stdout.strip() != expected:
        print(f"FAIL {line}: {entries!r} gave {found.stdout.strip()!r}, not {expected!r}")
        print(found.stderr)
        return 1
    print(f"ok {line}: member {own} found at {own} in {entries}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
