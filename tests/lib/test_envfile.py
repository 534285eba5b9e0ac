"""Env files: whatever the writer accepts, Docker, ctr and the library read back unchanged.

The readers are transcriptions of the engines' Go code (`testing_envfile`); the workload tests
check the same on real dockerd and containerd.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contrail_common.containers import ContainerSpec
from contrail_common.containers.spec import read_env_file
from contrail_common.rendering import env_file_content, write_env_file
from contrail_common.testing_envfile import (
    EnvFileRefused,
    ctr_env_file,
    docker_env_file,
    misread_lines,
)
from contrail_common.testing_hostile import BREAKERS, CONTROLS, PROPERTY_SETTINGS, SPECIAL

KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,12}", fullmatch=True)
VALUES = st.one_of(
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12),
    st.text(alphabet=st.sampled_from(BREAKERS + CONTROLS + SPECIAL + "a=#é"), max_size=8),
)


@PROPERTY_SETTINGS
@given(st.dictionaries(KEYS, VALUES, max_size=4))
def test_what_the_writer_accepts_every_engine_reads_back(tmp_path_factory, variables):
    try:
        content = env_file_content(variables)
    except ValueError:
        return  # refused: nothing is written
    data = content.encode()
    assert docker_env_file(data) == variables
    assert ctr_env_file(data) == variables
    path = tmp_path_factory.mktemp("env") / "x.env"
    path.write_bytes(data)
    assert read_env_file(path) == variables
    assert misread_lines(path) == []


@pytest.mark.parametrize("character", [*BREAKERS, *CONTROLS])
def test_every_line_breaker_and_control_character_is_refused(tmp_path: Path, character):
    with pytest.raises(ValueError, match="the value of A holds U"):
        env_file_content({"A": f"x{character}B=injected"})
    with pytest.raises(ValueError, match="the value of A holds U"):
        write_env_file(tmp_path / "x.env", {"A": f"x{character}B=injected"})
    assert not (tmp_path / "x.env").exists()
    # The containerd engine's own merged env file, from a spec's `env`, is held to the same.
    with pytest.raises(ValueError, match="the value of A holds U"):
        ContainerSpec(name="c", image="i", env={"A": f"x{character}B=injected"})


def test_the_readers_differ_where_the_writer_refuses():
    """Why the writer refuses: some reader takes each of these for something else."""
    for value in ("x\rB=1", "x\x85B=1", "x\u2028B=1", "x\x0bB=1", "x\x1cB=1", "x\r"):
        data = f"A={value}\n".encode()
        splitlines = dict(line.split("=", 1) for line in data.decode().splitlines())
        readings = [docker_env_file(data), ctr_env_file(data), splitlines]
        assert any(reading != {"A": value} for reading in readings), value


def test_the_longest_line_the_engines_take(tmp_path: Path):
    from contrail_common.envfile import MAX_LINE_BYTES

    longest = "A=" + "x" * (MAX_LINE_BYTES - 2)
    data = env_file_content({"A": longest[2:]}).encode()
    assert docker_env_file(data) == ctr_env_file(data) == {"A": longest[2:]}
    with pytest.raises(EnvFileRefused):
        docker_env_file((longest + "x\n").encode())
    with pytest.raises(ValueError, match="longer than an env file line may be"):
        env_file_content({"A": longest[2:] + "x"})


def test_docker_rules_for_files_the_library_did_not_write(tmp_path: Path):
    """The Docker engine's own reader, on what the writer would refuse (the workload tests
    read the same file with the real Docker CLI and ctr)."""
    data = (
        b"\xef\xbb\xbfFIRST=after a BOM\n# comment\n\n  A=1\r\nCR=a\rb\nNEL=a\xc2\x85b\nC\nD=x=y"
    )
    path = tmp_path / "x.env"
    path.write_bytes(data)
    expected = {"FIRST": "after a BOM", "A": "1", "CR": "a\rb", "NEL": "a\x85b", "D": "x=y"}
    assert read_env_file(path) == docker_env_file(data) == expected
