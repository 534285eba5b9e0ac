#!/usr/bin/env bash
# tox on a fresh Debian or Ubuntu machine: installs pip and tox when missing, then runs
# `tox "$@"` from the repository root (e.g. `tests/tox.sh -e rehearse`).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip
fi
if ! python3 -m tox --version >/dev/null 2>&1; then
    # Debian's own python3 refuses plain pip installs (PEP 668); tox only drives venvs.
    python3 -m pip install --quiet --disable-pip-version-check 'tox>=4' 2>/dev/null ||
        python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'tox>=4'
fi
exec python3 -m tox "$@"
