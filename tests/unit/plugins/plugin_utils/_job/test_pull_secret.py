# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image pull Secret of a job: which ones are leftovers (its content is in test_manifests.py,
its life beside the Pod in test_job.py, with the rest of the job)."""

from __future__ import annotations

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import ANNOTATION_OWNER
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.pull_secret import leftover_secrets, owner_patch


def test_leftovers_are_the_unowned_secrets_of_dead_controllers(dead_owner):
    def secret(name, owner, **metadata):
        return {"metadata": {"name": name, "uid": f"uid-{name}", "annotations": {ANNOTATION_OWNER: owner}, **metadata}}

    secrets = [secret("dead", dead_owner), secret("owned", dead_owner, ownerReferences=[{"uid": "u"}]),
               secret("elsewhere", "other-host/other-boot/1/1/1"), secret("going", dead_owner, deletionTimestamp="t")]
    assert leftover_secrets(secrets) == [("dead", "uid-dead")]


def test_the_owner_patch_names_the_pod_and_its_uid():
    assert owner_patch("cg-g-abc", "u-1") == {
        "metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "cg-g-abc", "uid": "u-1"}]}}
