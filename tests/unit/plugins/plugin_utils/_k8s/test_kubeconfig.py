# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The static kubeconfig reader: kubectl's merge and path rules, and what it leaves to the library."""

from __future__ import annotations

import base64
import os

import pytest
import yaml

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.kubeconfig import (
    StaticKubeconfig,
    kubeconfig_paths,
    read_static_kubeconfig,
)

TOKEN = "kc-t0ken-SECRET"


def _write(path, clusters=(), users=(), contexts=(), current=None) -> str:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in clusters],
        "users": [{"name": n, "user": u} for n, u in users],
        "contexts": [{"name": n, "context": c} for n, c in contexts],
    }
    if current:
        document["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return str(path)


def _simple(tmp_path, cluster=None, user=None, context=None, name="kubeconfig") -> str:
    return _write(
        tmp_path / name,
        clusters=[("c", cluster if cluster is not None else {"server": "https://k8s:6443", "certificate-authority": "ca.crt"})],
        users=[("u", user if user is not None else {"token": TOKEN})],
        contexts=[("ctx", context if context is not None else {"cluster": "c", "user": "u", "namespace": "ns1"})],
        current="ctx",
    )


def test_a_token_kubeconfig_is_read_with_paths_relative_to_the_file(tmp_path):
    path = _simple(tmp_path)
    config = read_static_kubeconfig(path, None)
    assert config == StaticKubeconfig(
        server="https://k8s:6443", namespace="ns1", ca_file=str(tmp_path / "ca.crt"), token=TOKEN
    )
    assert TOKEN not in repr(config)


def test_certificate_data_is_decoded_and_insecure_turns_verification_off(tmp_path):
    pem = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    data = base64.b64encode(pem.encode()).decode()
    path = _simple(
        tmp_path,
        cluster={"server": "https://k8s", "insecure-skip-tls-verify": True, "tls-server-name": "api", "proxy-url": "http://p:3128"},
        user={"client-certificate-data": data, "client-key-data": data, "tokenFile": "/run/tok"},
    )
    config = read_static_kubeconfig(path, "ctx")
    assert config is not None
    assert (config.verify, config.tls_server_name, config.proxy) == (False, "api", "http://p:3128")
    assert (config.cert_pem, config.key_pem, config.token_file, config.token) == (pem, pem, "/run/tok", None)


def test_a_context_without_a_user_is_anonymous(tmp_path):
    config = read_static_kubeconfig(_simple(tmp_path, context={"cluster": "c"}), None)
    assert config is not None and (config.token, config.token_file, config.cert_file) == (None, None, None)


def test_kubeconfig_list_first_definition_and_first_current_context_win(tmp_path, monkeypatch):
    first = _write(
        tmp_path / "a" / "config",
        clusters=[("c", {"server": "https://first", "certificate-authority": "ca-a.crt"})],
        contexts=[("ctx", {"cluster": "c", "user": "u"})],
    )
    second = _write(
        tmp_path / "b" / "config",
        clusters=[("c", {"server": "https://second"}), ("other", {"server": "https://other"})],
        users=[("u", {"client-certificate": "cert.pem", "client-key": "/abs/key.pem"})],
        contexts=[("ctx", {"cluster": "other", "user": "u"})],
        current="ctx",
    )
    third = _write(tmp_path / "c" / "config", current="elsewhere")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([first, str(tmp_path / "missing"), "", second, third]))
    assert kubeconfig_paths(None) == [first, str(tmp_path / "missing"), second, third]
    config = read_static_kubeconfig(None, None)
    assert config is not None
    # The context and the cluster come from the first file, the user from the second; each
    # relative path is relative to the file that holds it.
    assert config.server == "https://first" and config.ca_file == str(tmp_path / "a" / "ca-a.crt")
    assert (config.cert_file, config.key_file) == (str(tmp_path / "b" / "cert.pem"), "/abs/key.pem")
    assert config.namespace is None


def test_an_explicit_path_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope"))
    assert kubeconfig_paths("~/x") == [os.path.expanduser("~/x")]
    monkeypatch.delenv("KUBECONFIG")
    assert kubeconfig_paths(None) == [os.path.expanduser("~/.kube/config")]


@pytest.mark.parametrize(
    "cluster, user, context",
    [
        (None, {"exec": {"command": "aws"}}, None),
        (None, {"auth-provider": {"name": "oidc"}}, None),
        (None, {"username": "a", "password": "b"}, None),
        (None, {"token": TOKEN, "as": "admin"}, None),
        (None, {"token": TOKEN, "tokenFile": "/t"}, None),
        (None, {"client-certificate": "c.pem"}, None),
        (None, {"client-certificate-data": "@@not base64@@", "client-key-data": "eA=="}, None),
        (None, {"token": 5}, None),
        ({"server": "https://k", "insecure-skip-tls-verify": True, "certificate-authority": "ca"}, None, None),
        ({"server": "https://k", "insecure-skip-tls-verify": "yes"}, None, None),
        ({"server": "https://k", "some-new-key": 1}, None, None),
        ({"certificate-authority": "ca"}, None, None),
        (None, None, {"cluster": "missing", "user": "u"}),
        (None, None, {"cluster": "c", "user": "ghost"}),
        (None, None, {"cluster": "c", "user": "u", "namespace": ["x"]}),
    ],
)
def test_what_the_reader_does_not_cover_is_left_to_the_library(tmp_path, cluster, user, context):
    assert read_static_kubeconfig(_simple(tmp_path, cluster, user, context), None) is None


def test_missing_unparsable_or_odd_files_and_unknown_contexts_are_left_to_the_library(tmp_path):
    assert read_static_kubeconfig(str(tmp_path / "missing"), None) is None
    assert read_static_kubeconfig(_simple(tmp_path), "no-such-context") is None
    for text in ("{not: yaml: at all", "- a list\n", "clusters: [{cluster: {}}]\n", "current-context: x\n"):
        (tmp_path / "odd").write_text(text)
        assert read_static_kubeconfig(str(tmp_path / "odd"), None) is None
    (tmp_path / "empty").write_text("")  # no contexts at all
    assert read_static_kubeconfig(str(tmp_path / "empty"), None) is None
