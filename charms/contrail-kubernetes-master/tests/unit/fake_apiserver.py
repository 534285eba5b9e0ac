"""An in-process HTTP server modelling the Kubernetes API endpoints kube-manager's charm uses.

It answers the real lightkube client: server-side apply (PATCH, creating or updating), create
(POST, 409 when it exists), get (404 when missing), list and watch of a collection, delete, the
TokenRequest subresource, bearer-token authentication (401), and injected failures (e.g. 403 on
one path). Stopping it makes the API unreachable (connection refused).

As kube-apiserver does, it caps a TokenRequest's lifetime at `max_token_seconds`
(--service-account-max-token-expiration; no cap by default), refuses one under 10 minutes (422),
and authorizes the tokens it issued with RBAC: the ClusterRoles bound to their ServiceAccount
(403 otherwise), while /openapi/* stays readable by any authenticated caller (system:discovery).
"""

from __future__ import annotations

import datetime
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional, cast
from urllib.parse import parse_qs, urlsplit

ADMIN_TOKEN = "admin-token-for-tests"
TOKEN_SUFFIX = "/token"
MIN_TOKEN_SECONDS = 600  # kube-apiserver refuses a shorter TokenRequest
RBAC = "/apis/rbac.authorization.k8s.io/v1"
# Subresources of a namespace itself (/api/v1/namespaces/NAME/status), as kube-apiserver parses.
NAMESPACE_SUBRESOURCES = {"status", "finalize"}


@dataclass(frozen=True)
class Attributes:
    """What RBAC decides on, parsed from a request the way kube-apiserver does."""

    verb: str
    group: str
    resource: str  # with "/subresource" when there is one
    name: str = ""


def attributes(method: str, path: str, query: dict[str, list[str]]) -> Optional[Attributes]:
    """RBAC attributes of a resource request; None for a non-resource URL (/openapi/v2)."""
    parts = [part for part in path.split("/") if part]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in NAMESPACE_SUBRESOURCES:
        rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    if len(rest) > 2:
        resource = f"{resource}/{rest[2]}"
    watching = query.get("watch", [""])[0] in ("true", "1")
    verb = {
        "GET": "get" if name else ("watch" if watching else "list"),
        "PATCH": "patch",
        "PUT": "update",
        "POST": "create",
        "DELETE": "delete",
    }[method]
    return Attributes(verb, group, resource, name)


def allows(rule: dict, request: Attributes) -> bool:
    """Whether one PolicyRule (as stored) grants the request: RBAC's rule matching."""

    def has(key: str, value: str) -> bool:
        values = rule.get(key) or []
        return value in values or "*" in values

    names = rule.get("resourceNames") or []
    return (
        has("verbs", request.verb)
        and has("apiGroups", request.group)
        and has("resources", request.resource)
        and (not names or request.name in names)
    )


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
    # --service-account-max-token-expiration, in seconds; None: no cap (kube-apiserver's default)
    max_token_seconds: Optional[int] = None
    # issued token -> (ServiceAccount namespace, name, expiry)
    bound_tokens: dict[str, tuple[str, str, datetime.datetime]] = field(default_factory=dict)

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

    def rules_of(self, namespace: str, account: str) -> list[dict]:
        """The rules of every ClusterRole bound to a ServiceAccount."""
        subject = {"kind": "ServiceAccount", "name": account, "namespace": namespace}
        rules = []
        for path, binding in self.objects.items():
            if path.startswith(f"{RBAC}/clusterrolebindings/") and subject in binding.get(
                "subjects", []
            ):
                role = self.objects.get(f"{RBAC}/clusterroles/{binding['roleRef']['name']}", {})
                rules.extend(role.get("rules") or [])
        return rules


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
    422: "Invalid",
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
        query = parse_qs(url.query)
        self.api.requests.append(Request(method, url.path, query, body))
        denied = self._authorize(method, url.path, query)
        if denied:
            return self._fail(*denied)
        for (fail_method, prefix), code in self.api.failures.items():
            if fail_method == method and url.path.startswith(prefix):
                return self._fail(code, f"injected failure for {method} {url.path}")
        if url.path.startswith("/openapi/"):
            return self._reply(200, {"swagger": "2.0", "definitions": {}})
        routes = {
            "GET": self._get_or_list,
            "PATCH": self._apply,
            "PUT": self._replace,
            "POST": self._post,
            "DELETE": self._delete,
        }
        return routes[method](url.path, body)

    def _authorize(
        self, method: str, path: str, query: dict[str, list[str]]
    ) -> Optional[tuple[int, str]]:
        """None when allowed, else (code, message): the admin may do anything, a token this
        server issued what its ServiceAccount's ClusterRoles grant, anyone else nothing."""
        presented = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if presented == ADMIN_TOKEN:
            return None
        bound = self.api.bound_tokens.get(presented)
        if bound is None or bound[2] <= datetime.datetime.now(datetime.timezone.utc):
            return 401, "Unauthorized"
        namespace, account, _expiry = bound
        request = attributes(method, path, query)
        if request is None:  # non-resource URLs: system:discovery lets /openapi/* through
            return None if path.startswith("/openapi/") else (403, f"{path} is forbidden")
        if any(allows(rule, request) for rule in self.api.rules_of(namespace, account)):
            return None
        return 403, (
            f'User "system:serviceaccount:{namespace}:{account}" cannot {request.verb} '
            f'resource "{request.resource}" in API group "{request.group}"'
        )

    def _get_or_list(self, path: str, body: dict) -> None:
        found = self.api.objects.get(path)
        if found:
            return self._reply(200, found)
        # A collection: the objects stored right under it (a watch sees them as a list, too).
        items = [
            obj
            for key, obj in self.api.objects.items()
            if key.rpartition("/")[0] == path and not key.endswith(TOKEN_SUFFIX)
        ]
        if items or self._is_collection(path):
            return self._reply(200, {"kind": "List", "metadata": {}, "items": items})
        return self._fail(404, f"{path} not found")

    @staticmethod
    def _is_collection(path: str) -> bool:
        parts = [part for part in path.split("/") if part]
        rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
        if len(rest) >= 3 and rest[0] == "namespaces":
            rest = rest[2:]
        return len(rest) == 1

    def _replace(self, path: str, body: dict) -> None:
        """Update (PUT): the whole object, which must exist."""
        if path not in self.api.objects:
            return self._fail(404, f"{path} not found")
        self.api.objects[path] = body
        return self._reply(200, body)

    def _delete(self, path: str, _body: dict) -> None:
        found = self.api.objects.pop(path, None)
        if found is None:
            return self._fail(404, f"{path} not found")
        return self._reply(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})

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
        spec = dict(body.get("spec") or {})
        seconds = int(spec.get("expirationSeconds") or 3600)
        if seconds < MIN_TOKEN_SECONDS:
            return self._fail(
                422, "spec.expirationSeconds: may not specify a duration less than 10 minutes"
            )
        # kube-apiserver lowers the request to its maximum and answers with what it granted.
        cap = self.api.max_token_seconds
        if cap is not None and seconds > cap:
            seconds = cap
        spec["expirationSeconds"] = seconds
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=seconds
        )
        token = f"bound-token-{len(self.api.issued_tokens) + 1}"
        self.api.issued_tokens.append(token)
        _, _, namespace, _, account = account_path.rsplit("/", 4)
        self.api.bound_tokens[token] = (namespace, account, expires)
        answer = {
            **body,
            "spec": spec,
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

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")
