"""The engine layer against real dockerd and containerd (each test runs on both)."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from contrail_common.containers import (
    ContainerEngine,
    ContainerSpec,
    ContainerState,
    EngineError,
    ImagePullError,
    Mount,
    PullFailure,
    RegistryCredentials,
    RestartPolicy,
)
from contrail_common.containers.containerd_engine import (
    ContainerdEngine,
    filter_literal,
    label_selector,
)
from contrail_common.containers.docker_engine import DockerEngine
from contrail_common.containers.spec import container_id
from contrail_common.rendering import write_env_file

pytestmark = pytest.mark.workload

SLEEP = ("sleep", "3600")


T = TypeVar("T")


def wait_for(predicate: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def main_pid(engine: ContainerEngine, project: str, name: str) -> int:
    """The host PID of a container's main process (0 when it is not running)."""
    cid = container_id(project, name)
    if isinstance(engine, DockerEngine):
        return engine.client.api.inspect_container(cid)["State"]["Pid"]
    assert isinstance(engine, ContainerdEngine)
    listing = subprocess.run(
        [*engine._base, "tasks", "ls"], capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == cid and fields[2] == "RUNNING":
            return int(fields[1])
    return 0


def spec(name: str, image: str, **fields) -> ContainerSpec:
    fields.setdefault("command", SLEEP)
    fields.setdefault("stop_signal", "SIGKILL")  # sleep as PID 1 ignores SIGTERM
    return ContainerSpec(name=name, image=image, **fields)


def test_apply_creates_then_changes_only_what_differs(engine, project, images, host_dir):
    env_file = host_dir / "api.env"
    write_env_file(env_file, {"LOG_LEVEL": "SYS_NOTICE"})
    specs = [
        spec("api", images["1"], env_file=env_file),
        spec("control", images["1"], env={"ROLE": "control"}),
        spec("webui", images["1"]),
    ]

    first = engine.apply(project, specs)
    assert sorted(first.created) == ["api", "control", "webui"]
    assert all(s.healthy for s in engine.status(project).values())
    pids = {s.name: main_pid(engine, project, s.name) for s in specs}

    writes = engine.io.writes
    idle = engine.apply(project, specs)
    assert sorted(idle.unchanged) == ["api", "control", "webui"] and not idle.changed
    assert engine.io.writes == writes, "an unchanged re-apply must not write to the engine"

    specs[1] = spec("control", images["1"], env={"ROLE": "control", "DEBUG": "1"})
    changed = engine.apply(project, specs)
    assert changed.recreated == ["control"]
    assert sorted(changed.unchanged) == ["api", "webui"]
    assert main_pid(engine, project, "api") == pids["api"]
    assert main_pid(engine, project, "webui") == pids["webui"]
    assert main_pid(engine, project, "control") != pids["control"]

    write_env_file(env_file, {"LOG_LEVEL": "SYS_DEBUG"})
    assert engine.apply(project, specs).recreated == ["api"]

    shrunk = engine.apply(project, specs[:2])
    assert shrunk.removed == ["webui"]
    assert sorted(engine.status(project)) == ["api", "control"]


def test_image_change_recreates_and_version_label_is_read(engine, project, images):
    engine.apply(project, [spec("svc", images["1"])])
    assert engine.inspect_image(images["1"]).version == "2311.1"
    report = engine.apply(project, [spec("svc", images["2"])])
    assert report.recreated == ["svc"]
    assert engine.inspect_image(images["2"]).version == "2311.2"


def test_environment_and_mounts_reach_the_container(engine, project, images, host_dir):
    env_file = host_dir / "svc.env"
    write_env_file(env_file, {"FROM_FILE": "file value", "OVERRIDDEN": "file"})
    out = host_dir / "out"
    specs = [
        spec(
            "svc",
            images["1"],
            env_file=env_file,
            env={"FROM_SPEC": "spec", "OVERRIDDEN": "spec"},
            mounts=(
                Mount(source=str(out), target="/out"),
                Mount(source="data", target="/data", kind="volume"),
            ),
            command=("sh", "-c", "env > /out/env; echo ok > /data/probe; sleep 3600"),
        )
    ]
    engine.apply(project, specs)
    seen = wait_for(lambda: (out / "env").exists() and (out / "env").read_text())
    assert "FROM_FILE=file value" in seen
    assert "FROM_SPEC=spec" in seen
    assert "OVERRIDDEN=spec" in seen


def test_restart_policy_brings_a_killed_container_back(engine, project, images):
    engine.apply(project, [spec("agent", images["1"], restart=RestartPolicy.ALWAYS)])
    before = wait_for(lambda: main_pid(engine, project, "agent"))
    os.kill(before, signal.SIGKILL)
    after = wait_for(lambda: (pid := main_pid(engine, project, "agent")) and pid != before and pid)
    assert after != before
    assert engine.status(project)["agent"].state == ContainerState.RUNNING


def test_status_shows_exit_code_of_a_crashed_container(engine, project, images):
    engine.apply(
        project,
        [
            spec("oneshot", images["1"], restart=RestartPolicy.NO, command=("sh", "-c", "exit 3")),
            spec("looping", images["1"], command=("sh", "-c", "sleep 0.2; exit 5")),
        ],
    )
    crashed = wait_for(lambda: engine.status(project)["oneshot"].state == ContainerState.EXITED)
    assert crashed
    assert engine.status(project)["oneshot"].exit_code == 3
    # A crash-looping container shows as restarting with its last exit code.
    looping = wait_for(
        lambda: (
            (s := engine.status(project)["looping"]).state == ContainerState.RESTARTING
            and s.exit_code == 5
            and s
        )
    )
    assert "restarting (last exit code 5)" in looping.describe()


def test_status_reports_missing_and_makes_no_writes(engine, project, images):
    engine.apply(project, [spec("present", images["1"])])
    writes = engine.io.writes
    status = engine.status(project, expected=["present", "absent"])
    assert status["present"].state == ContainerState.RUNNING
    assert status["absent"].state == ContainerState.MISSING
    assert engine.io.writes == writes


def test_logs_return_the_last_lines(engine, project, images):
    command = ("sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; sleep 3600")
    engine.apply(project, [spec("talker", images["1"], command=command)])
    wait_for(lambda: "line5" in engine.logs(project, "talker", lines=2))
    assert engine.logs(project, "talker", lines=2).split() == ["line4", "line5"]
    with pytest.raises(EngineError, match="no container named"):
        engine.logs(project, "nobody")


def test_foreign_containers_are_never_touched(engine, project, images):
    other = f"{project}x"
    engine.apply(other, [spec("keep", images["1"])])
    foreign_name = container_id(project, "taken")
    start_foreign(engine, foreign_name, images["1"])
    try:
        with pytest.raises(EngineError, match="not owned by project"):
            engine.apply(project, [spec("taken", images["1"])])
        engine.apply(project, [spec("mine", images["1"])])
        assert engine.remove_project(project) == ["mine"]
        assert engine.status(other)["keep"].state == ContainerState.RUNNING
        assert foreign_exists(engine, foreign_name)
    finally:
        engine.remove_project(other)
        remove_foreign(engine, foreign_name)


def start_foreign(engine: ContainerEngine, name: str, image: str) -> None:
    """A container made without this library (no ownership labels)."""
    if isinstance(engine, DockerEngine):
        engine.client.containers.run(image, ["sleep", "3600"], name=name, detach=True)
    else:
        assert isinstance(engine, ContainerdEngine)
        subprocess.run([*engine._base, "run", "-d", image, name, "sleep", "3600"], check=True)


def foreign_exists(engine: ContainerEngine, name: str) -> bool:
    if isinstance(engine, DockerEngine):
        return bool(engine.client.containers.list(all=True, filters={"name": name}))
    assert isinstance(engine, ContainerdEngine)
    return engine._exists(name)


def remove_foreign(engine: ContainerEngine, name: str) -> None:
    if isinstance(engine, DockerEngine):
        engine.client.containers.get(name).remove(force=True)
    else:
        assert isinstance(engine, ContainerdEngine)
        subprocess.run([*engine._base, "tasks", "delete", "--force", name], check=False)
        subprocess.run([*engine._base, "containers", "delete", name], check=False)


def test_pull_from_authenticated_registry(engine, images, credentials):
    info = engine.pull(images["2"], credentials, plain_http=True)
    assert info.version == "2311.2"


def test_pull_with_wrong_password_is_unauthorized(engine, images, services, credentials):
    wrong = RegistryCredentials(credentials.username, "not-the-password")
    with pytest.raises(ImagePullError) as raised:
        engine.pull(images["1"], wrong, plain_http=True)
    error = raised.value
    assert error.cause == PullFailure.UNAUTHORIZED
    assert images["1"] in str(error) and services.registry in str(error)
    assert "not-the-password" not in str(error)


def test_pull_of_missing_image_is_not_found(engine, services, credentials):
    missing = f"{services.registry}/contrail/no-such-image:1"
    with pytest.raises(ImagePullError) as raised:
        engine.pull(missing, credentials, plain_http=True)
    assert raised.value.cause == PullFailure.NOT_FOUND
    assert missing in str(raised.value)


def test_pull_from_unreachable_registry_retries_then_fails(engine, credentials):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but never listening: connections are refused
        reference = f"127.0.0.1:{port}/contrail/test-service:1"
        waits: list[float] = []
        with pytest.raises(ImagePullError) as raised:
            engine.pull(reference, credentials, plain_http=True, attempts=3, sleep=waits.append)
    assert raised.value.cause == PullFailure.UNREACHABLE
    assert f"127.0.0.1:{port}" in str(raised.value)
    assert len(waits) == 2, "two retries after the first failure"


def test_containerd_keeps_secrets_off_argv_and_disk(
    containerd_engine, images, credentials, tmp_path
):
    """Every ctr argv is recorded by a wrapper: neither the password nor env values appear."""
    engine, record = recording_containerd(containerd_engine, tmp_path)
    engine.pull(images["1"], credentials, plain_http=True)
    project = f"s{os.getpid()}"
    try:
        engine.apply(project, [spec("svc", images["1"], env={"API_TOKEN": "tok-3f9a1c"})])
        env_file = tmp_path / "state" / f"{project}-svc.env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert "API_TOKEN=tok-3f9a1c" in env_file.read_text()
    finally:
        engine.remove_project(project)
    argv_log = record.read_text()
    assert "images pull" in argv_log
    assert credentials.password not in argv_log
    assert "tok-3f9a1c" not in argv_log
    assert not Path(tmp_path / "state" / f"{project}-svc.env").exists()


def test_on_failure_restarts_only_failures(engine, project, images):
    engine.apply(
        project,
        [
            spec(
                "clean-exit",
                images["1"],
                restart=RestartPolicy.ON_FAILURE,
                command=("sh", "-c", "sleep 0.5; exit 0"),
            ),
            spec(
                "failing",
                images["1"],
                restart=RestartPolicy.ON_FAILURE,
                command=("sh", "-c", "sleep 0.5; exit 4"),
            ),
        ],
    )
    failing_restarts = wait_for(
        lambda: engine.status(project)["failing"].state == ContainerState.RESTARTING
    )
    assert failing_restarts
    if isinstance(engine, ContainerdEngine) and not engine.honours_restart_policy:
        # containerd 1.6's restart monitor ignores the policy: the status says so truthfully.
        restarted = wait_for(
            lambda: engine.status(project)["clean-exit"].state == ContainerState.RESTARTING
        )
        assert restarted
        return
    wait_for(lambda: engine.status(project)["clean-exit"].state == ContainerState.EXITED)
    assert engine.status(project)["clean-exit"].exit_code == 0
    time.sleep(3)  # longer than the restart monitor's interval: still not restarted
    assert engine.status(project)["clean-exit"].state == ContainerState.EXITED


def recording_containerd(
    containerd_engine: ContainerdEngine, tmp_path: Path
) -> tuple[ContainerdEngine, Path]:
    """An engine on the same containerd whose every `ctr` run is recorded, one line each."""
    record = tmp_path / "ctr-calls.log"
    wrapper = tmp_path / "ctr"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {record}\nexec ctr "$@"\n')
    wrapper.chmod(0o755)
    engine = ContainerdEngine(
        socket=containerd_engine.socket,
        namespace=containerd_engine.namespace,
        state_dir=tmp_path / "state",
        log_dir=tmp_path / "logs",
        volume_dir=tmp_path / "volumes",
        ctr=str(wrapper),
        logrotate_conf=None,
    )
    return engine, record


def test_containerd_finds_unchanged_containers_in_one_ctr_call(
    containerd_engine, images, credentials, tmp_path, host_dir
):
    """An unchanged re-apply runs `ctr` once, however many containers; changes still apply."""
    engine, record = recording_containerd(containerd_engine, tmp_path)
    if engine.inspect_image(images["1"]) is None:
        engine.pull(images["1"], credentials, plain_http=True)
    env_file = host_dir / "api.env"
    write_env_file(env_file, {"LOG_LEVEL": "SYS_NOTICE"})
    specs = [
        spec("api", images["1"], env_file=env_file),
        spec("control", images["1"], env={"ROLE": "control"}),
        spec("webui", images["1"], stop_signal="SIGTERM", stop_timeout=1),
        spec("nodemgr", images["1"], restart=RestartPolicy.NO),
    ]
    project = f"c{os.getpid()}"
    try:
        assert sorted(engine.apply(project, specs).created) == sorted(s.name for s in specs)

        record.write_text("")
        idle = engine.apply(project, specs)
        assert sorted(idle.unchanged) == sorted(s.name for s in specs) and not idle.changed
        calls = record.read_text().splitlines()
        assert len(calls) == 1, calls
        assert " containers ls --quiet " in calls[0]

        # A changed spec, a changed env file and a stale container are all still seen.
        write_env_file(env_file, {"LOG_LEVEL": "SYS_DEBUG"})
        specs[1] = spec("control", images["1"], env={"ROLE": "control", "DEBUG": "1"})
        changed = engine.apply(project, specs[:3])
        assert sorted(changed.recreated) == ["api", "control"]
        assert changed.unchanged == ["webui"]
        assert changed.removed == ["nodemgr"]

        record.write_text("")
        assert sorted(engine.apply(project, specs[:3]).unchanged) == ["api", "control", "webui"]
        assert len(record.read_text().splitlines()) == 1

        # One container too many in the project is no idle re-apply: it is removed.
        assert engine.apply(project, specs[:2]).removed == ["webui"]
        assert sorted(engine.status(project)) == ["api", "control"]
    finally:
        engine.remove_project(project)
    assert engine.status(project) == {}


FILTER_VALUES = [
    "0123456789abcdef" * 4,
    "svc.name_1-x",
    'with "double quotes"',
    "back\\slash\\",
    "comma,and space",
    "comma",
    "op==and!=and~=",
    'labels."k"=="v"',
    "tab\there",
    "line\nbreak",
    "\x01control\x7f",
    "trailing space ",
    "ünïcødé ✓",
    "\ufffd",
    "emoji \U0001f642",
]  # Not "": containerd does not store a label whose value is empty.


def test_containerd_filter_literals_match_exact_label_values(
    containerd_engine, images, credentials
):
    """Each label value, quoted by the engine, selects exactly its own container in containerd."""
    engine = containerd_engine
    if engine.inspect_image(images["1"]) is None:
        engine.pull(images["1"], credentials, plain_http=True)
    key = "example.org/filter test"
    ids = [f"q{os.getpid()}-{index}" for index in range(len(FILTER_VALUES))]
    try:
        for cid, value in zip(ids, FILTER_VALUES, strict=True):
            create = ["containers", "create", "--label", f"{key}={value}", images["1"], cid]
            subprocess.run([*engine._base, *create], check=True, capture_output=True)
        selectors = [label_selector(key, value) for value in FILTER_VALUES]
        for cid, selector in zip(ids, selectors, strict=True):
            assert engine._ctr("containers", "ls", "--quiet", selector).stdout.split() == [cid]
        # Several filters are OR-ed; selectors within one filter are AND-ed.
        union = engine._ctr("containers", "ls", "--quiet", *selectors).stdout.split()
        assert sorted(union) == sorted(ids)
        both = f"id=={filter_literal(ids[2])},{selectors[2]}"
        assert engine._ctr("containers", "ls", "--quiet", both).stdout.split() == [ids[2]]
        neither = f"id=={filter_literal(ids[2])},{selectors[3]}"
        assert engine._ctr("containers", "ls", "--quiet", neither).stdout.split() == []
    finally:
        for cid in ids:
            subprocess.run([*engine._base, "containers", "delete", cid], check=False)
