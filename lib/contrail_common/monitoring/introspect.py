"""Peer sessions read from a Contrail service's introspect (Sandesh HTTP) port.

Every Contrail daemon answers `GET /Snh_<Request>` on its introspect port with the XML of the
matching response: the control node (8083) lists its BGP and XMPP neighbours for
`BgpNeighborReq` (`BgpNeighborListResp` / `BgpNeighborResp`: `peer`, `peer_address`,
`encoding` BGP or XMPP, `state`), the vRouter agent (8085) its control-node sessions for
`AgentXmppConnectionStatusReq` (`AgentXmppConnectionStatus` / `AgentXmppData`:
`controller_ip`, `peer_name`, `state`). A long list comes in batches: a `next_batch` element
whose `link` names the iterate request and whose text is its argument.

Installed beside the metrics exporter and run by it; Python 3 standard library only.
"""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Optional
from xml.etree import ElementTree

# A session is up in this state (BGP's finite state machine and the XMPP channel alike).
ESTABLISHED = "Established"
# A control node with thousands of agents pages its neighbour list; stop somewhere sane.
MAX_BATCHES = 100

_DECLARATIONS = re.compile(r"<\?xml[^>]*\?>|<\?xml-stylesheet[^>]*\?>")

Fetch = Callable[[str, float], str]


class IntrospectError(Exception):
    """The introspect port did not answer, or answered with something that is not Sandesh XML."""


@dataclass(frozen=True)
class Peer:
    """One session of the service: its kind (`bgp` or `xmpp`), who, and whether it is up."""

    kind: str
    name: str
    address: str
    state: str

    @property
    def up(self) -> bool:
        return self.state == ESTABLISHED


def http_fetch(url: str, timeout: float) -> str:
    """GET `url` (plain HTTP on the unit's own address) and return the body."""
    if not url.startswith("http://"):
        raise IntrospectError(f"refusing to fetch {url}: introspect URLs are plain http")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http only
            return response.read().decode("utf-8", errors="replace")
    except OSError as error:
        raise IntrospectError(f"{url}: {error}") from error


def parse(body: str) -> ElementTree.Element:
    """The Sandesh document(s) of one response under a single root.

    A response may hold several top-level Sandesh elements after its XML declaration and
    stylesheet instruction, so those are dropped and everything is wrapped in one root.
    """
    text = _DECLARATIONS.sub("", body)
    try:
        # The document comes from a Contrail daemon on this unit's own address.
        return ElementTree.fromstring(f"<introspect>{text}</introspect>")  # noqa: S314
    except ElementTree.ParseError as error:
        raise IntrospectError(f"not Sandesh XML: {error}") from error


def _text(element: ElementTree.Element, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _pages(base: str, request: str, fetch: Fetch, timeout: float) -> Iterator[ElementTree.Element]:
    """The parsed response to `request`, then each following batch it links to."""
    url: Optional[str] = f"{base}/Snh_{request}"
    for _ in range(MAX_BATCHES):
        if url is None:
            return
        root = parse(fetch(url, timeout))
        yield root
        url = None
        for batch in root.iter("next_batch"):
            link, argument = batch.get("link", ""), (batch.text or "").strip()
            if link and argument:
                url = f"{base}/Snh_{link}?x={urllib.parse.quote(argument)}"


def control_node_peers(base: str, fetch: Fetch = http_fetch, timeout: float = 5.0) -> list[Peer]:
    """The control node's BGP and XMPP neighbours (`base` is `http://address:8083`)."""
    peers = []
    for root in _pages(base, "BgpNeighborReq", fetch, timeout):
        for item in root.iter("BgpNeighborResp"):
            kind = "xmpp" if _text(item, "encoding").upper() == "XMPP" else "bgp"
            name = _text(item, "peer") or _text(item, "peer_address")
            peers.append(Peer(kind, name, _text(item, "peer_address"), _text(item, "state")))
    return peers


def vrouter_agent_peers(base: str, fetch: Fetch = http_fetch, timeout: float = 5.0) -> list[Peer]:
    """The vRouter agent's XMPP sessions to control nodes (`base` is `http://address:8085`)."""
    peers = []
    for root in _pages(base, "AgentXmppConnectionStatusReq", fetch, timeout):
        for item in root.iter("AgentXmppData"):
            address = _text(item, "controller_ip") or _text(item, "peer_address")
            name = _text(item, "peer_name") or address
            peers.append(Peer("xmpp", name, address, _text(item, "state")))
    return peers


READERS: dict[str, Callable[..., list[Peer]]] = {
    "control": control_node_peers,
    "vrouter-agent": vrouter_agent_peers,
}
