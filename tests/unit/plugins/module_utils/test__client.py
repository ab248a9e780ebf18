# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API client factory: auth sources, CA handling, the light endpoint, the error translator."""

from __future__ import annotations

import base64
import http.server
import json
import os
import socket
import ssl
import stat
import tempfile
import threading

import pytest
import yaml

from ansible_collections.ephemeral.container_groups.plugins.doc_fragments.k8s_auth import ModuleDocFragment
from ansible_collections.ephemeral.container_groups.plugins.module_utils import _client as client
from ansible_collections.ephemeral.container_groups.plugins.module_utils._client import (
    K8S_AUTH_ARGSPEC,
    ApiEndpoint,
    K8sApiError,
    K8sAuth,
    K8sClientError,
    K8sConnectionError,
    auth_from_credential,
    auth_from_params,
    explain_api_exception,
    get_api_client,
    get_endpoint,
)

TOKEN = "t0ken-SECRET-value"
# A throwaway self-signed CA (never used to sign anything real).
CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBdjCCAR2gAwIBAgIUTY7M1k0B8oJ3aQyCk0Zt0mE4wWEwCgYIKoZIzj0EAwIw
ETEPMA0GA1UEAwwGdGVzdGNhMB4XDTI0MDEwMTAwMDAwMFoXDTM0MDEwMTAwMDAw
MFowETEPMA0GA1UEAwwGdGVzdGNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
-----END CERTIFICATE-----
"""

# -- the option declarations agree ----------------------------------------------------------

COMPARED = {"type": "str", "required": False, "default": None, "choices": None, "elements": None, "aliases": None}


def test_doc_fragment_and_argspec_declare_the_same_options():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert sorted(documented) == sorted(K8S_AUTH_ARGSPEC)
    for name, spec in K8S_AUTH_ARGSPEC.items():
        doc = documented[name]
        assert {k: doc.get(k, d) for k, d in COMPARED.items()} == {k: spec.get(k, d) for k, d in COMPARED.items()}, name
        assert doc["description"], name
        assert doc["vars"] == [{"name": f"ansible_pod_{name}"}], name
        assert doc["env"][0]["name"].startswith("K8S_AUTH_"), name
    assert K8S_AUTH_ARGSPEC["api_key"]["no_log"] is True


# -- auth sources ---------------------------------------------------------------------------


def test_credential_becomes_host_auth():
    auth = auth_from_credential({"host": " https://k8s:6443 ", "bearer_token": TOKEN, "verify_ssl": True, "ssl_ca_cert": CA_PEM})
    assert auth == K8sAuth(host="https://k8s:6443", api_key=TOKEN, ca_cert_data=CA_PEM, validate_certs=True)
    assert auth.source == "host"
    assert TOKEN not in repr(auth) and "BEGIN" not in repr(auth)
    assert TOKEN not in auth.describe() and "CA from PEM text" in auth.describe()


def test_credential_defaults_to_verifying_without_a_ca():
    auth = auth_from_credential({"host": "https://k8s", "bearer_token": TOKEN})
    assert auth.validate_certs is True and auth.ca_cert_data is None
    assert "system CAs" in auth.describe()


@pytest.mark.parametrize(
    "record, message",
    [
        ({"bearer_token": TOKEN}, "no host"),
        ({"host": "https://k8s", "bearer_token": 5}, "bearer_token is not a string"),
        ({"host": "https://k8s", "ssl_ca_cert": "/etc/ca.pem"}, "not PEM text"),
    ],
)
def test_bad_credentials_are_refused(record, message):
    with pytest.raises(K8sClientError, match=message):
        auth_from_credential(record)


def test_params_choose_host_then_kubeconfig_then_in_cluster(monkeypatch, tmp_path):
    params = dict.fromkeys(K8S_AUTH_ARGSPEC)
    auth = auth_from_params({**params, "api_host": "https://k8s", "api_key": TOKEN, "ca_cert": "~/ca.pem", "kubeconfig": "/x"})
    assert auth.source == "host" and auth.ca_cert_file == os.path.expanduser("~/ca.pem") and auth.validate_certs
    auth = auth_from_params({**params, "api_host": "https://k8s", "ca_cert": CA_PEM, "validate_certs": False})
    assert auth.ca_cert_data == CA_PEM and auth.ca_cert_file is None and not auth.validate_certs
    assert auth_from_params({**params, "kubeconfig": "/x", "context": "c"}) == K8sAuth(kubeconfig="/x", context="c", use_kubeconfig=True)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert auth_from_params(params).source == "kubeconfig"
    token = tmp_path / "token"
    token.write_text("sa-token\n")
    monkeypatch.setattr(client, "SERVICE_ACCOUNT_DIR", str(tmp_path))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert auth_from_params(params).source == "in-cluster"


@pytest.fixture()
def service_account(monkeypatch, tmp_path):
    """A Pod's service account in tmp_path (token sa-token-1, namespace jobs); returns a
    function that sets the API server's address the way the kubelet does."""
    (tmp_path / "token").write_text("sa-token-1\n")
    (tmp_path / "namespace").write_text("jobs\n")
    monkeypatch.setattr(client, "SERVICE_ACCOUNT_DIR", str(tmp_path))

    def api_server(host: str, port: str) -> None:
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)

    return api_server


