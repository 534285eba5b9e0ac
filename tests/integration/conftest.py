"""Integration tests need a Juju controller; without the `juju` client they all skip."""

from __future__ import annotations

import shutil

import pytest


def pytest_collection_modifyitems(config, items):
    if shutil.which("juju"):
        return
    skip = pytest.mark.skip(
        reason="no `juju` client on this machine: integration tests need a bootstrapped "
        "Juju controller (see README, Run the tests)"
    )
    for item in items:
        item.add_marker(skip)
