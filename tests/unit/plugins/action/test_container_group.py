# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""validate=server: the job Pod is dry-run created through the group's credential first."""

from __future__ import annotations

import json

import pytest

from ansible_collections.ephemeral.container_groups.plugins.action import container_group as action_module
from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import StateStore
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sApiError, K8sConnectionError


class _Endpoint:
    host = "https://lab.example:6443"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[tuple] = []

    def request(self, method, path, *, query=None, body=None, timeout=30.0):
        self.calls.append((method, path, query, body))
        if self.error is not None:
            raise self.error
        return body


@pytest.fixture(name="state_file")
def _state_file(tmp_path):
    path = str(tmp_path / "state.yml")

    def fill(state: dict) -> None:
        state["credentials"]["lab"] = {"host": "https://lab.example:6443", "bearer_token": "t0ken", "verify_ssl": True,
                                       "ssl_ca_cert": None}

    StateStore(path).update(fill)
    return path


def _args(state_file, **extra):
    return {"name": "builds", "credential": "lab", "validate": "server", "state_file": state_file,
            "pod_spec_override": {"metadata": {"namespace": "jobs"}, "spec": {"containers": [{"image": "ee:1"}]}}, **extra}


def test_the_job_pod_is_dry_run_created_in_the_groups_namespace(state_file, monkeypatch):
    endpoint = _Endpoint()
    monkeypatch.setattr(action_module, "get_endpoint", lambda auth: endpoint)
    assert action_module._server_problem(_args(state_file)) is None
    method, path, query, body = endpoint.calls[0]
    assert (method, path, query) == ("POST", "/api/v1/namespaces/jobs/pods", [("dryRun", "All")])
    assert body["spec"]["containers"][0]["image"] == "ee:1"
    assert {volume["name"] for volume in body["spec"]["volumes"]} == {"cg-job", "cg-secrets"}, "the Pod a job makes"


def test_a_refusal_is_told_in_the_servers_words(state_file, monkeypatch):
    refusal = K8sApiError(400, "Bad Request", json.dumps({"message": "quantities must match the regular expression"}))
    monkeypatch.setattr(action_module, "get_endpoint", lambda auth: _Endpoint(refusal))
    said = action_module._server_problem(_args(state_file))
    assert said.startswith("container group 'builds' not stored: the API server would refuse its job Pod")
    assert "quantities must match the regular expression" in said and "t0ken" not in said


def test_no_credential_no_server_check(state_file):
    assert "needs a credential" in action_module._server_problem(_args(state_file, credential=None))
    assert action_module._server_problem(_args(state_file, credential="unknown")) is None, "the module says it"


def test_an_unreachable_server_is_named(state_file, monkeypatch):
    refused = K8sConnectionError("connection failed")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    monkeypatch.setattr(action_module, "get_endpoint", lambda auth: _Endpoint(refused))
    said = action_module._server_problem(_args(state_file))
    assert "cannot reach the API server at https://lab.example:6443: connection refused" in said


def test_with_an_image_pull_credential_the_pull_secret_is_dry_run_created_first(state_file, monkeypatch):
    StateStore(state_file).update(lambda state: state["registry_credentials"].update(
        quay={"host": "quay.example", "username": "robot", "password": "pa55"}))
    endpoint = _Endpoint()
    monkeypatch.setattr(action_module, "get_endpoint", lambda auth: endpoint)
    assert action_module._server_problem(_args(state_file, image_pull_credential="quay")) is None
    (secret_call, pod_call) = endpoint.calls
    assert secret_call[:3] == ("POST", "/api/v1/namespaces/jobs/secrets", [("dryRun", "All")])
    assert secret_call[3]["type"] == "kubernetes.io/dockerconfigjson"
    assert pod_call[3]["spec"]["imagePullSecrets"] == [{"name": secret_call[3]["metadata"]["name"]}]


def test_a_secret_the_credential_may_not_create_is_told_as_such(state_file, monkeypatch):
    StateStore(state_file).update(lambda state: state["registry_credentials"].update(
        quay={"host": "quay.example", "username": "robot", "password": "pa55"}))
    denied = K8sApiError(403, "Forbidden", json.dumps({"kind": "Status", "reason": "Forbidden", "message":
                         'secrets is forbidden: User "x" cannot create resource "secrets" in API group "" in the namespace "jobs"'}))
    endpoint = _Endpoint(denied)
    monkeypatch.setattr(action_module, "get_endpoint", lambda auth: endpoint)
    said = action_module._server_problem(_args(state_file, image_pull_credential="quay"))
    assert said.startswith("container group 'builds' not stored: the API server would refuse its image pull Secret")
    assert "may not create secrets in namespace \"jobs\"" in said and "pa55" not in said
    assert len(endpoint.calls) == 1, "no Pod is tried after the Secret is refused"