def test_in_cluster_endpoint_reads_the_service_account(service_account, tmp_path):
    service_account("fd00::1", "443")
    endpoint = get_endpoint(K8sAuth(in_cluster=True))
    assert endpoint.host == "https://[fd00::1]:443"
    assert endpoint.default_namespace == "jobs"
    assert endpoint.ca_file == str(tmp_path / "ca.crt")
    assert endpoint.authorization() == "Bearer sa-token-1"
    (tmp_path / "token").write_text("sa-token-2\n")  # rotated
    assert endpoint.authorization() == "Bearer sa-token-2"


def test_no_source_at_all_is_an_error():
    with pytest.raises(K8sClientError, match="no Kubernetes credentials"):
        K8sAuth().source


# -- the light endpoint ---------------------------------------------------------------------


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


# -- the kubernetes ApiClient ---------------------------------------------------------------


def test_api_client_writes_a_pem_ca_to_a_private_temp_file_removed_on_close():
    api = get_api_client(K8sAuth(host="https://k8s:6443", api_key=TOKEN, ca_cert_data=CA_PEM))
    path = api.configuration.ssl_ca_cert
    assert path and os.path.exists(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == CA_PEM
    assert api.configuration.get_api_key_with_prefix("authorization") == f"Bearer {TOKEN}"
    assert api.configuration.verify_ssl is True
    api.close()
    assert not os.path.exists(path)


def test_api_client_verifies_against_the_system_store_without_a_ca():
    api = get_api_client(K8sAuth(host="https://k8s:6443", api_key=TOKEN))
    try:
        assert api.configuration.verify_ssl is True
        assert api.configuration.ssl_ca_cert == client.system_ca_file()
    finally:
        api.close()


def test_endpoint_from_api_client_keeps_the_settings():
    api = get_api_client(K8sAuth(host="https://k8s:6443", api_key=TOKEN, validate_certs=False))
    try:
        endpoint = client.endpoint_from_api_client(api)
        assert endpoint.host == "https://k8s:6443"
        assert endpoint.authorization() == f"Bearer {TOKEN}"
        assert endpoint.verify is False
    finally:
        api.close()


def _kubeconfig(tmp_path, server="https://k8s.example:6443") -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": TOKEN}}],
        "contexts": [
            {"name": "one", "context": {"cluster": "c", "user": "u", "namespace": "first"}},
            {"name": "two", "context": {"cluster": "c", "user": "u", "namespace": "second"}},
        ],
        "current-context": "one",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_kubeconfig_gives_host_token_and_context_namespace(tmp_path):
    path = _kubeconfig(tmp_path)
    endpoint = get_endpoint(K8sAuth(kubeconfig=path, use_kubeconfig=True))
    assert endpoint.host == "https://k8s.example:6443"
    assert endpoint.authorization() == f"Bearer {TOKEN}"
    assert endpoint.default_namespace == "first"
    assert endpoint.verify is False
    assert get_endpoint(K8sAuth(kubeconfig=path, context="two")).default_namespace == "second"
    api = get_api_client(K8sAuth(kubeconfig=path, context="two"))
    try:
        assert api.cg_default_namespace == "second"
        assert api.configuration.host == "https://k8s.example:6443"
    finally:
        api.close()


def test_bad_kubeconfig_names_the_file(tmp_path):
    with pytest.raises(K8sClientError, match="kubeconfig .*nope"):
        get_endpoint(K8sAuth(kubeconfig=str(tmp_path / "nope"), use_kubeconfig=True))
    with pytest.raises(K8sClientError, match="context"):
        get_endpoint(K8sAuth(kubeconfig=_kubeconfig(tmp_path), context="missing"))


def _self_signed_pair() -> tuple[str, str]:
    """(certificate PEM, key PEM) of a throwaway client certificate."""
    import datetime  # pylint: disable=import-outside-toplevel

    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cg-unit-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _kubeconfig_with_user(tmp_path, user: dict, ca_pem: str = CA_PEM) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "clusters": [{"name": "c", "cluster": {"server": "https://k8s:6443", "certificate-authority-data": _b64(ca_pem)}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }))
    return str(path)


