# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import hashlib
import json
import re

import pytest

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import (
    DEFAULT_IMAGE,
    ENV_DEFAULT_IMAGE,
    ENV_DEFAULT_NAMESPACE,
    JOB_DIR,
    LABEL_GROUP,
    LABEL_JOB_ID,
    LABEL_MANAGED_BY,
    MANAGED_BY_VALUE,
    SECRETS_DIR,
    PodSpecError,
    default_pod_spec,
    group_pod_definition,
    job_pod_definition,
    merge,
    parse_override,
    pod_name,
    validate_group_name,
)

# The override from AWX's container groups documentation, as users paste it.
AWX_EXAMPLE_JSON = """
{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {
    "namespace": "my-namespace"
  },
  "spec": {
    "containers": [
      {
        "args": [
          "sleep",
          "infinity"
        ],
        "image": "my-custom-image",
        "stdin": true,
        "tty": true
      }
    ]
  }
}
"""

AWX_EXAMPLE_YAML = """
apiVersion: v1
kind: Pod
metadata:
  namespace: my-namespace
spec:
  containers:
    - args:
        - sleep
        - infinity
      image: my-custom-image
      stdin: true
      tty: true
"""

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@pytest.fixture(autouse=True)
def no_env_defaults(monkeypatch):
    monkeypatch.delenv(ENV_DEFAULT_IMAGE, raising=False)
    monkeypatch.delenv(ENV_DEFAULT_NAMESPACE, raising=False)


RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


# -- default_pod_spec ----------------------------------------------------------------------


def test_default_pod_spec_shape():
    assert default_pod_spec() == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": "default"},
        "spec": {
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "worker",
                    "image": "quay.io/ansible/awx-ee:latest",
                    "args": ["sleep", "infinity"],
                    "resources": {"requests": {"cpu": "250m", "memory": "100Mi"}},
                }
            ],
        },
    }


def test_default_pod_spec_is_fresh():
    first = default_pod_spec()
    first["spec"]["containers"][0]["image"] = "changed"
    first["metadata"]["namespace"] = "changed"
    assert default_pod_spec()["spec"]["containers"][0]["image"] == DEFAULT_IMAGE
    assert default_pod_spec()["metadata"]["namespace"] == "default"


def test_default_pod_spec_env(monkeypatch):
    monkeypatch.setenv(ENV_DEFAULT_IMAGE, "registry.local:5000/ee:1")
    monkeypatch.setenv(ENV_DEFAULT_NAMESPACE, "jobs")
    spec = default_pod_spec()
    assert spec["spec"]["containers"][0]["image"] == "registry.local:5000/ee:1"
    assert spec["metadata"]["namespace"] == "jobs"


# -- merge ---------------------------------------------------------------------------------

MERGE_CASES = [
    pytest.param({"a": 1}, {}, {"a": 1}, id="empty-override"),
    pytest.param({"a": 1}, None, {"a": 1}, id="none-override"),
    pytest.param({"a": 1}, {"a": 2}, {"a": 2}, id="scalar-wins"),
    pytest.param({"a": 1}, {"b": 2}, {"a": 1, "b": 2}, id="new-key"),
    pytest.param({"a": {"x": 1, "y": 2}}, {"a": {"y": 3, "z": 4}}, {"a": {"x": 1, "y": 3, "z": 4}}, id="recursive"),
    pytest.param({"a": {"b": {"c": 1, "d": 2}}}, {"a": {"b": {"d": 3}}}, {"a": {"b": {"c": 1, "d": 3}}}, id="deep"),
    pytest.param({"a": [1, 2, 3]}, {"a": [4]}, {"a": [4]}, id="list-replaced"),
    pytest.param({"a": [{"x": 1, "y": 2}]}, {"a": [{"x": 5}]}, {"a": [{"x": 5}]}, id="list-of-dicts-replaced-not-merged"),
    pytest.param({"a": [1]}, {"a": []}, {"a": []}, id="empty-list-replaces"),
    pytest.param({"a": 1}, {"a": None}, {"a": 1}, id="null-keeps-scalar"),
    pytest.param({"a": {"x": 1}}, {"a": None}, {"a": {"x": 1}}, id="null-keeps-dict"),
    pytest.param({"a": [1]}, {"a": None}, {"a": [1]}, id="null-keeps-list"),
    pytest.param({"a": 1}, {"b": None}, {"a": 1}, id="null-without-default-left-out"),
    pytest.param({"a": {"x": 1}}, {"a": {"x": None, "y": None}}, {"a": {"x": 1}}, id="nested-nulls"),
    pytest.param({"a": 1}, {"a": {"x": 1}}, {"a": {"x": 1}}, id="dict-replaces-scalar"),
    pytest.param({"a": {"x": 1}}, {"a": "s"}, {"a": "s"}, id="scalar-replaces-dict"),
    pytest.param({"a": {"x": 1}}, {"a": {}}, {"a": {"x": 1}}, id="empty-dict-merges"),
    pytest.param({"a": True}, {"a": False}, {"a": False}, id="false-is-a-value"),
    pytest.param({"a": 5}, {"a": 0}, {"a": 0}, id="zero-is-a-value"),
    pytest.param({"a": "x"}, {"a": ""}, {"a": ""}, id="empty-string-is-a-value"),
    pytest.param({}, {"a": {"b": None, "c": 1}}, {"a": {"c": 1}}, id="nulls-in-new-subtree-dropped"),
    pytest.param({"a": [None]}, {"b": [None, 1]}, {"a": [None], "b": [None, 1]}, id="nulls-in-lists-kept"),
]


