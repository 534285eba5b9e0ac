"""The shared apply/pull/status algorithm, exercised through the in-memory engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrail_common.containers import (
    ContainerSpec,
    ContainerState,
    EngineError,
    ImagePullError,
    PullFailure,
    RegistryCredentials,
)
from contrail_common.containers.memory_engine import MemoryEngine, MemoryRegistry

IMAGE = "registry.example:5000/contrail/config-api:2011"


@pytest.fixture
def engine() -> MemoryEngine:
    engine = MemoryEngine()
    engine.add_image(IMAGE, {"version": "R24.1-latest"})
    engine.pull(IMAGE)
    return engine


def specs(*names: str, **fields) -> list[ContainerSpec]:
    return [ContainerSpec(name=name, image=IMAGE, **fields) for name in names]


def test_apply_reports_each_kind_of_change(engine):
    assert engine.apply("ctl", specs("api", "schema")).created == ["api", "schema"]
    writes = engine.io.writes
    idle = engine.apply("ctl", specs("api", "schema"))
    assert idle.unchanged == ["api", "schema"] and not idle.changed
    assert engine.io.writes == writes
    changed = engine.apply("ctl", [*specs("api"), *specs("schema", env={"X": "1"}), *specs("svc")])
    assert (changed.created, changed.recreated, changed.unchanged) == (
        ["svc"],
        ["schema"],
        ["api"],
    )
    assert engine.apply("ctl", specs("api")).removed == ["schema", "svc"]


def test_projects_do_not_see_each_other(engine):
    engine.apply("ctl", specs("api"))
    engine.apply("ana", specs("api-analytics"))
    assert engine.remove_project("ctl") == ["api"]
    assert list(engine.status("ana")) == ["api-analytics"]


def test_name_taken_by_another_owner_is_an_error(engine):
    engine.apply("a", specs("b-c"))
    with pytest.raises(EngineError, match="not owned"):
        engine.apply("a-b", specs("c"))  # same engine-wide name a-b-c


def test_duplicate_names_and_missing_env_file_are_errors(engine, tmp_path: Path):
    with pytest.raises(EngineError, match="duplicate container names"):
        engine.apply("ctl", specs("api", "api"))
    with pytest.raises(EngineError, match=r"env file .* is missing"):
        engine.apply("ctl", specs("api", env_file=tmp_path / "absent.env"))
    assert engine.status("ctl") == {}


def test_invalid_project_name_is_refused(engine):
    with pytest.raises(ValueError, match="project name"):
        engine.apply("Bad Project", [])


def test_status_names_missing_exited_and_restarting(engine):
    engine.apply("ctl", specs("api", "schema", "control"))
    engine.crash("ctl", "schema", exit_code=3)
    engine.crash("ctl", "control", exit_code=1, restarting=True)
    status = engine.status("ctl", expected=["api", "schema", "control", "webui"])
    assert status["api"].state == ContainerState.RUNNING
    assert status["schema"].describe() == "schema exited with code 3"
    assert status["control"].describe() == "control restarting (last exit code 1)"
    assert status["webui"].state == ContainerState.MISSING


def test_create_needs_the_image_pulled(engine):
    with pytest.raises(EngineError, match="pull it first"):
        engine.apply("ctl", [ContainerSpec(name="api", image="registry.example:5000/other:1")])


def test_pull_returns_the_version_label(engine):
    assert engine.pull(IMAGE).version == "R24.1-latest"


def test_pull_retries_only_an_unreachable_registry():
    engine = MemoryEngine()
    engine.registries["down.example"] = MemoryRegistry(reachable=False)
    waits: list[float] = []
    with pytest.raises(ImagePullError) as raised:
        engine.pull("down.example/a:1", attempts=4, backoff=1.5, sleep=waits.append)
    assert raised.value.cause == PullFailure.UNREACHABLE
    assert waits == [1.5, 3.0, 4.5]

    login = RegistryCredentials("user", "right")
    engine.registries["private.example"] = MemoryRegistry(credentials=login)
    engine.add_image("private.example/a:1")
    waits.clear()
    with pytest.raises(ImagePullError) as raised:
        engine.pull(
            "private.example/a:1", RegistryCredentials("user", "wrong"), sleep=waits.append
        )
    assert raised.value.cause == PullFailure.UNAUTHORIZED and waits == []
    with pytest.raises(ImagePullError) as raised:
        engine.pull("private.example/missing:1", login, sleep=waits.append)
    assert raised.value.cause == PullFailure.NOT_FOUND and waits == []
    assert engine.pull("private.example/a:1", login).image_id.startswith("sha256:")


def test_credentials_never_show_their_password():
    assert "s3cret" not in repr(RegistryCredentials("user", "s3cret"))


def test_logs_of_unknown_container_is_an_error(engine):
    engine.apply("ctl", specs("api"))
    engine.containers["ctl-api"].output.extend(["one", "two", "three"])
    assert engine.logs("ctl", "api", lines=2) == "two\nthree\n"
    with pytest.raises(EngineError, match="no container named"):
        engine.logs("ctl", "webui")


def test_stop_uses_the_given_signal_and_the_next_apply_creates_again(engine):
    from contrail_common.containers.memory_engine import StopCall

    engine.apply("agent", specs("vrouter-agent"))
    engine.apply("agent", specs("vrouter-agent", env={"X": "1"}))  # an ordinary re-create
    assert engine.stop("agent", "vrouter-agent", "SIGQUIT", 120)
    assert engine.stops == [
        StopCall("agent", "vrouter-agent", "SIGTERM", 10),
        StopCall("agent", "vrouter-agent", "SIGQUIT", 120),
    ]
    assert engine.status("agent") == {}
    assert engine.apply("agent", specs("vrouter-agent", env={"X": "1"})).created == [
        "vrouter-agent"
    ]


def test_stop_of_a_missing_container_or_with_a_bad_signal(engine):
    assert not engine.stop("agent", "vrouter-agent", "SIGQUIT", 120)
    engine.apply("agent", specs("vrouter-agent"))
    for bad in ("QUIT", "SIGNOPE", "9"):
        with pytest.raises(EngineError, match="not a signal name"):
            engine.stop("agent", "vrouter-agent", bad, 120)
    with pytest.raises(EngineError, match="must not be negative"):
        engine.stop("agent", "vrouter-agent", "SIGQUIT", -1)
    assert list(engine.status("agent")) == ["vrouter-agent"]
