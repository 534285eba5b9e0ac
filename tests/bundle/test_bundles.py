"""Every bundle and overlay checked against the charms' metadata, without a Juju controller."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from bundle_model import (
    BUNDLES,
    EXTERNAL,
    REPO,
    CharmMeta,
    config_model,
    external_charms,
    load_yaml,
    local_charm_dir,
    merge,
    our_charm,
)

from contrail_common.config import UNPINNED_TAGS, InvalidConfigError, SecretUri

STANDARD = BUNDLES / "k8s-contrail.yaml"
BASES = sorted(BUNDLES.glob("*.yaml"))
OVERLAYS = sorted((BUNDLES / "overlays").glob("*.yaml"))
CASES = [(base, None) for base in BASES] + [(STANDARD, overlay) for overlay in OVERLAYS]


def case_id(case) -> str:
    base, overlay = case
    return base.name + (f"+{overlay.name}" if overlay else "")


def resolve(bundle: Path, overlay: Path | None) -> tuple[dict, dict[str, CharmMeta]]:
    document = load_yaml(bundle)
    if overlay is not None:
        document = merge(document, load_yaml(overlay), overlay.parent)
    external = external_charms(
        {str(app["charm"]): str(app["channel"]) for app in pinned(document).values()}
    )
    charms = {}
    for name, app in (document.get("applications") or {}).items():
        charm = str(app["charm"])
        directory = local_charm_dir(bundle, charm)
        if directory is not None:
            assert (directory / "charmcraft.yaml").exists(), f"{name}: no charm at {charm}"
            charms[name] = our_charm(directory)
        else:
            assert charm in external, (
                f"{name}: {charm} is not in the recorded Charmed Kubernetes metadata"
            )
            charms[name] = external[charm]
    return document, charms


def pinned(document: dict) -> dict[str, dict]:
    """The applications deployed from Charmhub with a channel."""
    return {
        name: app
        for name, app in (document.get("applications") or {}).items()
        if not str(app["charm"]).startswith((".", "/")) and app.get("channel")
    }


def split(endpoint: str) -> tuple[str, str]:
    app, _, name = endpoint.partition(":")
    assert name, f"relation endpoint {endpoint!r} must name app:endpoint"
    return app, name


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_relations_name_real_endpoints_with_matching_interfaces(case):
    document, charms = resolve(*case)
    seen = set()
    for relation in document.get("relations") or []:
        assert len(relation) == 2, f"a relation joins two endpoints: {relation}"
        (app_a, name_a), (app_b, name_b) = (split(e) for e in relation)
        a, b = charms[app_a].endpoint(name_a), charms[app_b].endpoint(name_b)
        assert a is not None, f"{app_a} has no endpoint {name_a}"
        assert b is not None, f"{app_b} has no endpoint {name_b}"
        assert a.interface == b.interface, (
            f"{relation}: interfaces {a.interface} and {b.interface}"
        )
        assert {a.role, b.role} == {"provides", "requires"}, f"{relation}: roles {a.role}/{b.role}"
        key = frozenset(relation)
        assert key not in seen, f"duplicate relation {relation}"
        seen.add(key)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_subordinates_attach_to_principals_with_container_scope(case):
    document, charms = resolve(*case)
    attached = {name: set() for name, meta in charms.items() if meta.subordinate}
    for relation in document.get("relations") or []:
        (app_a, name_a), (app_b, name_b) = (split(e) for e in relation)
        scopes = {charms[app_a].endpoint(name_a).scope, charms[app_b].endpoint(name_b).scope}  # type: ignore[union-attr]
        for sub, other in ((app_a, app_b), (app_b, app_a)):
            if sub in attached and not charms[other].subordinate and "container" in scopes:
                attached[sub].add(other)
    for name, principals in attached.items():
        assert principals, f"subordinate {name} is attached to no principal"
        app = document["applications"][name]
        assert "num_units" not in app and "to" not in app, f"subordinate {name} takes no units"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_no_application_lacks_a_required_relation(case):
    document, charms = resolve(*case)
    related = set()
    for relation in document.get("relations") or []:
        related.update(relation)
    for name, meta in charms.items():
        for endpoint in meta.required:
            assert f"{name}:{endpoint}" in related, (
                f"{name}:{endpoint} is required but not related"
            )


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_option_exists_and_passes_the_charms_own_config_model(case):
    document, charms = resolve(*case)
    for name, app in document["applications"].items():
        meta = charms[name]
        options = app.get("options") or {}
        unknown = sorted(set(options) - set(meta.options))
        assert not unknown, f"{name}: no such option(s) {unknown}"
        if meta.local_dir is None:
            continue
        defaults = {
            key: spec.get("default") for key, spec in meta.options.items() if "default" in spec
        }
        try:
            config_model(meta.local_dir).load(
                {**defaults, **options, **after_deploy_secrets(meta, options)}
            )
        except InvalidConfigError as error:
            pytest.fail(f"{name}: {error}")


def after_deploy_secrets(meta: CharmMeta, options: dict) -> dict[str, str]:
    """Secret options a bundle cannot carry: the operator sets them after deploying (the
    bundle's comments say how), so they are validated here as a well-formed secret URI."""
    return {
        key: PLACEHOLDER_SECRET
        for key, spec in meta.options.items()
        if spec.get("type") == "secret" and not options.get(key)
    }


PLACEHOLDER_SECRET = "secret:d0123456789abcdefghi"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_contrail_images_are_pinned(case):
    document, charms = resolve(*case)
    for name, meta in charms.items():
        if meta.local_dir is None:
            continue
        tag = str((document["applications"][name].get("options") or {}).get("image-tag", ""))
        assert tag and tag not in UNPINNED_TAGS, f"{name}: set an explicit, pinned image-tag"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_kubernetes_is_not_opened_to_everyone(case):
    document, _ = resolve(*case)
    for name, app in document["applications"].items():
        mode = str((app.get("options") or {}).get("authorization-mode", ""))
        assert "AlwaysAllow" not in mode, f"{name}: authorization-mode AlwaysAllow"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_placement_names_declared_machines(case):
    document, _ = resolve(*case)
    machines = {str(m) for m in (document.get("machines") or {})}
    for name, app in document["applications"].items():
        for target in app.get("to") or []:
            machine = str(target).split(":")[-1]
            assert machine in machines, f"{name}: placed on undeclared machine {target}"
        if "to" in app:
            assert len(app["to"]) == app.get("num_units"), f"{name}: one placement per unit"


def test_standard_topology_puts_the_vrouter_and_cni_on_every_kubernetes_machine():
    document, _ = resolve(STANDARD, None)
    relations = {frozenset(r) for r in document["relations"]}
    for principal in ("kubernetes-control-plane", "kubernetes-worker"):
        assert frozenset({"contrail-agent:juju-info", f"{principal}:juju-info"}) in relations
        assert frozenset({"contrail-kubernetes-node:cni", f"{principal}:cni"}) in relations


def test_every_charm_of_the_collection_is_in_the_standard_bundle():
    _, charms = resolve(STANDARD, None)
    deployed = {meta.local_dir.name for meta in charms.values() if meta.local_dir}
    assert deployed == {p.parent.name for p in (REPO / "charms").glob("*/charmcraft.yaml")}


def test_ha_overlay_makes_three_unit_clusters():
    document, _ = resolve(STANDARD, BUNDLES / "overlays" / "ha.yaml")
    for name in ("contrail-controller", "contrail-analytics", "contrail-analyticsdb"):
        app = document["applications"][name]
        assert app["num_units"] == 3 and app["options"]["min-cluster-size"] == 3


def test_dpdk_overlay_switches_the_agent_to_dpdk():
    document, _ = resolve(STANDARD, BUNDLES / "overlays" / "dpdk.yaml")
    options = document["applications"]["contrail-agent"]["options"]
    assert options["dpdk"] is True and options["physical-interface"]
    assert options["image-tag"] == "R24.1-latest", "the overlay keeps the base bundle's options"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_charmhub_charm_is_recorded_at_the_channel_it_is_deployed_from(case):
    document, _ = resolve(*case)
    for name, app in (document.get("applications") or {}).items():
        if not str(app["charm"]).startswith((".", "/")):
            assert app.get("channel"), f"{name}: pin a channel (the records are per channel)"


def test_recorded_metadata_cites_a_full_commit_for_every_channel():
    source = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}:\S+")
    for name, doc in load_yaml(EXTERNAL).items():
        assert doc.get("channels"), f"{name}: record at least one channel"
        for channel, record in doc["channels"].items():
            assert source.fullmatch(str(record.get("source", ""))), (
                f"{name} {channel}: source must be owner/repo@<40-hex commit>:<files>"
            )


