"""The metrics exporter: introspect parsing over real HTTP, the collector, and the process.

The introspect port is `fake_introspect` (no Contrail daemon runs here); the exporter runs as
the charms install it, a separate process on 127.0.0.1 scraped over HTTP, and its output is
read back with prometheus_client's own parser.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_introspect import FakeIntrospect, agent_xmpp, bgp_neighbors, neighbor, xmpp_session
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from contrail_common.containers.state import ContainerState, ContainerStatus
from contrail_common.hostpaths import HostRoot
from contrail_common.monitoring import cos, introspect, states
from contrail_common.monitoring.contrail_exporter import ContrailCollector
from contrail_common.testing import RecordingRunner, free_port, scrape_metrics

PROJECT = "contrail-controller-0"
STATES = {
    "control": ContainerStatus("control", ContainerState.RUNNING),
    "dns": ContainerStatus("dns", ContainerState.EXITED, exit_code=2),
    "named": ContainerStatus("named", ContainerState.RESTARTING, exit_code=1),
    "node-init": ContainerStatus("node-init", ContainerState.EXITED, exit_code=0),
}

CONTROL_PAGES = {
    "/Snh_BgpNeighborReq": bgp_neighbors(
        [
            neighbor("mx1", "10.0.0.254"),
            neighbor("mx2", "10.0.0.253", state="Active"),
        ],
        next_batch=("BgpNeighborReqIterate", "ip-fabric||mx2"),
    ),
    "/Snh_BgpNeighborReqIterate?x=ip-fabric||mx2": bgp_neighbors(
        [
            neighbor("compute-1", "10.0.0.21", encoding="XMPP"),
            neighbor("compute-2", "10.0.0.22", encoding="XMPP", state="Idle"),
        ]
    ),
}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def collect(collector: ContrailCollector) -> dict:
    registry = CollectorRegistry()
    registry.register(collector)
    return samples(generate_latest(registry).decode())


# -- introspect -----------------------------------------------------------------------------


def test_control_node_peers_follow_the_next_batch_and_tell_bgp_from_xmpp():
    with FakeIntrospect(CONTROL_PAGES).running() as fake:
        peers = introspect.control_node_peers(fake.base)
    assert [(p.kind, p.name, p.address, p.up) for p in peers] == [
        ("bgp", "mx1", "10.0.0.254", True),
        ("bgp", "mx2", "10.0.0.253", False),
        ("xmpp", "compute-1", "10.0.0.21", True),
        ("xmpp", "compute-2", "10.0.0.22", False),
    ]
    assert fake.requests == [
        "/Snh_BgpNeighborReq", "/Snh_BgpNeighborReqIterate?x=ip-fabric%7C%7Cmx2"
    ]  # fmt: skip


def test_vrouter_agent_sessions():
    pages = {"/Snh_AgentXmppConnectionStatusReq": agent_xmpp(
        [xmpp_session("10.0.0.10"), xmpp_session("10.0.0.11", state="Active")]
    )}  # fmt: skip
    with FakeIntrospect(pages).running() as fake:
        peers = introspect.vrouter_agent_peers(fake.base)
    assert [(p.kind, p.address, p.up) for p in peers] == [
        ("xmpp", "10.0.0.10", True), ("xmpp", "10.0.0.11", False)
    ]  # fmt: skip


def test_several_top_level_responses_in_one_document_are_all_read():
    first = bgp_neighbors([neighbor("mx1", "10.0.0.254")])
    second = bgp_neighbors([neighbor("mx2", "10.0.0.253")]).split("\n", 2)[2]
    with FakeIntrospect({"/Snh_BgpNeighborReq": first + second}).running() as fake:
        names = [p.name for p in introspect.control_node_peers(fake.base)]
    assert names == ["mx1", "mx2"]


def test_a_batch_that_never_ends_is_cut_at_the_bound():
    endless = bgp_neighbors([neighbor("mx1", "10.0.0.254")], ("BgpNeighborReqIterate", "again"))
    pages = {"/Snh_BgpNeighborReq": endless, "/Snh_BgpNeighborReqIterate?x=again": endless}
    with FakeIntrospect(pages).running() as fake:
        peers = introspect.control_node_peers(fake.base)
    assert len(peers) == introspect.MAX_BATCHES == len(fake.requests)


@pytest.mark.parametrize(
    ("pages", "message"),
    [({}, "404"), ({"/Snh_BgpNeighborReq": "<unclosed>"}, "not Sandesh XML")],
)
def test_introspect_errors_are_typed(pages, message):
    with FakeIntrospect(pages).running() as fake:
        with pytest.raises(introspect.IntrospectError, match=message):
            introspect.control_node_peers(fake.base)


def test_a_closed_port_is_an_introspect_error():
    with pytest.raises(introspect.IntrospectError):
        introspect.control_node_peers(f"http://127.0.0.1:{free_port()}", timeout=2)


def test_only_plain_http_urls_are_fetched():
    with pytest.raises(introspect.IntrospectError, match="plain http"):
        introspect.http_fetch("file:///etc/shadow", 1)


# -- collector ------------------------------------------------------------------------------


def test_collector_exports_the_recorded_states(tmp_path):
    path = states.record_container_states(HostRoot(tmp_path), PROJECT, STATES, {"node-init"}, 1e9)
    got = collect(ContrailCollector(str(path)))
    assert got[("contrail_container_states_recorded", ())] == 1
    assert got[("contrail_container_states_timestamp_seconds", ())] == 1e9
    up = {dict(k[1])["container"]: v for k, v in got.items() if k[0] == "contrail_container_up"}
    assert up == {"control": 1, "dns": 0, "named": 0, "node-init": 1}
    one_hot = {
        (dict(k[1])["container"], dict(k[1])["state"])
        for k, v in got.items()
        if k[0] == "contrail_container_state" and v == 1
    }
    assert one_hot == {
        ("control", "running"), ("dns", "exited"), ("named", "restarting"),
        ("node-init", "exited"),
    }  # fmt: skip
    assert len([k for k in got if k[0] == "contrail_container_state"]) == 4 * 6
    codes = {
        dict(k[1])["container"]: v
        for k, v in got.items()
        if k[0] == "contrail_container_exit_code"
    }
    assert codes == {"dns": 2, "named": 1, "node-init": 0}
    assert not [k for k in got if "peer" in k[0] or "introspect" in k[0]]


@pytest.mark.parametrize("content", [None, "{not json", '{"containers": []}', "[]"])
def test_a_missing_or_malformed_state_file_is_reported_not_raised(tmp_path, content):
    path = tmp_path / "states.json"
    if content is not None:
        path.write_text(content)
    got = collect(ContrailCollector(str(path)))
    assert got == {("contrail_container_states_recorded", ()): 0}


def test_collector_exports_sessions_and_an_unreachable_introspect(tmp_path):
    targets = [("control", ""), ("vrouter-agent", f"http://127.0.0.1:{free_port()}")]
    with FakeIntrospect(CONTROL_PAGES).running() as fake:
        targets[0] = ("control", fake.base)
        got = collect(ContrailCollector(str(tmp_path / "none.json"), targets, timeout=2))
    assert got[("contrail_introspect_up", (("service", "control"),))] == 1
    assert got[("contrail_introspect_up", (("service", "vrouter-agent"),))] == 0

    def peer(kind: str, name: str, address: str) -> float:
        labels = (("address", address), ("peer", name), ("service", "control"))
        return got[(f"contrail_{kind}_peer_up", labels)]

    assert peer("bgp", "mx1", "10.0.0.254") == 1 and peer("bgp", "mx2", "10.0.0.253") == 0
    assert peer("xmpp", "compute-1", "10.0.0.21") == 1
    assert peer("xmpp", "compute-2", "10.0.0.22") == 0


# -- the process, as installed ------------------------------------------------------------


@pytest.fixture
def installed(tmp_path) -> Iterator[Path]:
    """The exporter's files where the charm installs them, in a scratch host tree."""
    host = HostRoot(tmp_path)
    service = cos.ExporterService(host, "contrail-controller/0", PROJECT, RecordingRunner())
    service._install_sources()
    yield host.path(cos.EXPORTER_DIR) / "contrail_exporter.py"


