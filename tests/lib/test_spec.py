"""ContainerSpec validation, its stable hash, env files and image references."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from contrail_common.containers import ContainerSpec, Mount, RestartPolicy, image_registry
from contrail_common.containers.images import split_reference
from contrail_common.containers.spec import read_env_file

IMAGE = "registry.example:5000/opensdn/contrail-controller-config-api:2011.L3"


def make(**fields) -> ContainerSpec:
    return ContainerSpec(**{"name": "config-api", "image": IMAGE, **fields})


def test_hash_is_stable_and_ignores_dict_order():
    first = make(env={"A": "1", "B": "2"}, labels={"x": "1", "y": "2"})
    second = make(env={"B": "2", "A": "1"}, labels={"y": "2", "x": "1"})
    assert first.spec_hash() == second.spec_hash()
    assert len(first.spec_hash()) == 32


@pytest.mark.parametrize(
    "change",
    [
        {"image": IMAGE.replace("L3", "L4")},
        {"env": {"LOG_LEVEL": "SYS_DEBUG"}},
        {"mounts": (Mount(source="/var/log/contrail", target="/var/log/contrail"),)},
        {"network_mode": "none"},
        {"privileged": True},
        {"cap_add": ("NET_ADMIN",)},
        {"pid_mode": "host"},
        {"restart": RestartPolicy.ON_FAILURE},
        {"labels": {"net.juniper.contrail": "config"}},
        {"entrypoint": ("/entrypoint.sh",)},
        {"command": ("sleep", "1")},
        {"stop_signal": "SIGQUIT"},
        {"stop_timeout": 30},
    ],
)
def test_every_field_changes_the_hash(change):
    assert make(**change).spec_hash() != make().spec_hash()


def test_hash_follows_env_file_content(tmp_path: Path):
    env_file = tmp_path / "api.env"
    env_file.write_text("LOG_LEVEL=SYS_NOTICE\n")
    spec = make(env_file=env_file)
    before = spec.spec_hash()
    assert spec.spec_hash() == before
    env_file.write_text("LOG_LEVEL=SYS_DEBUG\n")
    assert spec.spec_hash() != before


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"name": "Config API"}, "String should match pattern"),
        ({"image": ""}, "at least 1 character"),
        ({"env": {"BAD-NAME": "x"}}, "invalid environment variable name"),
        ({"env": {"A": "line\nB=injected"}}, "line break"),
        ({"labels": {"contrail-charms.project": "x"}}, "reserved"),
        ({"cap_add": ("CAP_NET_ADMIN",)}, "NET_ADMIN"),
        ({"env_file": Path("relative.env")}, "absolute"),
        ({"network_mode": "overlay"}, "network_mode"),
        ({"stop_timeout": -1}, "greater than or equal"),
        ({"unknown": 1}, "Extra inputs"),
    ],
)
def test_invalid_specs_are_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        make(**fields)


@pytest.mark.parametrize(
    "mount, message",
    [
        ({"source": "/var/log", "target": "relative"}, "absolute"),
        ({"source": "relative", "target": "/x"}, "bind mount source"),
        ({"source": "Bad Name", "target": "/x", "kind": "volume"}, "volume name"),
    ],
)
def test_invalid_mounts_are_refused(mount, message):
    with pytest.raises(ValidationError, match=message):
        Mount(**mount)


def test_env_file_parsing_and_merge(tmp_path: Path):
    env_file = tmp_path / "svc.env"
    env_file.write_text("# comment\n\nA=1\n  B=two words\nC=x=y\nNOVALUE\n")
    assert read_env_file(env_file) == {"A": "1", "B": "two words", "C": "x=y"}
    assert make(env_file=env_file, env={"A": "override"}).resolved_env() == {
        "A": "override",
        "B": "two words",
        "C": "x=y",
    }


@pytest.mark.parametrize(
    "reference, registry, repository, tag",
    [
        (
            "opencontrailnightly/contrail-nodemgr:latest",
            "docker.io",
            "opencontrailnightly/contrail-nodemgr",
            "latest",
        ),
        ("busybox", "docker.io", "busybox", "latest"),
        ("127.0.0.1:5000/contrail/api:1", "127.0.0.1:5000", "127.0.0.1:5000/contrail/api", "1"),
        ("localhost/api", "localhost", "localhost/api", "latest"),
        (
            "hub.juniper.net/contrail/api@sha256:abc",
            "hub.juniper.net",
            "hub.juniper.net/contrail/api",
            "sha256:abc",
        ),
    ],
)
def test_image_references(reference, registry, repository, tag):
    assert image_registry(reference) == registry
    assert split_reference(reference) == (repository, tag)
