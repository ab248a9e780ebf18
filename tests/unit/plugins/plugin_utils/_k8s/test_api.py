# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API endpoint: JSON requests and Pod paths (its TLS settings: test__k8s_auth)."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s import api as _api
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint, pod_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sApiError, K8sConnectionError

TOKEN = "t0ken-SECRET-value"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.seen.append((self.path, self.headers.get("Authorization")))  # type: ignore[attr-defined]
        self.server.accepts.append(self.headers.get("Accept"))  # type: ignore[attr-defined]
        if "watch=1" in self.path:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for event in ({"type": "ADDED", "object": {"metadata": {"name": "p", "resourceVersion": "5"}}},
                          {"type": "MODIFIED", "object": {"metadata": {"name": "p", "resourceVersion": "6"}}},
                          {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                                       "message": "too old resource version: 1 (6)"}}):
                self.wfile.write(json.dumps(event).encode() + b"\n")
                self.wfile.flush()
            return
        if self.path.endswith("/huge-error"):  # a proxy's endless error page
            self.send_response(502)
            self.end_headers()
            try:
                for dummy in range(64):
                    self.wfile.write(b"x" * (64 << 10))
            except OSError:
                pass  # the client read what it wanted and hung up
            return
        if self.path.endswith("/missing"):
            body, code = {"kind": "Status", "message": 'pods "missing" not found', "code": 404}, 404
        else:
            body, code = {"kind": "Pod", "metadata": {"name": "p"}}, 200
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def http_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    server.seen = []  # type: ignore[attr-defined]
    server.accepts = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_endpoint_request_returns_json_and_raises_api_errors(http_server, monkeypatch):
    monkeypatch.setenv("no_proxy", "*")
    endpoint = ApiEndpoint(f"http://127.0.0.1:{http_server.server_port}/base", token=TOKEN)
    assert endpoint.request("GET", "/api/v1/namespaces/ns/pods/p")["kind"] == "Pod"
    assert http_server.seen[-1] == ("/base/api/v1/namespaces/ns/pods/p", f"Bearer {TOKEN}")
    with pytest.raises(K8sApiError) as info:
        endpoint.request("GET", "/api/v1/namespaces/ns/pods/missing")
    assert info.value.status == 404 and 'pods "missing" not found' in str(info.value)


def test_an_error_body_is_read_only_up_to_its_cap(http_server, monkeypatch):
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setattr(_api, "_MAX_ERROR_BODY_BYTES", 1000)
    endpoint = ApiEndpoint(f"http://127.0.0.1:{http_server.server_port}", token=TOKEN)
    with pytest.raises(K8sApiError) as info:
        endpoint.request("GET", "/api/v1/namespaces/ns/pods/huge-error")
    assert info.value.status == 502 and len(info.value.body) == 1000


def test_a_metadata_only_list_asks_for_partial_object_metadata(http_server, monkeypatch):
    monkeypatch.setenv("no_proxy", "*")
    endpoint = ApiEndpoint(f"http://127.0.0.1:{http_server.server_port}", token=TOKEN)
    endpoint.request("GET", "/api/v1/namespaces/ns/secrets", metadata_only=True)
    endpoint.request("GET", "/api/v1/namespaces/ns/secrets")
    assert http_server.accepts == ["application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json",
                                   "application/json"]


def test_endpoint_request_to_a_closed_port_says_connection_refused(closed_port):
    with pytest.raises(K8sConnectionError, match="connection refused"):
        ApiEndpoint(f"http://127.0.0.1:{closed_port}").request("GET", "/version")


def test_pod_paths_are_built_in_one_place_and_quoted():
    assert pod_path("ns") == "/api/v1/namespaces/ns/pods"
    assert pod_path("ns", "p-1") == "/api/v1/namespaces/ns/pods/p-1"
    assert pod_path("ns", "p-1", "exec") == "/api/v1/namespaces/ns/pods/p-1/exec"
    assert pod_path("a/b", "c?d") == "/api/v1/namespaces/a%2Fb/pods/c%3Fd"


def test_a_watch_yields_the_events_and_raises_410_gone(http_server, monkeypatch):
    monkeypatch.setenv("no_proxy", "*")
    endpoint = ApiEndpoint(f"http://127.0.0.1:{http_server.server_port}", token=TOKEN)
    seen = []
    with pytest.raises(K8sApiError) as info:
        for event in endpoint.watch("/api/v1/namespaces/ns/pods", query=[("resourceVersion", "1")], seconds=30):
            seen.append((event["type"], event["object"]["metadata"]["resourceVersion"]))
    assert seen == [("ADDED", "5"), ("MODIFIED", "6")]
    assert info.value.status == 410 and "too old resource version" in str(info.value)
    path, authorization = http_server.seen[-1]
    assert "resourceVersion=1" in path and "watch=1" in path and "timeoutSeconds=30" in path
    assert authorization == f"Bearer {TOKEN}" and endpoint.requests == 1