def test_installed_exporter_serves_metrics_and_stops_on_sigterm(tmp_path, installed):
    path = states.record_container_states(HostRoot(tmp_path), PROJECT, STATES, {"node-init"})
    port = free_port()
    with FakeIntrospect(CONTROL_PAGES).running() as fake:
        process = subprocess.Popen(
            [sys.executable, "-E", "-s", str(installed), "--listen", f"127.0.0.1:{port}",
             "--state-file", str(path), "--introspect", f"control={fake.base}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/",
            env={"PATH": os.environ.get("PATH", "/usr/bin")},
        )  # fmt: skip
        try:
            got = samples(scrape_metrics(port, process))
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert got[("contrail_container_up", (("container", "control"),))] == 1
    assert got[("contrail_container_up", (("container", "dns"),))] == 0
    labels = (("address", "10.0.0.253"), ("peer", "mx2"), ("service", "control"))
    assert got[("contrail_bgp_peer_up", labels)] == 0
    assert f"serving metrics on 127.0.0.1:{port}" in stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--listen", "nowhere", "--state-file", "x"],
        ["--listen", "127.0.0.1:1", "--state-file", "x", "--introspect", "ftp=http://a:1"],
        ["--listen", "127.0.0.1:1", "--state-file", "x", "--introspect", "control=file:///"],
    ],
)
def test_bad_arguments_exit_2_with_usage(installed, argv):
    result = subprocess.run(
        [sys.executable, "-E", "-s", str(installed), *argv],
        capture_output=True, text=True, check=False, timeout=30,
        env={"PATH": os.environ.get("PATH", "/usr/bin")},
    )  # fmt: skip
    assert result.returncode == 2
    assert "usage:" in result.stderr