def test_static_kubeconfig_needs_no_kubernetes_library(tmp_path, monkeypatch):
    def no_library(*args):
        raise AssertionError("the kubernetes library was used for a static kubeconfig")

    monkeypatch.setattr(client, "_kubeconfig_configuration", no_library)
    (tmp_path / "token").write_text("first\n")
    endpoint = get_endpoint(K8sAuth(kubeconfig=_kubeconfig_with_user(tmp_path, {"tokenFile": "token"}), use_kubeconfig=True))
    assert endpoint.authorization() == "Bearer first"
    (tmp_path / "token").write_text("rotated\n")
    assert endpoint.authorization() == "Bearer rotated"  # read for every request
    assert endpoint.default_namespace == "default"
    (tmp_path / "token").unlink()
    with pytest.raises(K8sClientError, match=r"cannot read the token file .*token: No such file"):
        endpoint.authorization()


def test_client_certificate_data_is_loaded_and_its_temp_files_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    os.mkdir(tmp_path / "tmp")
    cert, key = _self_signed_pair()
    user = {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}
    monkeypatch.setattr(client.ApiEndpoint, "_build_ssl_context", _recording_build(tmp_path / "tmp"))
    # The certificate is its own CA here: any valid CA will do.
    endpoint = get_endpoint(K8sAuth(kubeconfig=_kubeconfig_with_user(tmp_path, user, cert), use_kubeconfig=True))
    assert endpoint.ssl_context() is not None
    assert _recording_build.seen == [(stat.S_IMODE(0o600), stat.S_IMODE(0o600))]
    assert os.listdir(tmp_path / "tmp") == []  # removed once the context has them
    # A key that is not the certificate's: the message names where they came from, not the
    # temporary files, and shows neither.
    user["client-key-data"] = _b64(_self_signed_pair()[1])
    with pytest.raises(K8sConnectionError, match="client-certificate-data") as info:
        get_endpoint(K8sAuth(kubeconfig=_kubeconfig_with_user(tmp_path, user, cert), use_kubeconfig=True))
    assert "cg-cert-" not in str(info.value) and "PRIVATE KEY" not in str(info.value)
    assert os.listdir(tmp_path / "tmp") == []


def _recording_build(directory):
    """_build_ssl_context that also records the modes of the temporary files it loads."""
    original = client.ApiEndpoint._build_ssl_context
    _recording_build.seen = []

    def build(self):
        if self.cert_file and self.cert_file.startswith(str(directory)):
            _recording_build.seen.append((stat.S_IMODE(os.stat(self.cert_file).st_mode), stat.S_IMODE(os.stat(self.key_file).st_mode)))
        return original(self)

    return build


def test_kubeconfig_with_an_exec_plugin_goes_through_the_kubernetes_library(tmp_path):
    credential = json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                             "status": {"token": "from-exec"}})
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "sh",
                     "args": ["-c", f"echo '{credential}'"], "interactiveMode": "Never"}}
    endpoint = get_endpoint(K8sAuth(kubeconfig=_kubeconfig_with_user(tmp_path, user), use_kubeconfig=True))
    assert endpoint.authorization() == "Bearer from-exec"