@pytest.mark.parametrize(("default", "override", "expected"), MERGE_CASES)
def test_merge(default, override, expected):
    assert merge(default, override) == expected


@pytest.mark.parametrize(("default", "override", "expected"), MERGE_CASES)
def test_merge_is_pure(default, override, expected):
    default_copy, override_copy = copy.deepcopy(default), copy.deepcopy(override)
    result = merge(default, override)
    assert default == default_copy and override == override_copy
    # The result shares nothing mutable with the inputs.
    if isinstance(result, dict):
        for value in result.values():
            if isinstance(value, (dict, list)):
                assert all(value is not v for v in list(default.values()) + list((override or {}).values()))


# -- parse_override ------------------------------------------------------------------------

PARSE_OK = [
    pytest.param(None, {}, id="none"),
    pytest.param("", {}, id="empty-string"),
    pytest.param("  \n", {}, id="blank"),
    pytest.param("# nothing yet\n", {}, id="yaml-comment-only"),
    pytest.param({}, {}, id="empty-dict"),
    pytest.param({"metadata": {"namespace": "x"}}, {"metadata": {"namespace": "x"}}, id="dict"),
    pytest.param('{"metadata": {"namespace": "x"}}', {"metadata": {"namespace": "x"}}, id="json"),
    pytest.param("metadata:\n  namespace: x\n", {"metadata": {"namespace": "x"}}, id="yaml"),
    pytest.param('{\t"spec": {}}', {"spec": {}}, id="json-with-tab-not-yaml"),
]


@pytest.mark.parametrize(("value", "expected"), PARSE_OK)
def test_parse_override(value, expected):
    assert parse_override(value) == expected


def test_parse_override_copies_dicts():
    original = {"metadata": {"labels": {"a": "b"}}}
    parsed = parse_override(original)
    parsed["metadata"]["labels"]["a"] = "changed"
    assert original["metadata"]["labels"]["a"] == "b"


PARSE_BAD = [
    pytest.param([], "expected a mapping (a Pod definition), got list", id="list"),
    pytest.param(42, "got integer", id="int"),
    pytest.param(True, "got boolean", id="bool"),
    pytest.param("[1, 2]", "got list", id="json-list"),
    pytest.param("- a\n- b\n", "got list", id="yaml-list"),
    pytest.param("just words", "got string", id="yaml-scalar"),
    pytest.param("{spec: [", "not valid JSON or YAML", id="broken"),
    pytest.param("a: 1\n---\nb: 2\n", "not valid JSON or YAML", id="two-documents"),
    pytest.param({1: "x"}, "key 1 must be a string", id="int-key"),
    pytest.param({"metadata": {"labels": {2: "x"}}}, "metadata.labels: key 2 must be a string", id="nested-int-key"),
]


@pytest.mark.parametrize(("value", "message"), PARSE_BAD)
def test_parse_override_refuses(value, message):
    with pytest.raises(PodSpecError) as exc:
        parse_override(value)
    assert message in str(exc.value)
    assert str(exc.value).startswith("pod_spec_override") or ":" in str(exc.value)


# -- the AWX example -----------------------------------------------------------------------


