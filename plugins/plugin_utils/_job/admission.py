# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Admission of the job's Pod: created (waiting for room in a full ResourceQuota), then, in a
group with max_concurrent_jobs, its turn in the group's queue (the rule is ``queue``'s).

The waiting job makes a bounded number of requests whatever the wait: a ticket, one list,
one watch per minute (more only while a Pod ahead of it stalls), and the ungate.
"""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import LABEL_GROUP, LABEL_JOB_ID
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobError, JobNamespace, NoticeFn
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.queue import (
    STALLED_SECONDS,
    QueueView,
    ticket_of,
    ticket_patch,
    ungate_patch,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import pod_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sApiError, K8sClientError, quota_exceeded

#: How often a full ResourceQuota is tried again (the API server has no watch for room).
QUOTA_POLL_SECONDS = 2.0
#: The least time between two notices of a job's place in line.
PLACE_NOTICE_SECONDS = 10.0


@dataclass(frozen=True)
class CreatedPod:
    name: str
    uid: str | None
    version: str = ""

    @classmethod
    def of(cls, name: str, pod: t.Any) -> CreatedPod:
        """From the API server's answer (the Pod, or anything else when it sent none)."""
        metadata = (pod if isinstance(pod, dict) else {}).get("metadata") or {}
        return cls(name, metadata.get("uid"), str(metadata.get("resourceVersion") or ""))


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st..."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


class PodAdmission:
    """Creates one job's Pod and, in a capped group, waits for its turn; every wait is bounded
    by pending_timeout."""

    def __init__(self, api: JobNamespace, group_name: str, job_id: str, pending_timeout: int, notice: NoticeFn) -> None:
        self.api = api
        self.group_name = group_name
        self.job_id = job_id
        self.pending_timeout = pending_timeout
        self.notice = notice

    # -- create -----------------------------------------------------------------------------

    def create(self, pod: dict) -> CreatedPod:
        """POST the Pod, waiting while a ResourceQuota is full; JobError when refused."""
        name = pod["metadata"]["name"]
        retries = self.api.retries
        full_since: float | None = None
        while True:
            try:
                return CreatedPod.of(name, self.api.request("POST", pod_path(self.api.namespace), body=pod))
            except K8sApiError as exc:
                if exc.status == 409 and self.api.retries > retries:
                    mine = self._read_mine(name)  # an earlier try created it, and its answer was lost
                    if mine is not None:
                        return mine
                quota = quota_exceeded(exc)
                if quota is None:
                    raise JobError(f"cannot create {self.api.where(name)}: {self.api.explain(exc, 'create')}") from exc
                full_since = self._wait_for_room(quota, full_since)
            except K8sClientError as exc:
                raise JobError(f"cannot create {self.api.where(name)}: {self.api.explain(exc, 'create')}") from exc

    def _read_mine(self, name: str) -> CreatedPod | None:
        try:
            pod = self.api.read_pod(name)
        except JobError:
            return None
        if (((pod or {}).get("metadata") or {}).get("labels") or {}).get(LABEL_JOB_ID) != self.job_id:
            return None
        # Its creation's version is lost with the answer; this one is later, which only puts
        # the job later in line.
        return CreatedPod.of(name, pod)

    def _wait_for_room(self, quota: str, since: float | None) -> float:
        """A full ResourceQuota is a busy slot: wait for room (AWX sends the job back to pending)."""
        now = time.monotonic()
        if since is None:
            since = now
            self.notice(f"no room for the job's Pod in namespace {self.api.namespace}: {quota} is full; waiting for room, "
                        f"up to pending_timeout ({self.pending_timeout}s)", False)
        elif now - since > self.pending_timeout:
            raise JobError(f"no room for the job's Pod in namespace {self.api.namespace} for {now - since:.0f}s "
                           f"(pending_timeout {self.pending_timeout}s): {quota} stayed full; try again later "
                           "or ask for a larger quota")
        time.sleep(QUOTA_POLL_SECONDS)
        return since

    # -- the queue --------------------------------------------------------------------------

    def join(self, pod: CreatedPod, cap: int) -> QueueWait:
        """Put the gated Pod in its group's queue (its ticket written); the wait to feed."""
        ticket = ticket_of(pod.version)
        if ticket is None:
            raise JobError(f"{self.api.where(pod.name)}: the API server gave it the resourceVersion {pod.version!r}, which "
                           "is not an integer, so the queue of max_concurrent_jobs cannot order it (Kubernetes 1.35 "
                           "guarantees integers); remove max_concurrent_jobs from the group")
        self.patch(pod.name, ticket_patch(ticket), "merge", "write the queue ticket of")
        return QueueWait(self, pod, ticket, cap)

    def wait_turn(self, wait: QueueWait) -> float:
        """Watch the group until the Pod's turn comes (its gate removed); the seconds it waited.
        JobError when pending_timeout passes first or the Pod is deleted meanwhile."""
        for kind, item in self.api.pod_changes(wait.selector, wait.started + self.pending_timeout,
                                               lambda: wait.view.next_check(time.monotonic())):
            if wait.feed(kind, item):
                return time.monotonic() - wait.started
        raise wait.timed_out()

    def remove_stalled(self, stalled: tuple) -> bool:
        """Delete the Pods that stayed gated after their turn came, each only while unchanged;
        True when all are gone."""
        gone = True
        for entry in stalled:
            try:
                removed = self.api.delete("pods", entry.name, entry.uid, entry.version)
            except K8sClientError as exc:
                raise JobError(f"cannot remove the stalled {self.api.where(entry.name)} from the queue: "
                               f"{self.api.explain(exc, 'delete')}") from exc
            if removed:
                self.notice(f"removed {self.api.where(entry.name)} from the queue of container group {self.group_name!r}: "
                            f"it stayed gated {STALLED_SECONDS:.0f}s after its turn came (its controller is gone or "
                            "cut off)", True)
            gone = gone and removed
        return gone

    def patch(self, name: str, patch: dict, patch_type: str, what: str) -> None:
        """Patch the queued Pod; what ("ungate") words the error."""
        try:
            patched = self.api.patch_pod(name, patch, patch_type)
        except K8sClientError as exc:
            raise JobError(f"cannot {what} {self.api.where(name)}: {self.api.explain(exc, 'patch')} (a group with "
                           "max_concurrent_jobs needs pods patch)") from exc
        if patched is None:
            raise JobError(f"{self.api.where(name)} was deleted while it waited in the queue of container group "
                           f"{self.group_name!r}; run the job again")


