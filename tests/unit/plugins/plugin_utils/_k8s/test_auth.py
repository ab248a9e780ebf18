# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credential sources (stored credentials, plugin options, kubeconfigs, the in-cluster service
account) and the TLS settings of the endpoints they give."""

from __future__ import annotations

import base64
import json
import os
import ssl
import stat
import tempfile

import pytest
import yaml

from ansible_collections.ephemeral.container_groups.plugins.doc_fragments.k8s_auth import ModuleDocFragment
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s import auth as _k8s_auth
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.auth import (
    K8S_AUTH_ARGSPEC,
    K8sAuth,
    auth_from_credential,
    auth_from_params,
    get_endpoint,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sClientError, K8sConnectionError


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


def test_a_credential_token_file_is_read_for_every_request(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    auth = auth_from_credential({"host": "https://k8s", "bearer_token_file": str(token_file)})
    assert auth.api_key is None and auth.api_key_file == str(token_file)
    assert f"token file {token_file}" in auth.describe()
    endpoint = get_endpoint(auth)
    assert endpoint.authorization() == "Bearer first-token"
    token_file.write_text("rotated-token\n")
    assert endpoint.authorization() == "Bearer rotated-token"
    token_file.unlink()
    with pytest.raises(K8sClientError, match="cannot read the credential's bearer_token_file"):
        endpoint.authorization()


def test_an_in_cluster_credential_needs_a_pod(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(K8sClientError, match="does not run in a Pod with a service account"):
        auth_from_credential({"in_cluster": True})
    monkeypatch.setattr(_k8s_auth, "in_cluster_available", lambda: True)
    assert auth_from_credential({"in_cluster": True}) == K8sAuth(in_cluster=True)


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
    monkeypatch.setattr(_k8s_auth, "SERVICE_ACCOUNT_DIR", str(tmp_path))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert auth_from_params(params).source == "in-cluster"


@pytest.fixture()
def service_account(monkeypatch, tmp_path):
    """A Pod's service account in tmp_path (token sa-token-1, namespace jobs); returns a
    function that sets the API server's address the way the kubelet does."""
    (tmp_path / "token").write_text("sa-token-1\n")
    (tmp_path / "namespace").write_text("jobs\n")
    monkeypatch.setattr(_k8s_auth, "SERVICE_ACCOUNT_DIR", str(tmp_path))

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


# -- the endpoint's TLS settings ------------------------------------------------------------


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

    monkeypatch.setattr(_k8s_auth, "_kubeconfig_configuration", no_library)
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
    monkeypatch.setattr(ApiEndpoint, "_build_ssl_context", _recording_build(tmp_path / "tmp"))
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
    original = ApiEndpoint._build_ssl_context
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
