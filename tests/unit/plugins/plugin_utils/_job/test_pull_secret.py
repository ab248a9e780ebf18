# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image pull Secret of a job: its content, and which ones are leftovers (its life beside the
Pod is in test__job.py, with the rest of the job)."""

from __future__ import annotations

import base64
import json
import socket

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import ANNOTATION_OWNER
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.pull_secret import (
    attach_pull_secret,
    docker_config_json,
    leftover_secrets,
    pull_secret_manifest,
)

RECORD = {"host": "registry.example:5000", "username": "robot", "password": "pa55-w0rd"}


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


def test_leftovers_are_the_unowned_secrets_of_dead_controllers():
    host = socket.gethostname()

    def secret(name, owner, **metadata):
        return {"metadata": {"name": name, "annotations": {ANNOTATION_OWNER: owner}, **metadata}}

    secrets = [secret("dead", f"{host}/999999999/1"), secret("owned", f"{host}/999999999/1", ownerReferences=[{"uid": "u"}]),
               secret("elsewhere", "other-host/1/1"), secret("going", f"{host}/999999999/1", deletionTimestamp="t")]
    assert leftover_secrets(secrets) == ["dead"]


def test_the_secret_is_named_after_the_pod_and_follows_the_overrides_pull_secrets():
    pod = {"metadata": {"name": "cg-g-abc", "namespace": "ns"}, "spec": {"imagePullSecrets": [{"name": "theirs"}]}}
    secret = attach_pull_secret(pod, "g", "abc", "host/1/2", RECORD)
    assert secret["metadata"]["name"] == "cg-g-abc-pull" and secret["metadata"]["namespace"] == "ns"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "theirs"}, {"name": "cg-g-abc-pull"}]
