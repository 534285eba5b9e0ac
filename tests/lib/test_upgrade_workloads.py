"""A unit's services mid-upgrade: each group on its own tag, rendered for that tag's line."""

from __future__ import annotations

from contrail_common.config import WorkloadConfig
from contrail_common.services import Service
from contrail_common.upgrade.workloads import (
    SameTag,
    config_for,
    images_to_pull,
    tagged_workload,
)

OLD, NEW, NEXT_LINE = "R24.1-2025-01-10", "R24.1-2025-03-01", "R25.1-2025-06-01"


class Choice:
    def __init__(self, tags: dict[str, str | None], pull: str | None = None) -> None:
        self.tags, self.pull = tags, pull

    def tag_for(self, role: str) -> str | None:
        return self.tags[role]


def render(config: WorkloadConfig) -> list[Service]:
    """Two groups; the env names the tag each service was rendered for."""
    env = {"LOG_LEVEL": "SYS_NOTICE", "RENDERED_FOR": config.image_tag}
    return [
        Service("config-api", "controller-config-api", "config", env),
        Service("control-control", "controller-control-control", "control", env),
    ]


def config(tag: str = NEW) -> WorkloadConfig:
    return WorkloadConfig.load({"image-tag": tag})


def test_every_service_on_the_configured_tag_without_an_upgrade():
    planned = tagged_workload(config(), SameTag(NEW), render, "docker", "10.0.0.1")
    assert [s.name for s in planned.services] == ["config-api", "control-control"]
    assert planned.images == {
        "config-api": f"opensdn/contrail-controller-config-api:{NEW}",
        "control-control": f"opensdn/contrail-controller-control-control:{NEW}",
    }
    assert not planned.violations


def test_each_group_on_its_tag_rendered_for_that_tag():
    choice = Choice({"config": NEW, "control": OLD})
    planned = tagged_workload(config(), choice, render, "docker", "10.0.0.1")
    by_name = {s.name: s for s in planned.services}
    assert planned.images["config-api"].endswith(f":{NEW}")
    assert planned.images["control-control"].endswith(f":{OLD}")
    assert by_name["config-api"].env["RENDERED_FOR"] == NEW
    assert by_name["control-control"].env["RENDERED_FOR"] == OLD


def test_a_stopped_group_is_left_out():
    choice = Choice({"config": None, "control": OLD})
    planned = tagged_workload(config(), choice, render, "docker", "10.0.0.1")
    assert [s.name for s in planned.services] == ["control-control"]


def test_across_lines_each_tag_takes_its_lines_image_names():
    choice = Choice({"config": NEXT_LINE, "control": OLD})
    planned = tagged_workload(config(NEXT_LINE), choice, render, "docker", "10.0.0.1")
    assert planned.images["config-api"] == (f"opensdn/opensdn-controller-config-api:{NEXT_LINE}")
    assert planned.images["control-control"] == (
        f"opensdn/contrail-controller-control-control:{OLD}"
    )


def test_the_images_to_pull_are_the_new_tags():
    assert images_to_pull(config(), SameTag(OLD), render) == []
    choice = SameTag(OLD, pull=NEW)
    assert images_to_pull(config(), choice, render) == [
        f"opensdn/contrail-controller-config-api:{NEW}",
        f"opensdn/contrail-controller-control-control:{NEW}",
    ]


def test_config_for_changes_only_the_tag():
    base = config()
    assert config_for(base, NEW) is base
    other = config_for(base, OLD)
    assert other.image_tag == OLD and other.log_level == base.log_level