@pytest.mark.parametrize("override", [AWX_EXAMPLE_JSON, AWX_EXAMPLE_YAML, json.loads(AWX_EXAMPLE_JSON)], ids=["json-text", "yaml-text", "mapping"])
def test_awx_example_gives_a_valid_pod(override):
    pod = group_pod_definition(override)
    assert pod["apiVersion"] == "v1" and pod["kind"] == "Pod"
    assert pod["metadata"] == {"namespace": "my-namespace", "labels": {LABEL_MANAGED_BY: MANAGED_BY_VALUE}}
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["automountServiceAccountToken"] is False
    # The override's list replaces the default container: no resources; the name and the
    # restricted security context are filled in.
    assert pod["spec"]["containers"] == [
        {"name": "worker", "args": ["sleep", "infinity"], "image": "my-custom-image", "stdin": True, "tty": True,
         "securityContext": RESTRICTED_CONTAINER}
    ]


def test_awx_example_json_and_yaml_parse_the_same():
    assert parse_override(AWX_EXAMPLE_JSON) == parse_override(AWX_EXAMPLE_YAML)


def test_awx_example_job_pod():
    pod = job_pod_definition(AWX_EXAMPLE_JSON, "custom", "0a1b2c3d", 3600)
    assert pod["metadata"]["name"] == "cg-custom-0a1b2c3d"
    assert pod["metadata"]["namespace"] == "my-namespace"
    assert pod["spec"]["containers"][0]["name"] == "worker"
    assert pod["spec"]["activeDeadlineSeconds"] == 3600


# -- group_pod_definition ------------------------------------------------------------------


def test_no_override_is_default_plus_filled_and_forced_fields():
    pod = group_pod_definition(None)
    expected = default_pod_spec()
    expected["metadata"]["labels"] = {LABEL_MANAGED_BY: MANAGED_BY_VALUE}
    expected["spec"]["containers"][0]["securityContext"] = RESTRICTED_CONTAINER
    assert pod == expected


def _contexts(pod, field="containers"):
    return [c.get("securityContext") for c in pod["spec"][field]]


