"""Deploy the standard bundle on a real controller and wait for every unit to go active."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "bundles" / "k8s-contrail.yaml"


@pytest.mark.abort_on_fail
async def test_standard_bundle_goes_active(ops_test, tmp_path):
    assert BUNDLE.exists(), f"{BUNDLE} is missing"
    # Point every application of ours at a freshly built .charm through an overlay.
    built = {}
    for charm in sorted((REPO / "charms").glob("*/charmcraft.yaml")):
        built[charm.parent.name] = {"charm": str(await ops_test.build_charm(charm.parent))}
    overlay = tmp_path / "built-charms.yaml"
    overlay.write_text(yaml.safe_dump({"applications": built}))
    await ops_test.model.deploy(str(BUNDLE), overlays=[str(overlay)])
    await ops_test.model.wait_for_idle(status="active", timeout=60 * 60)
    for application in ops_test.model.applications.values():
        for unit in application.units:
            assert unit.workload_status == "active", f"{unit.name}: {unit.workload_status_message}"