def test_options_holding_a_secret_uri_are_juju_secret_options():
    """Juju (3.1+) refuses a `type: secret` value that is not a `secret:` URI at `juju config`
    time, before the charm sees it; every option the config model reads as a SecretUri is one."""
    _, check = get_args(SecretUri)
    for directory in sorted(p.parent for p in (REPO / "charms").glob("*/charmcraft.yaml")):
        model = config_model(directory)
        read_as_uri = {
            field.alias or name
            for name, field in model.model_fields.items()
            if check in field.metadata
        }
        declared = {
            name for name, spec in our_charm(directory).options.items() if spec["type"] == "secret"
        }
        assert read_as_uri, f"{directory.name}: registry-credentials at least"
        assert declared == read_as_uri, f"{directory.name}: make {read_as_uri} `type: secret`"


@pytest.mark.parametrize("path", BASES + OVERLAYS, ids=lambda p: p.name)
def test_local_charm_paths_lead_to_our_charms_from_the_file_that_names_them(path):
    """As Juju reads them: a bundle's paths from the bundle's folder, an overlay's from the
    overlay's (see bundle_model.merge)."""
    for name, app in (load_yaml(path).get("applications") or {}).items():
        charm = str((app or {}).get("charm", ""))
        directory = local_charm_dir(path, charm)
        if directory is not None:
            assert (directory / "charmcraft.yaml").is_file(), (
                f"{path.name}: {name}: {charm} leads to {directory}, not to one of charms/"
            )


def test_an_overlay_application_without_a_body_goes_with_its_relations():
    """As Juju merges overlays (juju/charm overlay.go): the vault overlay takes the base
    bundle's self-signed-certificates away, and the Contrail charms' relations to it."""
    base = {
        "applications": {"a": {"charm": "a"}, "ca": {"charm": "ca"}},
        "relations": [["a:certificates", "ca:certificates"], ["a:x", "a:y"]],
    }
    overlay = {
        "applications": {"ca": None, "vault": {"charm": "vault"}},
        "relations": [["a:certificates", "vault:vault-pki"]],
    }
    merged = merge(base, overlay)
    assert set(merged["applications"]) == {"a", "vault"}
    assert merged["relations"] == [["a:x", "a:y"], ["a:certificates", "vault:vault-pki"]]
