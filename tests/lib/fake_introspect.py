"""A Contrail introspect (Sandesh HTTP) port for the exporter tests: real HTTP on 127.0.0.1.

No Contrail daemon can run on the test host, so this serves what one serves: `GET
/Snh_<Request>` answers with the XML document of the response sandesh — declaration,
stylesheet instruction, elements typed with `type` / `identifier` attributes, lists as
`<list type="struct" size="N">`, and a `next_batch` element (attribute `link` naming the
iterate request, text its argument) when the list continues on another page.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

HEADER = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<?xml-stylesheet type="text/xsl" href="/universal_parse.xsl"?>\n'
)


def _struct(tag: str, fields: Mapping[str, str]) -> str:
    inner = "".join(
        f'<{key} type="string" identifier="{number}">{escape(value)}</{key}>'
        for number, (key, value) in enumerate(fields.items(), start=1)
    )
    return f"<{tag}>{inner}</{tag}>"


def _list(field: str, tag: str, items: Sequence[Mapping[str, str]]) -> str:
    structs = "".join(_struct(tag, item) for item in items)
    return (
        f'<{field} type="list" identifier="1"><list type="struct" size="{len(items)}">'
        f"{structs}</list></{field}>"
    )


def _next_batch(link: str, argument: str) -> str:
    return (
        f'<next_batch type="string" identifier="2" link="{link}">{escape(argument)}</next_batch>'
    )


def bgp_neighbors(
    neighbors: Sequence[Mapping[str, str]], next_batch: tuple[str, str] = ("", "")
) -> str:
    """`BgpNeighborListResp` of a control node; each neighbour has peer, peer_address,
    encoding (BGP or XMPP) and state, plus whatever else the caller adds."""
    batch = _next_batch(*next_batch) if next_batch[1] else ""
    body = _list("neighbors", "BgpNeighborResp", neighbors)
    return f'{HEADER}<BgpNeighborListResp type="sandesh">{body}{batch}</BgpNeighborListResp>'


def agent_xmpp(sessions: Sequence[Mapping[str, str]]) -> str:
    """`AgentXmppConnectionStatus` of a vRouter agent; sessions have controller_ip, state,
    peer_name, peer_address and cfg_controller."""
    body = _list("peer", "AgentXmppData", sessions)
    more = '<more type="bool" identifier="0">false</more>'
    return f'{HEADER}<AgentXmppConnectionStatus type="sandesh">{body}{more}</AgentXmppConnectionStatus>'


def neighbor(name: str, address: str, encoding: str = "BGP", state: str = "Established") -> dict:
    return {
        "instance_name": "default-domain:default-project:ip-fabric:__default__",
        "peer": name,
        "peer_address": address,
        "encoding": encoding,
        "peer_type": "internal",
        "state": state,
        "last_state": "OpenConfirm",
    }


def xmpp_session(controller: str, state: str = "Established") -> dict:
    return {
        "controller_ip": controller,
        "state": state,
        "peer_name": "network-control@contrailsystems.com",
        "peer_address": f"{controller}:5269",
        "cfg_controller": "Yes",
    }


class FakeIntrospect:
    """Serves `pages` (path with query -> body); anything else is 404. Records requests."""

    def __init__(self, pages: Mapping[str, str]) -> None:
        self.pages = dict(pages)
        self.requests: list[str] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @contextmanager
    def running(self) -> Iterator[FakeIntrospect]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                path, _, query = self.path.partition("?")
                key = path + ("?" + urllib.parse.unquote(query) if query else "")
                body = fake.pages.get(key)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
