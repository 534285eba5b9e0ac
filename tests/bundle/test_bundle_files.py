"""Every bundle and overlay parses and names only local charms that exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BUNDLES = sorted((REPO / "bundles").rglob("*.yaml"))


@pytest.mark.skipif(not BUNDLES, reason="no bundles in bundles/ yet")
@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: str(p.relative_to(REPO)))
def test_bundle_parses_and_local_charms_exist(bundle: Path):
    document = yaml.safe_load(bundle.read_text())
    assert isinstance(document, dict), "a bundle is a YAML mapping"
    applications = document.get("applications") or {}
    for name, application in applications.items():
        charm = str((application or {}).get("charm", ""))
        if charm.startswith((".", "/")):
            assert (bundle.parent / charm).resolve().is_dir(), f"{name}: no charm at {charm}"
