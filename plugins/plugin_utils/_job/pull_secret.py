# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The image pull Secret of a job whose group has an ``image_pull_credential``.

AWX creates one from an execution environment's registry credential. Here its life is bound
to the Pod's three ways: it is created before the Pod (so the kubelet's first pull has it),
then given an ownerReference to the Pod as soon as the Pod exists (Kubernetes' garbage
collector removes it with the Pod, even if this controller dies), and the job deletes it on
every way out. A Secret whose job died before it had an owner is removed by a later job, as
leftover Pods are (``owner``).
"""

from __future__ import annotations

import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobError, JobNamespace
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import ANNOTATION_OWNER, owner_is_alive
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import core_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sApiError, K8sClientError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.pod_status import registry_refused

#: How long a registry's refusal is not yet final for a Pod with a new pull Secret (the kubelet
#: pulls again after 10 s of backoff; see PullSecret.refusal_may_be_early).
GRACE_SECONDS = 30.0


def owner_patch(pod_name: str, pod_uid: str) -> dict:
    """The merge patch that makes the Pod the Secret's owner."""
    return {"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": pod_name, "uid": pod_uid}]}}


def leftover_secrets(secrets: t.Iterable[dict]) -> list[tuple[str, str | None]]:
    """(name, uid) of our pull Secrets that no live job owns and no Pod owns (the garbage
    collector takes those): their controller process is provably gone (see ``owner``)."""
    found = []
    for secret in secrets:
        metadata = secret.get("metadata") or {}
        name = metadata.get("name")
        if not isinstance(name, str) or metadata.get("deletionTimestamp") or metadata.get("ownerReferences"):
            continue
        if owner_is_alive(str((metadata.get("annotations") or {}).get(ANNOTATION_OWNER, ""))) is False:
            found.append((name, metadata.get("uid") if isinstance(metadata.get("uid"), str) else None))
    return found


class PullSecret:
    """The pull Secret of one job (its manifest from ``manifests``): create, own, delete, and
    sweep what killed jobs left, through the job's namespace.

    A step that fails raises JobError naming the Secret, the cause and the RBAC it needs.
    """

    def __init__(self, manifest: dict, api: JobNamespace) -> None:
        self.name: str = manifest["metadata"]["name"]
        self.manifest = manifest
        self._api = api
        self.exists = False

    def _fail(self, verb: str, exc: K8sClientError, name: str | None = None) -> JobError:
        """name None: the call was about the namespace's Secrets (list), not one of them."""
        namespace = self._api.namespace
        what = f"the image pull Secret {namespace}/{name}" if name else f"the image pull Secrets in namespace {namespace}"
        return JobError(f"cannot {verb} {what}: {self._api.explain(exc, verb, resource='secrets')}; a group with "
                        "image_pull_credential needs create, patch, list and delete on secrets")

    def create(self) -> None:
        try:
            self._api.request("POST", core_path("secrets", self._api.namespace), body=self.manifest)
        except K8sClientError as exc:
            if not (isinstance(exc, K8sApiError) and exc.status == 409):  # an earlier try's answer was lost
                raise self._fail("create", exc, self.name) from exc
        self.exists = True

    def own(self, pod_name: str, pod_uid: str) -> None:
        try:
            self._api.request("PATCH", core_path("secrets", self._api.namespace, self.name), body=owner_patch(pod_name, pod_uid))
        except K8sClientError as exc:
            raise self._fail("patch", exc, self.name) from exc

    def delete(self) -> None:
        if not self.exists:
            return
        self._delete(self.name)
        self.exists = False

    def _delete(self, name: str, uid: str | None = None) -> None:
        """With uid, only that Secret (see JobNamespace.delete)."""
        try:
            self._api.delete("secrets", name, uid)
        except K8sClientError as exc:
            raise self._fail("delete", exc, name) from exc

    @staticmethod
    def refusal_may_be_early(pod: dict, waited: float) -> bool:
        """Whether a registry's refusal to the Pod may come from before the kubelet could read this Secret.

        The kubelet may read a Secret only once the API server's node authorizer has linked it
        to a Pod on that node, and that link can come after the kubelet's first pull, which
        then goes without the login ("no relationship found between node and this object",
        then 401). The kubelet pulls again about 10 s later.
        """
        return waited <= GRACE_SECONDS and registry_refused(pod)

    def remove_leftovers(self) -> list[str]:
        """Delete the pull Secrets of ours whose job died before its Pod owned them; their names.

        Listed as metadata only: a controller never receives other jobs' logins.
        """
        try:
            items = self._api.list_ours("secrets", metadata_only=True)
        except K8sClientError as exc:
            raise self._fail("list", exc) from exc
        removed = leftover_secrets(items)
        for name, uid in removed:
            self._delete(name, uid)
        return [name for name, dummy_uid in removed]