# -- the error translator ---------------------------------------------------------------------


def _status(message: str) -> str:
    return json.dumps({"kind": "Status", "status": "Failure", "message": message})


def test_forbidden_names_verb_resource_and_namespace():
    exc = K8sApiError(403, "Forbidden", _status('pods "p" is forbidden: User "system:serviceaccount:cg-test:cg" cannot create resource "pods/exec"'))
    message = explain_api_exception(exc, verb="create", resource="pods/exec", name="p", namespace="cg-test")
    assert "403" in message and "may not create pods/exec in namespace \"cg-test\"" in message
    assert "RBAC must grant 'get' and 'create' on 'pods/exec'" in message
    assert 'cannot create resource "pods/exec"' in message


def test_unauthorized_blames_the_token_without_showing_it():
    message = explain_api_exception(K8sApiError(401, "Unauthorized", _status("Unauthorized")), host="https://k8s")
    assert "401" in message and "token" in message and TOKEN not in message


def test_not_found_and_other_statuses():
    assert explain_api_exception(K8sApiError(404, "Not Found", _status('pods "p" not found')), resource="pods", name="p", namespace="n") == (
        'pods "p" not found in namespace "n" (404). The API server said: pods "p" not found'
    )
    message = explain_api_exception(K8sApiError(400, "Bad Request", _status("container x is not valid")), verb="create", resource="pods/exec", name="p")
    assert "refused to create pods/exec \"p\" (400 Bad Request)" in message and "container x is not valid" in message


def test_kubernetes_api_exception_is_understood():
    from kubernetes.client.exceptions import ApiException

    exc = ApiException(status=403, reason="Forbidden")
    exc.body = _status('secrets is forbidden: User "x" cannot list resource "secrets"')
    message = explain_api_exception(exc, verb="list", resource="secrets", namespace="cg-test")
    assert "may not list secrets in namespace \"cg-test\"" in message and 'cannot list resource "secrets"' in message
    wrapped = ApiException(status=0, reason="[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate")
    assert "TLS verification of the API server certificate failed" in explain_api_exception(wrapped)
    assert "ssl_ca_cert" in explain_api_exception(wrapped)


def test_tls_and_network_errors_found_anywhere_in_the_chain():
    tls = ssl.SSLCertVerificationError(1, "certificate verify failed")
    tls.verify_message = "self-signed certificate in certificate chain"

    class MaxRetryError(Exception):
        def __init__(self, reason: BaseException) -> None:
            super().__init__("max retries")
            self.reason = reason

    message = explain_api_exception(MaxRetryError(tls), host="https://k8s:6443")
    assert message.startswith("TLS verification of the API server certificate failed at https://k8s:6443")
    assert "self-signed certificate in certificate chain" in message and "ca_cert" in message

    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert "connection refused" in explain_api_exception(outer, host="https://k8s")
    assert "does not resolve" in explain_api_exception(socket.gaierror(-2, "Name or service not known"))
    assert "timed out" in explain_api_exception(socket.timeout("timed out"))


def test_websocket_bad_status_is_understood():
    import websocket

    exc = websocket.WebSocketBadStatusException("Handshake status 403", 403, "Forbidden", {}, _status("nope").encode())
    assert "403" in explain_api_exception(exc, verb="create", resource="pods/exec")


def test_in_cluster_api_client_refreshes_the_token(service_account, tmp_path):
    service_account("10.0.0.1", "6443")
    api = get_api_client(K8sAuth(in_cluster=True))
    try:
        assert api.configuration.host == "https://10.0.0.1:6443"
        assert api.cg_default_namespace == "jobs"
        assert api.configuration.get_api_key_with_prefix("authorization") == "Bearer sa-token-1"
        (tmp_path / "token").write_text("sa-token-2\n")
        assert api.configuration.get_api_key_with_prefix("authorization") == "Bearer sa-token-2"
    finally:
        api.close()
