#!/usr/bin/env bash
# Every test suite that needs no Juju controller, on a fresh Debian or Ubuntu machine, as root:
# installs the Debian packages the workload tests use (dockerd, containerd, docker-registry,
# htpasswd, busybox-static) and tox, then runs lint, static checks, bundle verification and the
# whole-model simulation, integration (which skips with a reason where no `juju` client is
# installed), unit and workload tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 tests/workload/hostenv.py install
# The suites that run most tests come last, so the closing summary counts them.
exec tests/tox.sh run -e lint,static,bundle,integration,unit,workload "$@"
