# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which credentials a plugin uses: its container group, else the k8s_auth options."""

from __future__ import annotations

import pytest

from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import StateStore
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.auth import K8sAuth
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.target import PodTargetError, resolve_target

TOKEN = "group-token-123"
CA = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"


@pytest.fixture()
def state_file(tmp_path):
    path = str(tmp_path / "state" / "groups.yml")

    def fill(state: dict) -> None:
        state["credentials"]["lab"] = {"host": "https://lab:6443", "bearer_token": TOKEN, "verify_ssl": True, "ssl_ca_cert": CA}
        state["container_groups"]["builds"] = {
            "credential": "lab",
            "pod_spec_override": {"metadata": {"namespace": "builds-ns"}},
            "max_concurrent_jobs": 0,
            "max_forks": 0,
        }
        state["container_groups"]["nocred"] = {"credential": None, "pod_spec_override": {}}

    StateStore(path).update(fill)
    return path


def options(**values):
    base = dict.fromkeys(
        ["container_group", "state_file", "api_host", "api_key", "ca_cert", "validate_certs", "kubeconfig", "context"]
    )
    base.update(values)
    return base.__getitem__


def test_container_group_gives_credential_and_namespace(state_file):
    target = resolve_target(options(container_group="builds", state_file=state_file, api_host="https://ignored"))
    assert target.auth == K8sAuth(host="https://lab:6443", api_key=TOKEN, ca_cert_data=CA, validate_certs=True)
    assert target.namespace == "builds-ns"
    assert "container group builds" in target.source and TOKEN not in target.source


def test_container_group_from_the_environment_state_file(state_file, monkeypatch):
    monkeypatch.setenv("CONTAINER_GROUPS_STATE_FILE", state_file)
    assert resolve_target(options(container_group="builds")).namespace == "builds-ns"


def test_unknown_group_and_group_without_credential(state_file):
    with pytest.raises(PodTargetError, match="'missing' is not defined"):
        resolve_target(options(container_group="missing", state_file=state_file))
    with pytest.raises(PodTargetError, match="has no credential"):
        resolve_target(options(container_group="nocred", state_file=state_file))


def test_direct_options_without_group():
    target = resolve_target(options(api_host="https://k8s", api_key=TOKEN, validate_certs=True))
    assert target.auth.host == "https://k8s" and target.namespace is None
