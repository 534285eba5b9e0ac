"""Feature: permanent member ids and the lists the images read.

The ZooKeeper and Kafka entrypoints take a member's id from its position in their list, counting
every entry, and keep the first id they were given; so ids are kept by the leader and lists are
rendered from them (`images/membership.yaml`).
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from contrail_common.images import contract
from contrail_common.images.releases import LINES
from contrail_common.membership import (
    PLACEHOLDER,
    MemberRecord,
    MembershipAppData,
    MembershipUnitData,
    UnitFacts,
    addresses,
    node_hostname,
    ordinal_list,
    zoo_servers,
)
from contrail_common.membership.ids import migrate, number_members
from contrail_common.membership.schema import MAX_MEMBER_ID

APP = "contrail-controller"


def facts(n: int) -> UnitFacts:
    return UnitFacts(address=f"10.0.0.{n + 10}", hostname=f"juju-c0ffee-{n}")


def present(*numbers: int) -> dict[str, UnitFacts | None]:
    return {f"{APP}/{n}": facts(n) for n in numbers}


def ids(members: list[MemberRecord]) -> dict[str, int | None]:
    return {m.unit: m.id for m in members}


def position_in(entries: list[str], address: str) -> int:
    """The place the entrypoints find for a unit: the first entry that is its own address,
    counting every entry before it (`find_my_ip_and_order_for_node_list`)."""
    return entries.index(address) + 1


def test_new_units_get_the_next_ids_in_unit_order():
    """GIVEN three units that published addresses WHEN the leader first numbers them THEN they
    get 1, 2, 3 by unit number, and the next id is 4."""
    numbered = number_members([], None, present(2, 0, 1))
    assert ids(numbered.members) == {f"{APP}/0": 1, f"{APP}/1": 2, f"{APP}/2": 3}
    assert numbered.next_id == 4


def test_a_unit_without_an_address_yet_gets_no_id():
    numbered = number_members([], None, {f"{APP}/0": facts(0), f"{APP}/1": None})
    assert ids(numbered.members) == {f"{APP}/0": 1}


def test_members_written_before_stable_ids_take_their_positions():
    """GIVEN a databag from before stable ids (members in order, no ids) THEN each member's id
    is its position, the myid its ZooKeeper already has."""
    old = MembershipAppData.model_validate(
        {
            "members": [
                {"unit": f"{APP}/3", "address": "10.0.0.13"},
                {"unit": f"{APP}/0", "address": "10.0.0.10"},
            ]
        }
    )
    assert [m.id for m in migrate(old.members)] == [1, 2]
    numbered = number_members(old.members, old.next_member_id, present(0, 3, 5))
    assert ids(numbered.members) == {f"{APP}/3": 1, f"{APP}/0": 2, f"{APP}/5": 3}


def test_ids_survive_departures_and_are_never_reused():
    """GIVEN 1, 2, 3 WHEN unit 1 departs THEN it is kept as departed with id 2; once its record
    is gone, a new unit gets 4, never 2."""
    first = number_members([], None, present(0, 1, 2))
    gone = number_members(first.members, first.next_id, present(0, 2))
    assert ids(gone.members) == ids(first.members)
    assert [m.departed for m in gone.members] == [False, True, False]
    removed = [m for m in gone.members if not m.departed]
    later = number_members(removed, gone.next_id, present(0, 2, 3))
    assert ids(later.members) == {f"{APP}/0": 1, f"{APP}/2": 3, f"{APP}/3": 4}


def test_a_departed_member_that_returns_keeps_its_id_unless_its_removal_started():
    first = number_members([], None, present(0, 1))
    gone = number_members(first.members, first.next_id, present(0))
    back = number_members(gone.members, gone.next_id, present(0, 1))
    assert ids(back.members) == ids(first.members) and not any(m.departed for m in back.members)
    locked = number_members(gone.members, gone.next_id, present(0, 1), locked=frozenset({2}))
    assert [m.departed for m in locked.members] == [False, True]


def test_an_address_change_keeps_the_id():
    first = number_members([], None, present(0, 1))
    moved = {**present(0), f"{APP}/1": UnitFacts(address="10.9.9.9")}
    again = number_members(first.members, first.next_id, moved)
    assert [(m.id, m.address, m.hostname) for m in again.members] == [
        (1, "10.0.0.10", "juju-c0ffee-0"),
        (2, "10.9.9.9", "juju-c0ffee-1"),  # the host name it published before is kept
    ]


def test_no_id_past_zookeepers_range():
    numbered = number_members([], MAX_MEMBER_ID, present(0, 1))
    assert ids(numbered.members) == {f"{APP}/0": MAX_MEMBER_ID}
    assert numbered.unnumbered == [f"{APP}/1"]


def test_ordinal_lists_keep_every_member_at_its_id():
    """GIVEN members 1, 3 and 5 (2 and 4 removed) THEN each finds its own address at the
    position of its id, the holes are the placeholder, and ZOO_SERVERS names the ids."""
    members = [MemberRecord(unit=f"{APP}/{n}", id=n, address=f"10.0.0.{n}") for n in (1, 3, 5)]
    entries = ordinal_list(members)
    assert entries == ["10.0.0.1", PLACEHOLDER, "10.0.0.3", PLACEHOLDER, "10.0.0.5"]
    for member in members:
        assert position_in(entries, member.address) == member.id
    assert zoo_servers(members) == (
        "server.1=10.0.0.1:2888:3888 server.3=10.0.0.3:2888:3888 server.5=10.0.0.5:2888:3888"
    )
    assert addresses(reversed(members)) == ["10.0.0.1", "10.0.0.3", "10.0.0.5"]


def test_zoo_servers_brackets_ipv6():
    member = MemberRecord(unit=f"{APP}/0", id=7, address="fd00::7")
    assert zoo_servers([member]) == "server.7=[fd00::7]:2888:3888"
    assert ordinal_list([]) == []


def test_databag_fields_are_hyphenated_json_and_refuse_bad_values():
    data = MembershipAppData.model_validate(
        {
            "members": [{"unit": f"{APP}/0", "id": 1, "address": "10.0.0.10", "hostname": "h0"}],
            "next_member_id": 2,
        }
    )
    dumped = json.loads(data.model_dump_json(by_alias=True))
    assert {"members", "next-member-id", "removals"} <= set(dumped)
    assert dumped["members"][0] == {
        "unit": f"{APP}/0", "address": "10.0.0.10", "data-address": None,
        "id": 1, "hostname": "h0", "departed": False,
    }  # fmt: skip
    for bad in (
        {"unit": "u/0", "address": "fe80::1%eth0"},
        {"unit": "u/0", "address": "10.0.0.1", "hostname": "a.b"},
        {"unit": "u/0", "address": "10.0.0.1", "id": 0},
        {"unit": "u/0", "address": "10.0.0.1", "id": 256},
    ):
        with pytest.raises(ValidationError):
            MemberRecord.model_validate(bad)
    assert MembershipUnitData.model_validate({"hostname": "juju-1"}).hostname == "juju-1"


def test_node_hostname_is_the_first_name_cut_at_the_first_dot():
    assert node_hostname("10.0.0.1", lambda a: ("juju-abc-1.lxd", [], [a])) == "juju-abc-1"

    def unknown(address: str) -> tuple[str, list[str], list[str]]:
        raise OSError("host not found")

    assert node_hostname("10.0.0.1", unknown) is None


@pytest.mark.parametrize("line", sorted(LINES))
def test_ordinal_lists_and_zoo_servers_keep_the_image_contract(line):
    """The rendered lists with holes are well-formed `members` lists for every release line,
    and ZOO_SERVERS is a variable the zookeeper image reads."""
    members = [MemberRecord(unit=f"{APP}/{n}", id=n, address=f"10.0.0.{n}") for n in (1, 3)]
    nodes = ",".join(ordinal_list(members))
    release = LINES[line]
    zookeeper = {"ZOOKEEPER_NODES": nodes, "ZOO_SERVERS": zoo_servers(members)}
    assert contract.problems(release, "external-zookeeper", zookeeper, "10.0.0.3") == []
    assert contract.problems(release, "external-kafka", {"KAFKA_NODES": nodes}, "10.0.0.3") == []
    assert contract.unread(line, "external-zookeeper", zookeeper) == []
