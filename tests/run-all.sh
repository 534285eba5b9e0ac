#!/usr/bin/env bash
# Every test suite that needs no Juju controller, on a fresh Debian or Ubuntu machine, as root:
# installs the Debian packages the workload tests use (dockerd, containerd, docker-registry,
# htpasswd, busybox-static) and tox, then runs lint, static checks, bundle, integration (which
# skips with a reason where no `juju` client is installed), unit and workload tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 tests/workload/hostenv.py install
if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip
fi
if ! python3 -m tox --version >/dev/null 2>&1; then
    # Debian's own python3 refuses plain pip installs (PEP 668); tox only drives venvs.
    python3 -m pip install --quiet --disable-pip-version-check 'tox>=4' 2>/dev/null ||
        python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'tox>=4'
fi
# The suites that run most tests come last, so the closing summary counts them.
exec python3 -m tox run -e lint,static,bundle,integration,unit,workload "$@"
