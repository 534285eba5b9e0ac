"""Env files on real engines: what the writer accepts reaches the container exactly as written,
and the Go readers transcribed in `testing_envfile` read files as the real Docker CLI and ctr do
(the unit and charm tests rely on them)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from test_engines import SLEEP, main_pid, wait_for

from contrail_common.containers import ContainerEngine, ContainerSpec
from contrail_common.containers.docker_engine import DockerEngine
from contrail_common.envfile import MAX_LINE_BYTES
from contrail_common.rendering import write_env_file
from contrail_common.testing_envfile import EnvFileRefused, ctr_env_file, docker_env_file

pytestmark = pytest.mark.workload

# Values the writer takes that a careless reader would not: spaces at either end, `=`, `#`,
# quotes, shell and Compose syntax, non-ASCII letters, no-break and zero-width spaces, a BOM.
WRITTEN = {
    "SPACES": "  two words  ",
    "EQUALS": "a=b==c",
    "HASH": "#not a comment",
    "QUOTES": "\"double\" 'single' `back`",
    "SHELL": "${HOME} $(id) $USER \\n",
    "UNICODE": "é€😀 日本",
    "INVISIBLE": "\u00a0nbsp\u200bzero-width\ufeffbom",
    "EMPTY": "",
    "LONG": "x" * (MAX_LINE_BYTES - len("LONG=")),
}
# Bytes the writer refuses, for the readers' transcriptions to be checked against the engines.
HANDMADE = (
    b"\xef\xbb\xbfFIRST=after a BOM\n"
    b"# a comment\n"
    b"\n"
    b"   LEADING=spaces before the name\n"
    b"CR=ends with a carriage return\r\n"
    b"CR_INSIDE=a\rb\n"
    b"NEL=a\xc2\x85b\n"
    b"LS=a\xe2\x80\xa8b\n"
    b"VT=a\x0bb\n"
    b"FS=a\x1cb\n"
    b"TAB=a\tb\n"
    b"NO_VALUE\n"
    b"LAST=no final newline"
)


def environ(data: bytes) -> dict[str, str]:
    """`/proc/self/environ` of a container process, without what the image and shell add."""
    env = {}
    for entry in data.split(b"\0"):
        if entry:
            key, _, value = entry.decode("utf-8", errors="surrogateescape").partition("=")
            env[key] = value
    for added in ("PATH", "HOME", "HOSTNAME", "PWD", "SHLVL", "TERM", "container"):
        env.pop(added, None)
    return env


def test_what_the_writer_accepts_reaches_the_container_as_written(
    engine: ContainerEngine, project, images, host_dir: Path
):
    env_file = host_dir / "svc.env"
    write_env_file(env_file, WRITTEN)
    seen = _dump_env(engine, project, images["1"], env_file, host_dir)
    assert environ(seen) == WRITTEN
    data = env_file.read_bytes()
    assert docker_env_file(data) == ctr_env_file(data) == WRITTEN


def test_each_engine_reads_a_file_as_its_own_cli_does(
    engine: ContainerEngine, project, images, host_dir: Path
):
    """The Docker engine reads env files itself (`read_env_file`): as `docker run --env-file`,
    never as Python's splitlines. The containerd engine hands them to ctr."""
    env_file = host_dir / "handmade.env"
    env_file.write_bytes(HANDMADE)
    seen = _dump_env(engine, project, images["1"], env_file, host_dir)
    expected = docker_env_file if isinstance(engine, DockerEngine) else ctr_env_file
    assert environ(seen) == expected(HANDMADE)


@pytest.fixture
def clis(services, images, credentials, docker_engine, containerd_engine):
    """The Docker CLI and ctr, on the test daemons, with the test image pulled by both."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI (Debian's docker.io installs one)")
    for engine in (docker_engine, containerd_engine):
        if engine.inspect_image(images["1"]) is None:
            engine.pull(images["1"], credentials, plain_http=True)
    docker_argv = [docker, "--host", services.docker_url, "run", "--rm", "--network", "none"]
    ctr_argv = [
        "ctr",
        "--address",
        services.containerd_socket,
        "--namespace",
        services.containerd_namespace,
        "run",
        "--rm",
    ]
    return docker_argv, ctr_argv


def run_docker(clis, image: str, env_file: Path) -> subprocess.CompletedProcess[bytes]:
    argv = [*clis[0], "--env-file", str(env_file), image, "cat", "/proc/self/environ"]
    return subprocess.run(argv, capture_output=True, timeout=120)


def run_ctr(clis, image: str, env_file: Path, name: str) -> subprocess.CompletedProcess[bytes]:
    argv = [*clis[1], "--env-file", str(env_file), image, name, "cat", "/proc/self/environ"]
    return subprocess.run(argv, capture_output=True, timeout=120)


def test_the_transcribed_readers_read_as_the_engines_do(clis, images, host_dir: Path):
    env_file = host_dir / "handmade.env"
    env_file.write_bytes(HANDMADE)
    docker = run_docker(clis, images["1"], env_file)
    assert docker.returncode == 0, docker.stderr
    assert environ(docker.stdout) == docker_env_file(HANDMADE)
    ctr = run_ctr(clis, images["1"], env_file, f"envfile-{uuid.uuid4().hex[:8]}")
    assert ctr.returncode == 0, ctr.stderr
    assert environ(ctr.stdout) == ctr_env_file(HANDMADE)
    # And they do differ, which is why the writer refuses what makes them differ.
    assert docker_env_file(HANDMADE) != ctr_env_file(HANDMADE)


def test_a_line_over_64_kib_fails_both_engines(clis, images, host_dir: Path):
    env_file = host_dir / "long.env"
    env_file.write_bytes(b"LONG=" + b"x" * MAX_LINE_BYTES + b"\n")
    with pytest.raises(EnvFileRefused):
        docker_env_file(env_file.read_bytes())
    assert run_docker(clis, images["1"], env_file).returncode != 0
    assert run_ctr(clis, images["1"], env_file, f"envfile-{uuid.uuid4().hex[:8]}").returncode != 0


def _dump_env(
    engine: ContainerEngine, project: str, image: str, env_file: Path, host_dir: Path
) -> bytes:
    """The environment a container on `env_file` was started with, read from the host: a
    shell inside would drop the names that are not identifiers."""
    svc = ContainerSpec(
        name="svc", image=image, env_file=env_file, command=SLEEP, stop_signal="SIGKILL"
    )
    engine.apply(project, [svc])
    pid = wait_for(lambda: main_pid(engine, project, "svc"))
    return Path(f"/proc/{pid}/environ").read_bytes()
