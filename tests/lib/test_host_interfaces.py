"""Routes and gateway from a real-format /proc/net/route, vhost0's address, bridges."""

from __future__ import annotations

import ipaddress
import json
import shutil
from pathlib import Path

import pytest

from contrail_common.host import (
    CommandFailedError,
    CommandNotFoundError,
    default_gateway,
    default_route_interfaces,
    interface_address,
    is_bridge,
    read_routes,
)
from contrail_common.hostpaths import HostRoot
from contrail_common.testing import RecordingRunner as Runner
from contrail_common.testing import write_host_file as write

# As the kernel prints it (header padding and trailing blanks included): a default route via
# 192.168.2.1 on br-ens3 (metric 100), a backup default via 10.0.0.254 on ens4 (metric 200),
# and a static route on ens5 via 172.16.0.1 to 172.20.0.0/16.
ROUTE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       \n"
    "ens4\t00000000\tFE00000A\t0003\t0\t0\t200\t00000000\t0\t0\t0                                                                               \n"
    "br-ens3\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0                                                                               \n"
    "br-ens3\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0                                                                               \n"
    "ens5\t000014AC\t010010AC\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0                                                                               \n"
    "ens5\t000010AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0                                                                               \n"
)
# `ip -json address show dev vhost0`, as iproute2 prints it.
VHOST0 = [
    {
        "ifindex": 7,
        "ifname": "vhost0",
        "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
        "mtu": 1500,
        "addr_info": [
            {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"},
            {"family": "inet6", "local": "2001:db8::5", "prefixlen": 64, "scope": "global"},
            {"family": "inet", "local": "10.0.0.5", "prefixlen": 24, "scope": "global"},
        ],
    }
]


@pytest.fixture
def host(tmp_path: Path) -> HostRoot:
    host = HostRoot(tmp_path)
    write(host, "/proc/net/route", ROUTE)
    for nic in ("lo", "ens3", "ens4", "ens5", "br-ens3"):
        host.path(f"/sys/class/net/{nic}").mkdir(parents=True)
    host.path("/sys/class/net/br-ens3/bridge").mkdir()
    return host


def test_routes_are_decoded_little_endian(host: HostRoot):
    routes = read_routes(host)
    assert [r.metric for r in routes] == [0, 0, 100, 100, 200]
    static = routes[0]
    assert static.interface == "ens5"
    assert static.destination == ipaddress.IPv4Address("172.20.0.0")
    assert static.mask == ipaddress.IPv4Address("255.255.0.0")
    assert static.gateway == ipaddress.IPv4Address("172.16.0.1")
    assert static.via_gateway and not static.is_default
    assert default_route_interfaces(host) == ["br-ens3", "ens4"]


def test_default_gateway(host: HostRoot):
    assert default_gateway(host) == "192.168.2.1"  # the lowest-metric default route
    assert default_gateway(host, "ens4") == "10.0.0.254"
    assert default_gateway(host, "ens5") == "172.16.0.1"  # no default there: its gateway route
    assert default_gateway(host, "ens3") is None
    write(host, "/proc/net/route", ROUTE.split("\n", 1)[0] + "\n")
    assert default_gateway(host) is None


def test_this_hosts_route_table_parses():
    if not Path("/proc/net/route").exists():
        pytest.skip("no /proc/net/route")
    for route in read_routes(HostRoot()):
        assert route.interface and int(route.mask) >= 0


def test_bridge_detection(host: HostRoot):
    assert is_bridge(host, "br-ens3")
    assert not is_bridge(host, "ens3")
    assert not is_bridge(host, "missing")
    with pytest.raises(ValueError, match="invalid interface name"):
        is_bridge(host, "../../etc")


def test_vhost0_address_prefers_ipv4(host: HostRoot):
    host.path("/sys/class/net/vhost0").mkdir()
    runner = Runner(stdout=json.dumps(VHOST0))
    assert interface_address(host, "vhost0", runner) == "10.0.0.5"
    assert runner.calls == [["ip", "-json", "address", "show", "dev", "vhost0"]]
    only_v6 = [dict(VHOST0[0], addr_info=VHOST0[0]["addr_info"][:2])]
    assert interface_address(host, "vhost0", Runner(stdout=json.dumps(only_v6))) == "2001:db8::5"
    no_global = [dict(VHOST0[0], addr_info=VHOST0[0]["addr_info"][:1])]
    assert interface_address(host, "vhost0", Runner(stdout=json.dumps(no_global))) is None


def test_absent_vhost0_has_no_address(host: HostRoot):
    runner = Runner(stdout=json.dumps(VHOST0))
    assert interface_address(host, "vhost0", runner) is None
    assert runner.calls == []  # not even asked: the device does not exist
    host.path("/sys/class/net/vhost0").mkdir()
    assert interface_address(host, "vhost0", Runner(stdout="", returncode=1)) is None  # vanished


def test_ip_problems_are_host_errors(host: HostRoot):
    host.path("/sys/class/net/vhost0").mkdir()
    with pytest.raises(CommandNotFoundError, match="ip not found"):
        interface_address(host, "vhost0", Runner(missing=True))
    with pytest.raises(CommandFailedError, match="ip printed no JSON"):
        interface_address(host, "vhost0", Runner(stdout="1: vhost0: <BROADCAST> mtu 1500"))


def test_real_ip_on_loopback():
    if shutil.which("ip") is None or not Path("/sys/class/net/lo").exists():
        pytest.skip("needs iproute2 and a loopback device")
    # 127.0.0.1 is host-scoped: no usable address, but the real JSON must parse.
    assert interface_address(HostRoot(), "lo") is None
    assert interface_address(HostRoot(), "nosuchdev0") is None


def test_down_default_routes_and_garbage_lines_are_ignored(host: HostRoot):
    header = ROUTE.splitlines(keepends=True)[0]
    write(
        host,
        "/proc/net/route",
        header
        + "garbage line with enough fields to look like a route 1 2 3\n"
        + "ens3\t00000000\t0101A8C0\t0002\t0\t0\t100\t00000000\t0\t0\t0\n"  # gateway flag, not up
        + "ens4\t00000000\t0102A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n",
    )
    assert default_route_interfaces(host) == ["ens4"]
