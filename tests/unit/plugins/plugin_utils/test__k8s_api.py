# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API endpoint: TLS settings, JSON requests, Pod paths."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import threading

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s_api import ApiEndpoint, pod_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s_auth import K8sAuth, get_endpoint
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s_errors import K8sApiError, K8sConnectionError


TOKEN = "t0ken-SECRET-value"
# A throwaway self-signed CA (never used to sign anything real).
CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBdjCCAR2gAwIBAgIUTY7M1k0B8oJ3aQyCk0Zt0mE4wWEwCgYIKoZIzj0EAwIw
ETEPMA0GA1UEAwwGdGVzdGNhMB4XDTI0MDEwMTAwMDAwMFoXDTM0MDEwMTAwMDAw
MFowETEPMA0GA1UEAwwGdGVzdGNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
-----END CERTIFICATE-----
"""


def test_endpoint_normalises_the_host_and_builds_a_verifying_context():
    endpoint = get_endpoint(K8sAuth(host="k8s.example:6443/", api_key=TOKEN))
    assert endpoint.host == "https://k8s.example:6443"
    assert endpoint.authorization() == f"Bearer {TOKEN}"
    context = endpoint.ssl_context()
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert endpoint.ssl_context() is context  # built once
    assert TOKEN not in repr(endpoint)


def test_endpoint_without_verification():
    context = get_endpoint(K8sAuth(host="https://k8s", validate_certs=False)).ssl_context()
    assert context is not None and context.verify_mode == ssl.CERT_NONE and not context.check_hostname


def test_a_bad_ca_is_reported_without_its_content():
    endpoint = get_endpoint(K8sAuth(host="https://k8s", ca_cert_data=CA_PEM))
    with pytest.raises(K8sConnectionError) as info:
        endpoint.ssl_context()
    assert "PEM text" in str(info.value) and "MIIB" not in str(info.value)
    with pytest.raises(K8sConnectionError, match="/nonexistent/ca.pem"):
        get_endpoint(K8sAuth(host="https://k8s", ca_cert_file="/nonexistent/ca.pem")).ssl_context()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.seen.append((self.path, self.headers.get("Authorization")))  # type: ignore[attr-defined]
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


def test_endpoint_request_to_a_closed_port_says_connection_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(K8sConnectionError, match="connection refused"):
        ApiEndpoint(f"http://127.0.0.1:{port}").request("GET", "/version")


def test_pod_paths_are_built_in_one_place_and_quoted():
    assert pod_path("ns") == "/api/v1/namespaces/ns/pods"
    assert pod_path("ns", "p-1") == "/api/v1/namespaces/ns/pods/p-1"
    assert pod_path("ns", "p-1", "exec") == "/api/v1/namespaces/ns/pods/p-1/exec"
    assert pod_path("a/b", "c?d") == "/api/v1/namespaces/a%2Fb/pods/c%3Fd"
