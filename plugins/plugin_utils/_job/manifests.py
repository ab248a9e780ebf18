# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""What a job creates in the cluster, built in one place: its Pod and its image pull Secret.

The job creates these, and ``validate: server`` (the ``container_group`` action) dry-runs the
very same objects, so an admission webhook that checks the owner annotation, say, sees in the
dry run what it will see in the job.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import (
    LABEL_GROUP,
    LABEL_JOB_ID,
    LABEL_MANAGED_BY,
    MANAGED_BY_VALUE,
    job_pod_definition,
    pod_name,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import ANNOTATION_OWNER

SECRET_TYPE = "kubernetes.io/dockerconfigjson"
#: The playbook a job runs (as given), and a slice's "number/count", for container_group_job_info.
ANNOTATION_PLAYBOOK = "container-groups.ephemeral.io/playbook"
ANNOTATION_SLICE = "container-groups.ephemeral.io/slice"
#: A slice's number (1-based), beside the job id every slice of the job carries.
LABEL_SLICE = "container-groups.ephemeral.io/slice"


@dataclass(frozen=True)
class JobManifests:
    """The objects of one job: its Pod, and its pull Secret when the group has a registry credential."""

    pod: dict
    pull_secret: dict | None


def job_manifests(group_name: str, override: dict | None, job_id: str, owner: str, deadline: int,
                  pull_credential: dict | None = None, *, playbook: str | None = None,
                  slice_of: tuple[int, int] | None = None) -> JobManifests:
    """The Pod from the group's merged spec with the owner's annotation (and the playbook's,
    for container_group_job_info), and its pull Secret.

    A slice's Pod carries the job's id like every slice's, its number in its name and a label,
    and "number/count" in an annotation. The Secret is named after the Pod; the Pod lists it
    in imagePullSecrets after the override's own.
    """
    pod = job_pod_definition(override, group_name, job_id, deadline)
    metadata = pod["metadata"]
    annotations = metadata.setdefault("annotations", {})
    annotations[ANNOTATION_OWNER] = owner
    if playbook:
        annotations[ANNOTATION_PLAYBOOK] = playbook
    if slice_of is not None:
        metadata["name"] = pod_name(group_name, f"{job_id}-{slice_of[0]}")
        metadata["labels"][LABEL_SLICE] = str(slice_of[0])
        annotations[ANNOTATION_SLICE] = f"{slice_of[0]}/{slice_of[1]}"
    if pull_credential is None:
        return JobManifests(pod, None)
    name = f"{pod['metadata']['name']}-pull"
    pod["spec"]["imagePullSecrets"] = [*(pod["spec"].get("imagePullSecrets") or []), {"name": name}]
    secret = pull_secret_manifest(name, pod["metadata"]["namespace"], group_name, job_id, owner, pull_credential)
    return JobManifests(pod, secret)


def docker_config_json(record: dict) -> bytes:
    """The .dockerconfigjson of a registry credential record (host, username, password)."""
    login = f"{record['username']}:{record['password']}".encode("utf-8")
    entry = {"username": record["username"], "password": record["password"], "auth": base64.b64encode(login).decode("ascii")}
    return json.dumps({"auths": {record["host"]: entry}}, sort_keys=True).encode("utf-8")


def pull_secret_manifest(name: str, namespace: str, group: str, job_id: str, owner: str, record: dict) -> dict:
    """The Secret, labelled and annotated as the job's Pod is, so leftovers can be told apart."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": SECRET_TYPE,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY_VALUE, LABEL_GROUP: group, LABEL_JOB_ID: job_id},
            "annotations": {ANNOTATION_OWNER: owner},
        },
        "data": {".dockerconfigjson": base64.b64encode(docker_config_json(record)).decode("ascii")},
    }
