"""Release lines from tags, engine adaptation of services, and the contract checks on one env."""

from __future__ import annotations

import pytest

from contrail_common import services
from contrail_common.images import contract
from contrail_common.images.releases import (
    R24_1,
    R25_1,
    R2011,
    UnknownReleaseError,
    kernel_version,
    line_for_tag,
)


@pytest.mark.parametrize(
    ("tag", "line"),
    [
        ("R2011-latest", R2011),
        ("R2011-2022-11-20", R2011),
        ("R24.1-latest", R24_1),
        ("R24.1-2024-09-01", R24_1),
        ("R25.1-latest", R25_1),
        ("R26.1-2026-03-01-stable", R25_1),
        ("2024-02-16", R24_1),
        ("2025-04-24", R24_1),
        ("2025-04-25", R25_1),
        ("2025-06-01-stable", R25_1),
        ("latest", R25_1),
    ],
)
def test_a_tag_names_its_line(tag, line):
    assert line_for_tag(tag) is line


@pytest.mark.parametrize(
    ("tag", "says"),
    [
        ("2011.L3", "Juniper 2011.Lx release"),
        ("R21.4-latest", "of line R21.4, which the charms do not support"),
        ("2023-12-31", "before 2024-02-16"),
        ("2024-02-30", "not a valid date"),
        ("v1.2", "not a tag of a known line"),
    ],
)
def test_an_unknown_tag_names_the_known_lines(tag, says):
    with pytest.raises(UnknownReleaseError) as raised:
        line_for_tag(tag)
    message = str(raised.value)
    assert says in message
    assert message.startswith(f"image-tag: {tag} is ")
    assert "R2011, R24.1, R25.1" in message and "release-line" in message


def test_the_override_wins_over_the_tag_and_is_checked():
    assert line_for_tag("my-build-7", "R24.1") is R24_1
    assert line_for_tag("R2011-latest", "R25.1") is R25_1
    with pytest.raises(UnknownReleaseError, match="release-line: must be auto or one of"):
        line_for_tag("R24.1-latest", "R21.4")


@pytest.mark.parametrize(
    ("release", "version"),
    [("5.15.0-91-generic", (5, 15)), ("6.8.0-31-generic", (6, 8)), ("unknown", None)],
)
def test_kernel_version_reads_uname(release, version):
    assert kernel_version(release) == version


def test_each_line_supports_its_kernels_only():
    assert R2011.kernel_supported((5, 4)) and not R2011.kernel_supported((5, 15))
    assert R24_1.kernel_supported((5, 15)) and not R24_1.kernel_supported((6, 8))
    assert R25_1.kernel_supported((6, 8)) and not R25_1.kernel_supported((5, 4))
    assert R2011.kernel_range == "5.4" and R25_1.kernel_range == "5.15 to 6.9"


def _group() -> list[services.Service]:
    env = {"CONTROLLER_NODES": "10.0.0.1"}
    return [
        services.Service("control", "controller-control-control", "control", env),
        services.nodemgr("control", "control", env),
    ]


def test_docker_runs_every_service_unchanged():
    kept, notes = services.for_engine(_group(), "docker", R2011)
    assert kept == _group() and notes == []


def test_containerd_node_managers_watch_our_namespace():
    kept, notes = services.for_engine(_group(), "containerd", R24_1)
    assert notes == []
    by_name = {s.name: s for s in kept}
    assert by_name["control-nodemgr"].env["CONTAINERD_NAMESPACE"] == "contrail"
    assert "CONTAINERD_NAMESPACE" not in by_name["control"].env


def test_containerd_on_r2011_leaves_node_managers_out_and_says_so():
    kept, notes = services.for_engine(_group(), "containerd", R2011)
    assert [s.name for s in kept] == ["control"]
    assert notes == ["node managers not run: R2011 ones cannot watch containerd"]


def test_the_contract_names_a_missing_required_variable_and_a_forbidden_one():
    env = {"KAFKA_NODES": "10.0.0.1,10.0.0.2", "KAFKA_LISTEN_ADDRESS": "10.0.0.1"}
    found = contract.problems(R24_1, "external-kafka", env, "10.0.0.1")
    assert any(p.startswith("KAFKA_LISTEN_ADDRESS must not be set") for p in found)
    env = {"KAFKA_NODES": "10.0.0.2,10.0.0.3"}
    found = contract.problems(R24_1, "external-kafka", env, "10.0.0.1")
    assert found == ["KAFKA_NODES='10.0.0.2,10.0.0.3' is not a comma list of addresses "
                     "holding this unit's own"]  # fmt: skip


def test_node_init_without_its_status_image_breaks_the_contract():
    service = services.node_init({}, "opensdn/contrail-status:R24.1-latest")
    assert contract.problems(R24_1, "node-init", service.env) == []
    found = contract.problems(R24_1, "node-init", {})
    assert found and found[0].startswith("CONTRAIL_STATUS_IMAGE is not set")
