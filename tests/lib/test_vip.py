"""Feature: the controller learns its VIP from keepalived's unit databags on `vip`."""

from __future__ import annotations

import ops
import pytest
from ops import testing

from contrail_common.vip import ENDPOINT, Vip, VipReading, read_vip

META = {"name": "reader", "requires": {ENDPOINT: {"interface": "http", "limit": 1}}}


class Reader(ops.CharmBase):
    last: VipReading = VipReading()

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on.update_status, self._read)

    def _read(self, _event: ops.EventBase) -> None:
        Reader.last = read_vip(self.model.get_relation(ENDPOINT))


def reading(*units: dict[str, str]) -> VipReading:
    relations = []
    if units:
        relations.append(
            testing.Relation(
                ENDPOINT,
                remote_app_name="keepalived",
                remote_units_data={n: bag for n, bag in enumerate(units)},
            )
        )
    ctx = testing.Context(Reader, meta=META)
    ctx.run(ctx.on.update_status(), testing.State(relations=relations))
    return Reader.last


def published(vip: str = "10.0.0.100", hostname: str = "", port: str = "8082") -> dict[str, str]:
    return {"hostname": hostname or vip, "private-address": vip, "port": port}


def test_no_relation_means_no_vip_and_nothing_to_say():
    found = reading()
    assert (found.vip, found.problems, found.notes) == (None, [], [])


def test_every_unit_agreeing_gives_the_vip():
    found = reading(published(), published(), published())
    assert found.vip == Vip("10.0.0.100", None, 8082)
    assert found.problems == [] and found.notes == []


def test_a_vip_hostname_comes_with_the_vip():
    found = reading(published(hostname="contrail-api.example.com"))
    assert found.vip == Vip("10.0.0.100", "contrail-api.example.com", 8082)


def test_private_address_alone_is_the_units_own_address_not_the_vip():
    """GIVEN keepalived has not started (no virtual_ip) THEN Juju's private-address, the
    keepalived unit's own address, is never taken for the VIP."""
    found = reading({"private-address": "10.0.0.10"}, {"private-address": "10.0.6.10"})
    assert found.vip is None
    assert found.notes == ["no VIP yet: keepalived publishes none (set its virtual_ip)"]


def test_units_that_disagree_give_no_vip():
    found = reading(published("10.0.0.100"), published("10.0.0.101"))
    assert found.vip is None
    assert found.notes == [
        "no VIP: keepalived units publish different ones (10.0.0.100, 10.0.0.101)"
    ]


def test_a_health_check_on_another_port_is_pointed_out():
    found = reading(published(port="443"))
    assert found.vip == Vip("10.0.0.100", None, 443)
    assert found.notes == [
        "keepalived health-checks port 443: set its port to 8082 so the VIP follows a "
        "running config API"
    ]


@pytest.mark.parametrize(
    ("bag", "key"),
    [
        (published(vip="10.0.0.300"), "private-address"),
        (published(port="99999"), "port"),
        ({**published(), "hostname": "bad host\nname"}, "hostname"),
        (published(vip="fe80::1%eth0", hostname="vip.example.com"), "private-address"),
    ],
)
def test_malformed_data_blocks_naming_the_key(bag, key):
    found = reading(bag)
    assert found.vip is None
    assert [str(p.message) for p in found.problems] == [
        f"vip data from keepalived/0 is malformed ({key}): fix keepalived's options"
    ]
