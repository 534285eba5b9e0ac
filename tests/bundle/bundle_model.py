"""Bundles and charm metadata as plain data, for verification without a Juju controller.

Our charms are described by their charmcraft.yaml; the Charmed Kubernetes charms by the record
in `data/charmed-kubernetes.yaml`, per channel. Every charm also has Juju's implicit `juju-info`
provider.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

REPO = Path(__file__).resolve().parents[2]
BUNDLES = REPO / "bundles"
EXTERNAL = Path(__file__).parent / "data" / "charmed-kubernetes.yaml"
JUJU_INFO = {"interface": "juju-info", "role": "provides", "scope": "global"}


@dataclass(frozen=True)
class Endpoint:
    name: str
    interface: str
    role: str  # provides | requires | peers
    scope: str  # global | container
    optional: bool


@dataclass
class CharmMeta:
    name: str
    subordinate: bool
    endpoints: dict[str, Endpoint]
    options: dict[str, dict[str, Any]]
    local_dir: Optional[Path] = None
    required: list[str] = field(default_factory=list)

    def endpoint(self, name: str) -> Optional[Endpoint]:
        if name == "juju-info" and name not in self.endpoints:
            return Endpoint("juju-info", "juju-info", "provides", "global", True)
        return self.endpoints.get(name)


def load_yaml(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return document


def local_charm_dir(bundle: Path, charm: str) -> Optional[Path]:
    """The charm directory a local `charm:` path points into (the .charm file's folder)."""
    if not charm.startswith((".", "/")):
        return None
    target = (bundle.parent / charm).resolve()
    return target.parent if target.suffix == ".charm" else target


def our_charm(directory: Path) -> CharmMeta:
    doc = load_yaml(directory / "charmcraft.yaml")
    endpoints = {}
    for role in ("provides", "requires", "peers"):
        for name, spec in (doc.get(role) or {}).items():
            endpoints[name] = Endpoint(
                name,
                spec["interface"],
                role,
                spec.get("scope", "global"),
                bool(spec.get("optional", False)) or role == "peers",
            )
    required = [e.name for e in endpoints.values() if e.role == "requires" and not e.optional]
    return CharmMeta(
        name=doc["name"],
        subordinate=bool(doc.get("subordinate", False)),
        endpoints=endpoints,
        options=(doc.get("config") or {}).get("options") or {},
        local_dir=directory,
        required=required,
    )


def external_charms(channels: Optional[dict[str, str]] = None) -> dict[str, CharmMeta]:
    """Each recorded charm at the channel `channels` names for it, else at its first one.
    A channel that is not recorded raises LookupError naming what to record."""
    charms = {}
    for name, doc in load_yaml(EXTERNAL).items():
        channel = (channels or {}).get(name) or next(iter(doc["channels"]))
        if channel not in doc["channels"]:
            raise LookupError(
                f"{name}: channel {channel} is not recorded in {EXTERNAL.name}; record its "
                "release branch's metadata there (recorded: " + ", ".join(doc["channels"]) + ")"
            )
        endpoints = {}
        for role in ("provides", "requires", "peers"):
            for endpoint, spec in (doc.get(role) or {}).items():
                endpoints[endpoint] = Endpoint(
                    endpoint, spec["interface"], role, spec.get("scope", "global"), True
                )
        charms[name] = CharmMeta(
            name=name,
            subordinate=bool(doc.get("subordinate")),
            endpoints=endpoints,
            options={option: {} for option in doc["channels"][channel].get("options", [])},
            required=list(doc.get("required", [])),
        )
    return charms


def merge(
    base: dict[str, Any], overlay: dict[str, Any], overlay_dir: Optional[Path] = None
) -> dict[str, Any]:
    """A bundle with an overlay applied, as `juju deploy --overlay` merges them.

    Juju resolves an overlay's relative `charm:` path from the overlay file's folder
    (juju/charm@f5d79a50fdf959cd340a853aa65c6af5f06a21b3:overlay.go, ReadAndMergeBundleData with
    each source's BasePath; bundledatasrc.go: the file's directory), so given `overlay_dir` such a
    path is made absolute here; the base bundle's stay relative to the bundle.
    An application given no body is removed with its relations (overlay.go, applyOverlay:
    "if an overlay defines an empty application ... it will be removed from the base bundle
    together with any associated relations").
    """
    merged = copy.deepcopy(base)
    for name, value in (overlay.get("applications") or {}).items():
        if not value:
            (merged.get("applications") or {}).pop(name, None)
            merged["relations"] = [
                pair for pair in merged.get("relations") or []
                if all(str(end).split(":")[0] != name for end in pair)
            ]  # fmt: skip
    for section in ("machines", "applications"):
        for key, value in (overlay.get(section) or {}).items():
            if section == "applications" and not value:
                continue
            target = merged.setdefault(section, {}).setdefault(key, {})
            for field_name, field_value in (value or {}).items():
                if field_name == "options":
                    target.setdefault("options", {}).update(field_value)
                elif field_name == "charm" and overlay_dir and str(field_value).startswith("."):
                    target["charm"] = str((overlay_dir / str(field_value)).resolve())
                else:
                    target[field_name] = field_value
    merged["relations"] = list(merged.get("relations") or []) + list(
        overlay.get("relations") or []
    )
    return merged


def config_model(charm_dir: Path):
    """The pydantic config class of one of our charms (its ContrailCharm's `config_class`)."""
    source = charm_dir / "src"
    sys.path[:0] = [str(REPO / "lib"), str(source)]
    try:
        spec = importlib.util.spec_from_file_location(
            f"{charm_dir.name.replace('-', '_')}_charm", source / "charm.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        # Registered first, as an import does: dataclasses look their module up by name.
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    finally:
        del sys.path[:2]
    from contrail_common.base_charm import ContrailCharm

    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, ContrailCharm)
            and value is not ContrailCharm
        ):
            return value.config_class
    raise LookupError(f"no ContrailCharm in {source / 'charm.py'}")
