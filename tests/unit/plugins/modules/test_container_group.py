# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.ephemeral.container_groups.plugins.modules import container_group, container_group_info, k8s_bearer_credential

TOKEN = "unit-test-token-for-groups-93c1e7"
AWX_EXAMPLE = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"namespace": "my-namespace"},
    "spec": {"containers": [{"args": ["sleep", "infinity"], "image": "my-custom-image", "stdin": True, "tty": True}]},
}


@pytest.fixture
def state_file(run_module, tmp_path):
    path = str(tmp_path / "s.yml")
    run_module(k8s_bearer_credential, {"name": "prod", "host": "https://k8s.example.com", "bearer_token": TOKEN, "state_file": path})
    return path


def test_awx_example_as_json_text_then_as_yaml_is_idempotent(run_module, state_file):
    args = {"name": "custom", "credential": "prod", "state_file": state_file}
    first = run_module(container_group, dict(args, pod_spec_override=json.dumps(AWX_EXAMPLE)))
    assert first.result["changed"] is True
    group = first.result["container_group"]
    assert group["kubernetes"] is True and group["pod_spec_override"] == AWX_EXAMPLE
    assert group["pod_definition"]["spec"]["containers"][0]["name"] == "worker"
    assert group["pod_definition"]["metadata"]["namespace"] == "my-namespace"
    second = run_module(container_group, dict(args, pod_spec_override=AWX_EXAMPLE))
    assert second.result["changed"] is False
    assert TOKEN not in first.output + second.output


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("[1, 2]", "pod_spec_override: expected a mapping"),
        ({"kind": "Deployment"}, "pod_spec_override: kind: expected 'Pod'"),
        ({"apiVersion": "v2"}, "pod_spec_override: apiVersion: expected 'v1'"),
        ({"spec": {"containers": []}}, "pod_spec_override: spec.containers: no container left"),
        ({"spec": {"containers": [{"image": ["x"]}]}}, "pod_spec_override: spec.containers[0].image: expected a string, got list"),
        ("{spec: [", "pod_spec_override: not valid JSON or YAML"),
    ],
)
def test_bad_override_refused_and_state_unchanged(run_module, state_file, override, message):
    with open(state_file, "rb") as handle:
        before = hashlib.sha256(handle.read()).hexdigest()
    run = run_module(container_group, {"name": "bad", "credential": "prod", "pod_spec_override": override, "state_file": state_file})
    assert run.result["failed"] is True and message in run.result["msg"]
    with open(state_file, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"name": "bad name"}, "container group name 'bad name' is not valid"),
        ({"name": "g", "credential": "nope"}, "credential 'nope' is not defined in state file"),
        ({"name": "g", "max_forks": -1}, "max_forks must be 0 (no limit) or more, got -1"),
        ({"name": "g", "max_concurrent_jobs": -2}, "max_concurrent_jobs must be 0"),
    ],
)
def test_bad_options(run_module, state_file, args, message):
    run = run_module(container_group, dict(args, state_file=state_file))
    assert run.result["failed"] is True and message in run.result["msg"]


def test_check_mode_and_diff(run_module, state_file):
    run = run_module(container_group, {"name": "g", "state_file": state_file, "max_forks": 5}, check_mode=True, diff=True)
    assert run.result["changed"] is True
    assert run.result["diff"] == {
        "before": {"container_groups": {}},
        "after": {"container_groups": {"g": {"credential": None, "pod_spec_override": {}, "max_concurrent_jobs": 0, "max_forks": 5}}},
    }
    assert run_module(container_group_info, {"state_file": state_file}).result["container_groups"] == []


def test_remove(run_module, state_file):
    run_module(container_group, {"name": "g", "state_file": state_file})
    gone = run_module(container_group, {"name": "g", "state": "absent", "state_file": state_file})
    assert gone.result["changed"] is True and gone.result["container_group"] == {}
    assert run_module(container_group, {"name": "g", "state": "absent", "state_file": state_file}).result["changed"] is False


def test_info_lists_without_secrets(run_module, state_file):
    run_module(container_group, {"name": "with-cred", "credential": "prod", "state_file": state_file})
    run_module(container_group, {"name": "alone", "state_file": state_file})
    everything = run_module(container_group_info, {"state_file": state_file})
    assert [g["name"] for g in everything.result["container_groups"]] == ["alone", "with-cred"]
    assert [g["kubernetes"] for g in everything.result["container_groups"]] == [False, True]
    assert everything.result["credentials"] == [
        {
            "name": "prod",
            "host": "https://k8s.example.com",
            "verify_ssl": True,
            "has_bearer_token": True,
            "bearer_token_file": None,
            "in_cluster": False,
            "has_ssl_ca_cert": False,
            "container_groups": ["with-cred"],
        }
    ]
    assert everything.result["changed"] is False
    assert TOKEN not in everything.output

    one = run_module(container_group_info, {"name": "alone", "state_file": state_file})
    assert [g["name"] for g in one.result["container_groups"]] == ["alone"] and one.result["credentials"] == []
    missing = run_module(container_group_info, {"name": "nope", "state_file": state_file})
    assert missing.result["container_groups"] == [] and missing.result["credentials"] == []


def test_info_reports_a_stored_override_that_no_longer_passes(run_module, state_file):
    import yaml

    with open(state_file) as handle:
        state = yaml.safe_load(handle)
    state["container_groups"]["edited"] = {"credential": None, "pod_spec_override": {"kind": "Job"}, "max_concurrent_jobs": 0, "max_forks": 0}
    with open(state_file, "w") as handle:
        yaml.safe_dump(state, handle)
    run = run_module(container_group_info, {"name": "edited", "state_file": state_file})
    group = run.result["container_groups"][0]
    assert group["pod_definition"] is None and "kind: expected 'Pod'" in group["pod_definition_error"]


def test_info_on_missing_file_is_empty(run_module, tmp_path):
    run = run_module(container_group_info, {"state_file": str(tmp_path / "none" / "s.yml")})
    assert run.result["container_groups"] == [] and run.result["credentials"] == []
    assert not (tmp_path / "none").exists()
