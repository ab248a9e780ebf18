# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a job creates: its Pod with the owner annotation, and its image pull Secret."""

from __future__ import annotations

import base64
import json

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import LABEL_JOB_ID
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.manifests import (
    ANNOTATION_PLAYBOOK,
    ANNOTATION_SLICE,
    LABEL_SLICE,
    docker_config_json,
    job_manifests,
    pull_secret_manifest,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import ANNOTATION_OWNER

RECORD = {"host": "registry.example:5000", "username": "robot", "password": "pa55-w0rd"}
OVERRIDE = {"metadata": {"namespace": "ns", "annotations": {"theirs": "kept"}},
            "spec": {"imagePullSecrets": [{"name": "theirs"}]}}


def test_the_pod_carries_its_owner_beside_the_overrides_annotations():
    manifests = job_manifests("g", OVERRIDE, "abc", "host/1/2", 90)
    assert manifests.pod["metadata"]["annotations"] == {"theirs": "kept", ANNOTATION_OWNER: "host/1/2"}
    assert manifests.pod["spec"]["activeDeadlineSeconds"] == 90
    assert manifests.pull_secret is None and manifests.pod["spec"]["imagePullSecrets"] == [{"name": "theirs"}]


def test_the_secret_is_named_after_the_pod_and_follows_the_overrides_pull_secrets():
    manifests = job_manifests("g", OVERRIDE, "abc", "host/1/2", 90, RECORD)
    pod, secret = manifests.pod, manifests.pull_secret
    assert secret is not None
    assert secret["metadata"]["name"] == f"{pod['metadata']['name']}-pull" and secret["metadata"]["namespace"] == "ns"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "theirs"}, {"name": secret["metadata"]["name"]}]
    assert secret["metadata"]["annotations"] == {ANNOTATION_OWNER: "host/1/2"}


def test_docker_config_json_holds_the_login_for_the_host():
    config = json.loads(docker_config_json(RECORD))
    entry = config["auths"]["registry.example:5000"]
    assert entry["username"] == "robot" and entry["password"] == "pa55-w0rd"
    assert base64.b64decode(entry["auth"]) == b"robot:pa55-w0rd"


def test_the_manifest_is_a_labelled_dockerconfigjson_secret():
    secret = pull_secret_manifest("cg-g-1-pull", "ns", "g", "1", "host/1/2", RECORD)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"]["labels"]["container-groups.ephemeral.io/job-id"] == "1"
    assert secret["metadata"]["annotations"] == {ANNOTATION_OWNER: "host/1/2"}
    assert json.loads(base64.b64decode(secret["data"][".dockerconfigjson"])) == json.loads(docker_config_json(RECORD))


def test_a_slices_pod_has_its_number_in_its_name_and_labels_and_the_jobs_playbook():
    manifests = job_manifests("g", OVERRIDE, "abc", "host/1/2", 90, RECORD, playbook="site.yml", slice_of=(2, 3))
    metadata = manifests.pod["metadata"]
    assert metadata["name"] == "cg-g-abc-2"
    assert metadata["labels"][LABEL_JOB_ID] == "abc", "every slice carries the job's id"
    assert metadata["labels"][LABEL_SLICE] == "2"
    assert metadata["annotations"][ANNOTATION_SLICE] == "2/3" and metadata["annotations"][ANNOTATION_PLAYBOOK] == "site.yml"
    assert manifests.pull_secret is not None and manifests.pull_secret["metadata"]["name"] == "cg-g-abc-2-pull"
