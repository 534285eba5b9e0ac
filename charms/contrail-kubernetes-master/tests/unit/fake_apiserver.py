"""An in-process HTTP server modelling the Kubernetes API endpoints kube-manager's charm uses.

It answers the real lightkube client: server-side apply (PATCH, creating or updating), create
(POST, 409 when it exists), get (404 when missing), the TokenRequest subresource, bearer-token
authentication (401), and injected failures (e.g. 403 on one path). Stopping it makes the API
unreachable (connection refused).
"""

from __future__ import annotations

import datetime
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast
from urllib.parse import parse_qs, urlsplit

ADMIN_TOKEN = "admin-token-for-tests"
TOKEN_SUFFIX = "/token"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: dict


@dataclass
class FakeApiServer:
    service_ip: str = "10.152.183.1"
    objects: dict[str, dict] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    # (method, path prefix) -> HTTP status to answer instead.
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    issued_tokens: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.objects["/api/v1/namespaces/default/services/kubernetes"] = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "spec": {"clusterIP": self.service_ip, "ports": [{"port": 443}]},
        }
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.api = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def write_kubeconfig(self, path: Path, token: str = ADMIN_TOKEN) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "k8s", "cluster": {"server": self.url}}],
                    "users": [{"name": "admin", "user": {"token": token}}],
                    "contexts": [{"name": "k8s", "context": {"cluster": "k8s", "user": "admin"}}],
                    "current-context": "k8s",
                }
            )
        )

    def paths(self, method: str) -> list[str]:
        return [r.path for r in self.requests if r.method == method]


def _status(code: int, reason: str, message: str) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


REASONS = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "AlreadyExists",
    500: "InternalError",
}


class _Server(ThreadingHTTPServer):
    api: FakeApiServer


class _Handler(BaseHTTPRequestHandler):
    @property
    def api(self) -> FakeApiServer:
        return cast(_Server, self.server).api

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fail(self, code: int, message: str) -> None:
        self._reply(code, _status(code, REASONS.get(code, "Failure"), message))

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        self.api.requests.append(Request(method, url.path, parse_qs(url.query), body))
        if self.headers.get("Authorization") != f"Bearer {ADMIN_TOKEN}":
            return self._fail(401, "Unauthorized")
        for (fail_method, prefix), code in self.api.failures.items():
            if fail_method == method and url.path.startswith(prefix):
                return self._fail(code, f"injected failure for {method} {url.path}")
        routes = {"GET": self._get, "PATCH": self._apply, "POST": self._post}
        return routes[method](url.path, body)

    def _get(self, path: str, _body: dict) -> None:
        found = self.api.objects.get(path)
        return self._reply(200, found) if found else self._fail(404, f"{path} not found")

    def _apply(self, path: str, body: dict) -> None:
        """Server-side apply: create or update."""
        created = path not in self.api.objects
        self.api.objects[path] = {**self.api.objects.get(path, {}), **body}
        return self._reply(201 if created else 200, self.api.objects[path])

    def _post(self, path: str, body: dict) -> None:
        if path.endswith(TOKEN_SUFFIX):
            return self._token(path.removesuffix(TOKEN_SUFFIX), body)
        name = body.get("metadata", {}).get("name", "")
        if f"{path}/{name}" in self.api.objects:
            return self._fail(409, f"{name} already exists")
        self.api.objects[f"{path}/{name}"] = body
        return self._reply(201, body)

    def _token(self, account_path: str, body: dict) -> None:
        if account_path not in self.api.objects:
            return self._fail(404, f"serviceaccount {account_path} not found")
        seconds = int(body.get("spec", {}).get("expirationSeconds") or 3600)
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=seconds
        )
        token = f"bound-token-{len(self.api.issued_tokens) + 1}"
        self.api.issued_tokens.append(token)
        answer = {
            **body,
            "status": {
                "token": token,
                "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }
        return self._reply(201, answer)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_POST(self) -> None:
        self._handle("POST")