RESTRICTED_CASES = [
    pytest.param({"spec": {"containers": [{"image": "a"}, {"image": "b"}]}},
                 lambda p: _contexts(p) == [RESTRICTED_CONTAINER, RESTRICTED_CONTAINER], id="every-container-of-a-new-list"),
    pytest.param({"spec": {"containers": [{"image": "a", "securityContext": None}]}},
                 lambda p: _contexts(p) == [RESTRICTED_CONTAINER], id="null-context-filled"),
    pytest.param({"spec": {"containers": [{"image": "a", "securityContext": {"allowPrivilegeEscalation": True, "runAsUser": 0}}]}},
                 lambda p: _contexts(p) == [{"allowPrivilegeEscalation": True, "runAsUser": 0, "capabilities": {"drop": ["ALL"]}}],
                 id="user-values-kept"),
    pytest.param({"spec": {"containers": [{"image": "a", "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}]}},
                 lambda p: _contexts(p) == [{"allowPrivilegeEscalation": False,
                                             "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}}],
                 id="added-capability-drop-filled"),
    pytest.param({"spec": {"containers": [{"image": "a", "securityContext": {"capabilities": {"drop": []}}}]}},
                 lambda p: _contexts(p)[0]["capabilities"] == {"drop": []}, id="empty-drop-kept"),
    pytest.param({"spec": {"containers": [{"image": "a", "securityContext": {"privileged": True}}]}},
                 lambda p: "allowPrivilegeEscalation" not in _contexts(p)[0], id="privileged-may-escalate"),
    pytest.param({"spec": {"containers": [{"image": "a", "securityContext": {"capabilities": {"add": ["sys_admin"]}}}]}},
                 lambda p: "allowPrivilegeEscalation" not in _contexts(p)[0], id="sys-admin-may-escalate"),
    pytest.param({"spec": {"initContainers": [{"name": "init", "image": "a"}]}},
                 lambda p: _contexts(p, "initContainers") == [RESTRICTED_CONTAINER], id="init-containers-filled"),
    pytest.param({"spec": {"securityContext": {"runAsUser": 1000650000, "runAsGroup": 0}}},
                 lambda p: p["spec"]["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
                                                            "runAsUser": 1000650000, "runAsGroup": 0}, id="pod-context-merges"),
    pytest.param({"spec": {"securityContext": {"runAsNonRoot": False, "seccompProfile": {"type": "Unconfined"}}}},
                 lambda p: p["spec"]["securityContext"] == {"runAsNonRoot": False, "seccompProfile": {"type": "Unconfined"}},
                 id="pod-context-user-wins"),
]


@pytest.mark.parametrize(("override", "check"), RESTRICTED_CASES)
def test_restricted_security_context_filled_where_unset(override, check):
    assert check(group_pod_definition(override))


GROUP_CASES = [
    pytest.param({"metadata": {"namespace": "team-a"}}, lambda p: p["metadata"]["namespace"] == "team-a", id="namespace"),
    pytest.param(
        {"spec": {"containers": [{"image": "a"}, {"image": "b", "name": "worker"}, {"image": "c"}]}},
        lambda p: [c["name"] for c in p["spec"]["containers"]] == ["worker-2", "worker", "worker-3"],
        id="names-skip-taken",
    ),
    pytest.param(
        {"spec": {"containers": [{"image": "a"}, {"image": "b"}]}},
        lambda p: [c["name"] for c in p["spec"]["containers"]] == ["worker", "worker-2"],
        id="names-filled",
    ),
    pytest.param(
        {"spec": {"containers": [{"image": "a", "name": None}]}},
        lambda p: p["spec"]["containers"][0]["name"] == "worker",
        id="null-name-filled",
    ),
    pytest.param({"spec": {"restartPolicy": "Always"}}, lambda p: p["spec"]["restartPolicy"] == "Never", id="restart-policy-forced"),
    pytest.param(
        {"metadata": {"labels": {"team": "a", LABEL_MANAGED_BY: "someone-else"}}},
        lambda p: p["metadata"]["labels"] == {"team": "a", LABEL_MANAGED_BY: MANAGED_BY_VALUE},
        id="user-labels-kept-ours-win",
    ),
    pytest.param(
        {"metadata": {"name": "fixed", "generateName": "x-"}},
        lambda p: "name" not in p["metadata"] and "generateName" not in p["metadata"],
        id="name-dropped",
    ),
    pytest.param({"spec": {"automountServiceAccountToken": True}}, lambda p: p["spec"]["automountServiceAccountToken"] is True, id="user-may-mount-token"),
    pytest.param(
        {"spec": {"containers": None, "nodeSelector": {"disk": "ssd"}}},
        lambda p: p["spec"]["containers"][0]["name"] == "worker" and p["spec"]["nodeSelector"] == {"disk": "ssd"},
        id="null-containers-keeps-default",
    ),
    pytest.param({"apiVersion": "v1", "kind": "Pod"}, lambda p: p["kind"] == "Pod", id="explicit-v1-pod"),
    pytest.param({"metadata": {"annotations": {"a": "b"}}}, lambda p: p["metadata"]["annotations"] == {"a": "b"}, id="annotations"),
]


@pytest.mark.parametrize(("override", "check"), GROUP_CASES)
def test_group_pod_definition(override, check):
    assert check(group_pod_definition(override))


def test_group_pod_definition_does_not_change_its_input():
    override = {"spec": {"containers": [{"image": "a"}]}, "metadata": {"labels": {"x": "y"}}}
    snapshot = copy.deepcopy(override)
    group_pod_definition(override)
    assert override == snapshot


GROUP_BAD = [
    pytest.param({"apiVersion": "apps/v1"}, "apiVersion: expected 'v1', got 'apps/v1'", id="api-version"),
    pytest.param({"kind": "Deployment"}, "kind: expected 'Pod', got 'Deployment'", id="kind"),
    pytest.param({"metadata": []}, "metadata: expected a mapping, got list", id="metadata-list"),
    pytest.param({"metadata": {"namespace": 5}}, "metadata.namespace: expected a string, got integer", id="namespace-int"),
    pytest.param({"metadata": {"namespace": "My_NS"}}, "metadata.namespace: 'My_NS' is not a valid namespace name", id="namespace-invalid"),
    pytest.param({"metadata": {"labels": ["a"]}}, "metadata.labels: expected a mapping, got list", id="labels-list"),
    pytest.param({"metadata": {"labels": {"version": 1}}}, "metadata.labels.version: expected a string, got integer", id="label-int"),
    pytest.param({"metadata": {"annotations": "x"}}, "metadata.annotations: expected a mapping, got string", id="annotations-string"),
    pytest.param({"spec": "x"}, "spec: expected a mapping, got string", id="spec-string"),
    pytest.param({"spec": {"containers": {"name": "a"}}}, "spec.containers: expected a list, got mapping", id="containers-dict"),
    pytest.param({"spec": {"containers": []}}, "spec.containers: no container left after the merge", id="no-container"),
    pytest.param({"spec": {"containers": ["x"]}}, "spec.containers[0]: expected a mapping, got string", id="container-string"),
    pytest.param({"spec": {"containers": [{"name": "a"}]}}, "spec.containers[0].image: missing", id="no-image"),
    pytest.param({"spec": {"containers": [{"image": ["a"]}]}}, "spec.containers[0].image: expected a string, got list", id="image-list"),
    pytest.param({"spec": {"containers": [{"image": " "}]}}, "spec.containers[0].image: empty", id="image-empty"),
    pytest.param({"spec": {"containers": [{"image": "a", "name": 3}]}}, "spec.containers[0].name: expected a string, got integer", id="name-int"),
    pytest.param(
        {"spec": {"containers": [{"image": "a", "name": "Bad_Name"}]}},
        "spec.containers[0].name: 'Bad_Name' is not a valid container name",
        id="name-invalid",
    ),
    pytest.param(
        {"spec": {"containers": [{"image": "a", "name": "x"}, {"image": "b", "name": "x"}]}},
        "spec.containers[1].name: 'x' is used by another container",
        id="name-duplicate",
    ),
    pytest.param({"spec": {"containers": [{"image": "a", "securityContext": "x"}]}},
                 "spec.containers[0].securityContext: expected a mapping, got string", id="context-string"),
    pytest.param({"spec": {"containers": [{"image": "a", "securityContext": {"capabilities": ["ALL"]}}]}},
                 "spec.containers[0].securityContext.capabilities: expected a mapping, got list", id="capabilities-list"),
    pytest.param({"spec": {"initContainers": [{"image": "a", "securityContext": {"capabilities": {"add": "X"}}}]}},
                 "spec.initContainers[0].securityContext.capabilities.add: expected a list, got string", id="init-add-string"),
    pytest.param({"spec": {"initContainers": {"image": "a"}}}, "spec.initContainers: expected a list, got mapping", id="init-dict"),
    pytest.param(
        {"spec": {"containers": [{"image": "a", "args": "sleep infinity"}]}},
        "spec.containers[0].args: expected a list, got string",
        id="args-string",
    ),
    pytest.param(
        {"spec": {"containers": [{"image": "a", "command": ["sleep", 5]}]}},
        "spec.containers[0].command[1]: expected a string, got integer",
        id="command-int",
    ),
    pytest.param("[]", "pod_spec_override: expected a mapping", id="not-a-mapping"),
]


@pytest.mark.parametrize(("override", "message"), GROUP_BAD)
def test_group_pod_definition_refuses(override, message):
    with pytest.raises(PodSpecError) as exc:
        group_pod_definition(override)
    assert message in str(exc.value)


def test_bad_default_namespace_from_env_is_refused(monkeypatch):
    monkeypatch.setenv(ENV_DEFAULT_NAMESPACE, "Not OK")
    with pytest.raises(PodSpecError, match="metadata.namespace"):
        group_pod_definition(None)


# -- job_pod_definition and names ----------------------------------------------------------


def test_job_pod_definition_labels_name_deadline():
    pod = job_pod_definition({"metadata": {"labels": {"team": "a"}}}, "Builds_2", "job-42", 7200)
    assert pod["metadata"]["labels"] == {
        "team": "a",
        LABEL_MANAGED_BY: MANAGED_BY_VALUE,
        LABEL_GROUP: "Builds_2",
        LABEL_JOB_ID: "job-42",
    }
    assert pod["metadata"]["name"] == "cg-builds-2-" + hashlib.sha256(b"Builds_2").hexdigest()[:6] + "-job-42"
    assert pod["spec"]["activeDeadlineSeconds"] == 7200
    assert pod["spec"]["restartPolicy"] == "Never"


def test_job_pod_definition_forces_over_user_values():
    override = {"metadata": {"name": "mine", "labels": {LABEL_GROUP: "other", LABEL_JOB_ID: "other"}}, "spec": {"activeDeadlineSeconds": 99999}}
    pod = job_pod_definition(override, "g", "j1", 60)
    assert pod["metadata"]["name"] == "cg-g-j1"
    assert pod["metadata"]["labels"][LABEL_GROUP] == "g" and pod["metadata"]["labels"][LABEL_JOB_ID] == "j1"
    assert pod["spec"]["activeDeadlineSeconds"] == 60


def test_job_pod_definition_adds_the_job_directory_and_its_memory_backed_secrets():
    override = {"spec": {
        "volumes": [{"name": "cg-secrets", "hostPath": {"path": "/srv"}}, {"name": "data", "emptyDir": {}}],
        "containers": [{"image": "ee:1", "volumeMounts": [{"name": "cg-job", "mountPath": "/x"}, {"name": "data", "mountPath": "/data"}]}],
    }}
    pod = job_pod_definition(override, "g", "j1", 60)
    assert pod["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}, {"name": "cg-job", "emptyDir": {}},
                                      {"name": "cg-secrets", "emptyDir": {"medium": "Memory"}}]
    assert pod["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "data", "mountPath": "/data"}, {"name": "cg-job", "mountPath": JOB_DIR},
        {"name": "cg-secrets", "mountPath": SECRETS_DIR}]
    assert SECRETS_DIR.startswith(JOB_DIR + "/")


@pytest.mark.parametrize(
    ("group", "job_id", "expected"),
    [
        pytest.param("builds", "abc123", "cg-builds-abc123", id="plain"),
        pytest.param("Team.A_builds", "7", "cg-team-a-builds-" + hashlib.sha256(b"Team.A_builds").hexdigest()[:6] + "-7",
                     id="sanitized"),
        pytest.param("a" * 63, "abc", "cg-" + "a" * 49 + "-" + hashlib.sha256(b"a" * 63).hexdigest()[:6] + "-abc",
                     id="long-group"),
        pytest.param("a-" * 31 + "a", "x" * 20, None, id="long-group-long-id"),
        pytest.param("g", "9f1c4e2a-7b3d-4c5e-8f9a-0b1c2d3e4f5a", None, id="uuid-hashed"),
        pytest.param("g", "Job.ID_1", None, id="id-not-dns-hashed"),
    ],
)
def test_pod_name(group, job_id, expected):
    name = pod_name(group, job_id)
    assert DNS_LABEL.match(name), name
    assert len(name) <= 63
    if expected is not None:
        assert name == expected


def test_groups_whose_names_read_alike_never_share_pod_names_or_slots():
    groups = ["ci-fast", "ci.fast", "ci_fast", "CI-fast", "ci--fast", "a" * 63, "a" * 62 + "b"]
    for job_id in ("s1", "abc123"):
        names = [pod_name(group, job_id) for group in groups]
        assert len(set(names)) == len(groups), names
        assert all(DNS_LABEL.match(name) and len(name) <= 63 for name in names)
    assert pod_name("ci-fast", "s1") == "cg-ci-fast-s1", "a name that is a DNS label stays as it is"


def test_pod_names_differ_per_job():
    ids = ["9f1c4e2a-7b3d-4c5e-8f9a-0b1c2d3e4f5a", "9f1c4e2a-7b3d-4c5e-8f9a-0b1c2d3e4f5b", "Job.1", "Job.2", "a", "b"]
    assert len({pod_name("g", i) for i in ids}) == len(ids)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("bad name", "j", 60), "container group name 'bad name' is not valid", id="group"),
        pytest.param(("g", "bad id", 60), "job id 'bad id' is not valid", id="job-id"),
        pytest.param(("g", "j" * 64, 60), "is not valid", id="job-id-long"),
        pytest.param(("g", "j", 0), "active_deadline_seconds: expected a positive integer, got 0", id="deadline-zero"),
        pytest.param(("g", "j", True), "got True", id="deadline-bool"),
        pytest.param(("g", "j", "60"), "got '60'", id="deadline-str"),
    ],
)
def test_job_pod_definition_refuses(args, message):
    with pytest.raises(PodSpecError) as exc:
        job_pod_definition(None, *args)
    assert message in str(exc.value)


@pytest.mark.parametrize("name", ["a", "builds", "Team.A_builds-2", "a" * 63, "0", "x.y"])
def test_valid_group_names(name):
    validate_group_name(name)


@pytest.mark.parametrize("name", ["", "-a", "a-", "_a", "a b", "a/b", "a" * 64, "é", None, 5])
def test_invalid_group_names(name):
    with pytest.raises(PodSpecError, match="label value"):
        validate_group_name(name)