class QueueWait:
    """One job's wait in one group's queue: the view of the group, fed with its changes
    (``feed``), and what the job has said of its place."""

    def __init__(self, admission: PodAdmission, pod: CreatedPod, ticket: int, cap: int) -> None:
        self.admission = admission
        self.pod = pod
        self.cap = cap
        self.view = QueueView(pod.name, ticket, cap, STALLED_SECONDS)
        self.selector = f"{LABEL_GROUP}={admission.group_name}"
        self.started = time.monotonic()
        self._said_at = float("-inf")
        self._said_place = 0

    @property
    def where(self) -> str:
        return self.admission.api.where(self.pod.name)

    def feed(self, kind: str, item: t.Any) -> bool:
        """One change of the group (a ``_k8s.watch.object_changes`` item); True once the Pod's
        turn has come and its gate is removed. JobError if the Pod was deleted meanwhile."""
        group = self.admission.group_name
        if kind == "SYNC":
            self.view.reset(item)
        elif kind != "TICK":
            self.view.saw(kind, item)
        if kind in ("SYNC", "DELETED") and self.pod.name not in self.view.pods:
            raise JobError(f"{self.where} was deleted while it waited in the queue of container group {group!r} "
                           f"(a waiting Pod that does not take its turn within {STALLED_SECONDS:.0f}s is removed, "
                           "as when its controller is gone); run the job again")
        now = time.monotonic()
        turn = self.view.turn(now)
        if self.admission.remove_stalled(turn.stalled) and turn.go:
            self.admission.patch(self.pod.name, ungate_patch(), "strategic-merge", "ungate")
            if self._said_place:
                self.admission.notice(f"{self.where} took its turn in container group {group!r} after "
                                      f"{now - self.started:.0f}s", False)
            return True
        if turn.place and turn.place != self._said_place and now - self._said_at >= PLACE_NOTICE_SECONDS:
            self.admission.notice(f"waiting for a slot of container group {group!r}: {ordinal(turn.place)} in line "
                                  f"({turn.holders} of max_concurrent_jobs {self.cap} running); {self.where} (job "
                                  f"{self.admission.job_id}) waits SchedulingGated", False)
            self._said_at, self._said_place = now, turn.place
        return False

    def timed_out(self) -> JobError:
        waited = time.monotonic() - self.started
        place = f", still {ordinal(self._said_place)} in line" if self._said_place else ""
        return JobError(f"{self.where} waited {waited:.0f}s (pending_timeout {self.admission.pending_timeout}s) in the "
                        f"queue of container group {self.admission.group_name!r}{place} (max_concurrent_jobs {self.cap}); "
                        "try again later or raise max_concurrent_jobs")
