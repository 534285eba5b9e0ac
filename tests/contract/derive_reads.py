"""Derive, from a git mirror of tf-container-builder, which variables each image's scripts read.

A maintainer tool, run against the project's git mirror of upstream (it needs no network once
the mirror exists); its output is committed under lib/contrail_common/images/reads/ and is
what the image-contract test checks rendered env files against:

    python tests/contract/derive_reads.py GIT_DIR OWNER/REPO BRANCH LINE \
        > lib/contrail_common/images/reads/LINE.yaml

For every directory with a Dockerfile it records the image it is built FROM (inside the same
tree) and the variables its own shell scripts mention. An image reads the union along its
FROM chain, because each Dockerfile copies its `*.sh` to `/` and the entrypoints source them.
Indirect reads are resolved the way the scripts make them: `find_my_ip_and_order_for_node X`
(and the helpers built on it) reads `X_NODES`, and `add_ini_params_from_env X ...` reads every
variable named `X__<section>__<key>`.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
import sys

import yaml

_VARIABLE = re.compile(r"\$\{?!?#?([A-Za-z_][A-Za-z0-9_]*)")
_DEFAULTED = re.compile(r"^\s*:\s+\$\{([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)
_TESTED = re.compile(r"-v\s+([A-Za-z_][A-Za-z0-9_]*)")
_NODE_HELPERS = (
    "find_my_ip_and_order_for_node",
    "get_listen_ip_for_node",
    "get_introspect_listen_ip_for_node",
    "get_order_for_node",
)
_NODE_CALL = re.compile(r"\b(?:" + "|".join(_NODE_HELPERS) + r")\s+([A-Z][A-Z0-9_]*)\b")
_INI_CALL = re.compile(r"\badd_ini_params_from_env\s+([A-Z$][A-Za-z0-9_${}]*)")
# `for yaml in a b c; do var="CASSANDRA_${yaml^^}"; val="${!var}"`: reads CASSANDRA_A, _B, _C.
_LOOP = re.compile(r"\bfor\s+(\w+)\s+in\s+(.*?);\s*do(.*?)\bdone\b", re.DOTALL)
_FROM = re.compile(
    r"^FROM\s+\S*/(?:contrail|opensdn|\$\{CONTAINER_NAME_PREFIX\})-([a-z0-9-]+):", re.M
)


def git(git_dir: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, *args], check=True, capture_output=True, text=True
    ).stdout


def _loop_reads(text: str) -> set[str]:
    found = set()
    for variable, words, body in _LOOP.findall(text):
        for prefix in re.findall(r"([A-Z][A-Z0-9_]*_)\$\{" + variable + r"\^\^\}", body):
            found |= {prefix + w.upper() for w in words.replace("\\", " ").split()}
    return found


def _externals(git_dir: str, commit: str, directory: str, files: list[str]) -> list[str]:
    """Scripts the build copies in from elsewhere in the tree (`.externals`: `path:__name`)."""
    if f"{directory}/.externals" not in files:
        return []
    listing = git(git_dir, "show", f"{commit}:{directory}/.externals")
    found = []
    for line in listing.split():
        source = posixpath.normpath(posixpath.join(directory, line.split(":", 1)[0]))
        if source.endswith(".sh") and source in files:
            found.append(source)
    return found


def derive(git_dir: str, branch: str) -> dict:
    commit = git(git_dir, "rev-parse", branch).strip()
    files = git(git_dir, "ls-tree", "-r", "--name-only", commit, "containers").split()
    image_dirs = sorted(f.rsplit("/", 1)[0] for f in files if f.endswith("/Dockerfile"))
    images: dict[str, dict] = {}
    for directory in image_dirs:
        component = directory.removeprefix("containers/").replace("/", "-")
        nested = [d for d in image_dirs if d != directory and d.startswith(directory + "/")]
        scripts = [
            f
            for f in files
            if f.startswith(directory + "/")
            and f.endswith(".sh")
            and not any(f.startswith(d + "/") for d in nested)
        ]
        scripts += _externals(git_dir, commit, directory, files)
        reads: set[str] = set()
        patterns: set[str] = set()
        for script in scripts:
            text = git(git_dir, "show", f"{commit}:{script}")
            reads |= set(_VARIABLE.findall(text)) | set(_DEFAULTED.findall(text))
            reads |= set(_TESTED.findall(text))
            reads |= {f"{name}_NODES" for name in _NODE_CALL.findall(text)}
            # A prefix built from a variable (`${ntype}_NODEMGR`) matches any value of it.
            patterns |= {
                re.sub(r"\$\{?\w+\}?", "*", name) + "__*__*" for name in _INI_CALL.findall(text)
            }
            reads |= _loop_reads(text)
        dockerfile = git(git_dir, "show", f"{commit}:{directory}/Dockerfile")
        base = _FROM.search(dockerfile)
        entry: dict = {"dir": directory}
        if base:
            entry["from"] = base.group(1)
        entry["scripts"] = [posixpath.relpath(s, directory) for s in scripts]
        entry["reads"] = sorted(reads)
        if patterns:
            entry["patterns"] = sorted(patterns)
        images[component] = entry
    return {"commit": commit, "images": images}


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    git_dir, repo, branch, line = argv[1:]
    derived = derive(git_dir, branch)
    print("# Generated by tests/contract/derive_reads.py: do not edit by hand.")
    print(
        yaml.safe_dump(
            {
                "line": line,
                "source": f"{repo}@{derived['commit']}",
                "branch": branch,
                "images": derived["images"],
            },
            sort_keys=False,
            width=100,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
