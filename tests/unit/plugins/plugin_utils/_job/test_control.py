# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What container_group_job_info says of a job's Pod, and how a sliced job is merged again."""

from __future__ import annotations

import json

import pytest

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import LABEL_JOB_ID
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.control import job_entry, pod_state
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.manifests import ANNOTATION_PLAYBOOK, ANNOTATION_SLICE
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import ANNOTATION_OWNER, describe_owner
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.queue import QUEUE_GATE
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import JobSecrets
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.slices import in_job_lines, merged_stats, renumbered


def _pod(phase: str = "Running", gated: bool = False, deleting: bool = False) -> dict:
    metadata = {"name": "cg-g-abc-1", "namespace": "ns", "creationTimestamp": "2026-12-06T10:00:00Z",
                "labels": {LABEL_JOB_ID: "abc"},
                "annotations": {ANNOTATION_OWNER: "ctl/boot/ns/42/7", ANNOTATION_PLAYBOOK: "site.yml", ANNOTATION_SLICE: "1/2"}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-06T10:05:00Z"
    spec = {"nodeName": "node-1", "containers": [{"name": "worker"}]}
    if gated:
        spec["schedulingGates"] = [{"name": QUEUE_GATE}]
    return {"metadata": metadata, "spec": spec, "status": {"phase": phase}}


@pytest.mark.parametrize(("pod", "target", "state"), [
    (_pod("Pending", gated=True), None, "queued"),
    (_pod("Pending"), None, "queued"),
    (_pod(), None, "running"),  # the runner is not there yet: the project is being copied
    (_pod(), {"started": True, "ended": False}, "running"),
    (_pod(), {"started": True, "ended": True, "rc": 0}, "finished"),
    (_pod("Succeeded"), None, "finished"),
    (_pod(deleting=True), {"started": True, "ended": False}, "finished"),
])
def test_the_state_of_a_job_from_its_pod_and_its_runner(pod, target, state):
    assert pod_state(pod, target) == state


def test_an_entry_names_the_job_its_slice_its_owner_and_when_it_started():
    entry = job_entry(_pod(), {"started": True, "ended": True, "rc": 2, "canceled": "me/b/n/7/1", "output": 120,
                               "started_at": 1796551200.5}, False)
    assert entry == {
        "job_id": "abc", "slice": "1/2", "state": "finished", "pod_name": "cg-g-abc-1", "namespace": "ns", "node": "node-1",
        "controller": "ctl (pid 42)", "owner": "ctl/boot/ns/42/7", "owner_alive": False, "playbook": "site.yml",
        "created": "2026-12-06T10:00:00Z", "started": "2026-12-06T10:00:00Z", "kept": False, "rc": 2,
        "canceled_by": "me (pid 7)", "output_bytes": 120,
    }
    assert "rc" not in job_entry(_pod("Pending"), None, None), "nothing is said of a runner that did not answer"


def test_an_owner_in_words():
    assert describe_owner("ci-7/boot/4026531836/4211/99") == "ci-7 (pid 4211)"
    assert describe_owner("written-by-an-older-version") == "written-by-an-older-version"


def test_a_follower_masks_what_the_job_masks():
    forms = JobSecrets(env={"TOKEN": 'pa"ss-word'}).files()["mask.json"]
    secrets = JobSecrets.masking(json.loads(forms) + ["ab", 7])
    assert secrets.mask('token pa"ss-word and pa\\"ss-word, ab') == "token ******** and ********, ab"


def test_stats_of_slices_merge_per_host():
    merged = merged_stats([{"a": {"ok": 1, "failed": 0}}, {"b": {"ok": 2}, "a": {"ok": 1, "failed": 1}}])
    assert merged == {"a": {"ok": 2, "failed": 1}, "b": {"ok": 2}}


def test_a_slices_event_lines_become_the_jobs():
    # The slice's lines 0, 1, 2 are the job's 3, 5, 6 (another slice printed 4).
    lines = [3, 5, 6]
    assert in_job_lines({"start_line": 0, "end_line": 2}, lines) == {"start_line": 3, "end_line": 6}
    assert in_job_lines({"start_line": 1, "end_line": 1}, lines) == {"start_line": 5, "end_line": 5}
    assert in_job_lines({"start_line": 3, "end_line": 3}, lines) == {"start_line": 7, "end_line": 7}
    assert in_job_lines({"event": "x"}, lines) == {"event": "x"}
    assert [event["counter"] for event in renumbered([{"counter": 1}, {"counter": 1}, {"counter": 2}])] == [1, 2, 3]
