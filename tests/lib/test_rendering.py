"""Atomic 0600 file writes that report change, and jinja2 rendering of env/config files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import jinja2
import pytest

from contrail_common.rendering import (
    env_file_content,
    render_file,
    template_environment,
    write_env_file,
    write_file,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_reports_change_and_keeps_mode(tmp_path: Path):
    target = tmp_path / "etc" / "contrail" / "common.env"
    assert write_file(target, "A=1\n") is True
    assert mode(target) == 0o600
    inode = target.stat().st_ino
    assert write_file(target, "A=1\n") is False
    assert target.stat().st_ino == inode, "an unchanged file is not rewritten"
    assert write_file(target, "A=2\n") is True
    assert target.read_text() == "A=2\n"
    assert [p.name for p in target.parent.iterdir()] == ["common.env"], "no temporary left"


def test_unchanged_file_gets_its_mode_corrected(tmp_path: Path):
    target = tmp_path / "secret.env"
    target.write_text("TOKEN=x\n")
    os.chmod(target, 0o644)
    assert write_file(target, "TOKEN=x\n") is False
    assert mode(target) == 0o600


def test_other_modes_on_request(tmp_path: Path):
    target = tmp_path / "public.conf"
    write_file(target, b"x", mode=0o644)
    assert mode(target) == 0o644


def test_render_file_from_template(tmp_path: Path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "api.env.j2").write_text(
        "LOG_LEVEL={{ log_level | env_value }}\nCONTROLLER_NODES={{ nodes | join(',') }}\n"
    )
    environment = template_environment(templates)
    target = tmp_path / "api.env"
    context = {"log_level": "SYS_NOTICE", "nodes": ["10.0.0.1", "10.0.0.2"]}
    assert render_file(environment, "api.env.j2", context, target) is True
    assert target.read_text() == "LOG_LEVEL=SYS_NOTICE\nCONTROLLER_NODES=10.0.0.1,10.0.0.2\n"
    assert render_file(environment, "api.env.j2", context, target) is False
    with pytest.raises(jinja2.UndefinedError):
        render_file(environment, "api.env.j2", {"log_level": "SYS_DEBUG"}, target)
    with pytest.raises(ValueError, match="line break"):
        render_file(environment, "api.env.j2", {**context, "log_level": "x\nY=1"}, target)
    assert "SYS_NOTICE" in target.read_text(), "a failed render leaves the old file"


def test_env_file_from_mapping(tmp_path: Path):
    assert env_file_content({"A": 1, "B": None, "C": "x y"}) == "A=1\nB=\nC=x y\n"
    with pytest.raises(ValueError, match="invalid environment variable name"):
        env_file_content({"A B": "1"})
    with pytest.raises(ValueError, match=r"value of A holds U\+000A, a line break"):
        env_file_content({"A": "1\nB=2"})
    target = tmp_path / "x.env"
    assert write_env_file(target, {"A": "1"}) is True
    assert mode(target) == 0o600
