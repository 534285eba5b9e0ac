"""Fixtures: the agent charm on a fake machine with an in-memory engine (see agent_testing)."""

from __future__ import annotations

import ops
import pytest
from agent_testing import FQDN, SHORT, VERSION, FakeMachine, image_names
from charm import ContrailAgentCharm

import contrail_common.host.hugepages as hugepages_module
from contrail_common.hostpaths import HostRoot
from contrail_common.testing import charm_fixtures

engine, host, scratch_host, ctx = charm_fixtures(
    ContrailAgentCharm, image_names, VERSION, ["192.0.2.0"]
)


@pytest.fixture(autouse=True)
def machine(monkeypatch, host: HostRoot) -> FakeMachine:
    fake = FakeMachine(host)
    monkeypatch.setattr(hugepages_module, "set_runtime_hugepages", fake.allocate_2m)
    monkeypatch.setattr(
        ContrailAgentCharm, "run_host_command", lambda self, argv, **kw: fake.run(list(argv), **kw)
    )
    monkeypatch.setattr(
        ContrailAgentCharm, "node_hostname", lambda self, fqdn: FQDN if fqdn else SHORT
    )
    return fake


@pytest.fixture(autouse=True)
def kernel_build_waits(monkeypatch) -> list[float]:
    """The charm's waits for vrouter-kernel-init, recorded instead of slept (the build never
    finishes unless a test says so, see kernel_testing.FakeKernelBuild)."""
    calls: list[float] = []
    monkeypatch.setattr(ContrailAgentCharm, "sleep", lambda self, seconds: calls.append(seconds))
    return calls


@pytest.fixture
def reboots(monkeypatch) -> list[bool]:
    """Calls of ops.Unit.reboot (juju-reboot), recorded instead of run."""
    calls: list[bool] = []
    monkeypatch.setattr(ops.Unit, "reboot", lambda self, now=False: calls.append(now))
    return calls
