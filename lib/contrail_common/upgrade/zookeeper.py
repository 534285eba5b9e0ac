"""ZooKeeper's quorum from its four-letter words (`srvr`, `mntr`), which the Contrail image
allows on every line (`images/upgrade.yaml`: zookeeper-four-letter-words).

`srvr` answers `Key: value` lines, among them `Mode: leader|follower|standalone|observer`; a
server outside a quorum answers only "This ZooKeeper instance is not currently serving
requests". `mntr` answers tab-separated `zk_<key>\\t<value>` lines; only the leader has
`zk_followers` and `zk_synced_followers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

NOT_SERVING = "not currently serving requests"
_IN_QUORUM = ("leader", "follower")


class ZookeeperError(ValueError):
    """The text is neither a `srvr` nor a `mntr` answer."""


@dataclass(frozen=True)
class ZkServer:
    """One server as its `srvr` answer shows it; mode None while it serves nothing."""

    mode: Optional[str]
    version: str = ""
    zxid: str = ""

    @property
    def serving(self) -> bool:
        return self.mode is not None


def parse_srvr(text: str) -> ZkServer:
    if NOT_SERVING in text:
        return ZkServer(mode=None)
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    if "Mode" not in fields:
        first = text.strip().splitlines()[0] if text.strip() else "no output"
        raise ZookeeperError(f"not a ZooKeeper srvr answer: {first[:120]}")
    return ZkServer(
        mode=fields["Mode"],
        version=fields.get("Zookeeper version", "").split("-", 1)[0],
        zxid=fields.get("Zxid", ""),
    )


def parse_mntr(text: str) -> dict[str, str]:
    """`zk_*` keys and their values."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if sep and key.startswith("zk_"):
            values[key] = value.strip()
    if "zk_server_state" not in values:
        if NOT_SERVING in text:
            return {"zk_server_state": "not serving"}
        first = text.strip().splitlines()[0] if text.strip() else "no output"
        raise ZookeeperError(f"not a ZooKeeper mntr answer: {first[:120]}")
    return values


def quorum_problems(servers: Mapping[str, Optional[ZkServer]]) -> list[str]:
    """What keeps the ensemble from serving with every member; empty when it does.

    `servers` maps each member (unit or address) to its `srvr` answer, None when it gave none.
    """
    if len(servers) == 1:
        ((name, server),) = servers.items()
        if server is None or server.mode not in ("standalone", *_IN_QUORUM):
            return [f"{name}: {_describe(server)}"]
        return []
    problems = [
        f"{name}: {_describe(server)}"
        for name, server in sorted(servers.items())
        if server is None or server.mode not in _IN_QUORUM
    ]
    leaders = sorted(
        name for name, server in servers.items() if server and server.mode == "leader"
    )
    if len(leaders) > 1:
        problems.append(f"more than one leader: {', '.join(leaders)}")
    elif not leaders:
        problems.append("no leader: the ensemble has no quorum")
    return problems


def leader_problems(mntr: Mapping[str, str], members: int) -> list[str]:
    """From the leader's `mntr`: every other member synced."""
    state = mntr.get("zk_server_state", "")
    if state == "standalone" and members == 1:
        return []
    if state != "leader":
        return [f"this server is {state or 'in no known state'}, not the leader"]
    synced = int(mntr.get("zk_synced_followers", "0") or 0)
    if synced < members - 1:
        return [f"{synced} of {members - 1} followers synced"]
    return []


def _describe(server: Optional[ZkServer]) -> str:
    if server is None:
        return "no answer"
    if not server.serving:
        return "not serving (outside the quorum)"
    return f"mode {server.mode}"
