# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""One job, a list of container groups: it runs in the first group with room, as AWX's list
of instance groups; when every group is at its max_concurrent_jobs it waits in the queue of
each and takes the first turn it gets.

Each group has a job of its own (``job``), all with one job id. They are entered in the
list's order (leftovers, the Pod created, gated in a capped group) until one has room: an
uncapped group, or a capped one where the Pod's turn has come at once. When none has, one
thread per group watches that group and hands its changes to this one, which feeds each
group's wait (``admission.QueueWait``) until a turn comes. The Pods left in the other queues
are deleted, then the chosen job runs.
"""

from __future__ import annotations

import queue
import threading
import time
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.admission import QueueWait
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.artifacts import CANCELED, FAILED
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.job import ContainerGroupJob
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobError, NoticeFn
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.outcome import JobOutcome
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.stop_guard import Interrupted, StopGuard

#: The longest watch of one group while the job waits in several queues: a watch of a group
#: that lost stops within this once a turn has come elsewhere.
WATCH_SLICE_SECONDS = 10


def run_in_first_with_room(jobs: list[ContainerGroupJob], notice: NoticeFn) -> tuple[ContainerGroupJob, JobOutcome]:
    """Run the job in the first of its groups (one job each, in the list's order) with room;
    (the job that ran, its outcome). The outcome counts every group's API requests."""
    if len(jobs) == 1:
        return jobs[0], jobs[0].run()
    entered: list[ContainerGroupJob] = []
    with StopGuard() as guard:
        try:
            chosen = _choose(jobs, entered)
        except (JobError, Interrupted, KeyboardInterrupt) as exc:
            # A slice stopped from the main thread (see ``slices``) fails its wait, but was canceled.
            stopped_by = next((job.stopped_by for job in jobs if job.stopped_by), None)
            if stopped_by:
                failure = f"the job was canceled ({stopped_by})"
            else:
                failure = str(exc) if isinstance(exc, JobError) else f"interrupted by {guard.reason or 'SIGINT'}; the job was stopped"
            problems = [problem for job in entered for problem in _leave(job)]
            outcome = JobOutcome(changed=any(job.has_pod for job in entered), failure="; ".join([failure, *problems]),
                                 status=FAILED if isinstance(exc, JobError) and not stopped_by else CANCELED)
            outcome.api_requests = _requests(jobs)
            outcome.pod_name = jobs[0].pod_name
            return jobs[0], outcome
        for job in entered:
            if job is not chosen:
                notice(f"{job.where} leaves the queue of container group {job.spec.group_name!r}: the job runs in "
                       f"container group {chosen.spec.group_name!r}", False)
                for problem in _leave(job):
                    notice(problem, True)
        outcome = chosen.run()
    outcome.api_requests = _requests(jobs)
    return chosen, outcome


def _requests(jobs: list[ContainerGroupJob]) -> int:
    """The requests of every group's endpoint (groups of one credential may share one)."""
    return sum({id(job.api.endpoint): job.api.requests for job in jobs}.values())


def _leave(job: ContainerGroupJob) -> list[str]:
    """Delete a job's Pod (and pull Secret) that will not run; what could not be deleted."""
    return [f"{job.where}: {problem}" for problem in job.clean_up()[2]]


def _choose(jobs: list[ContainerGroupJob], entered: list[ContainerGroupJob]) -> ContainerGroupJob:
    waits: list[QueueWait] = []
    for job in jobs:
        entered.append(job)
        wait = job.enter()
        if wait is None:
            job.queue_seconds = 0.0
            return job
        if wait.feed("SYNC", job.api.list_pods(wait.selector)):
            job.queue_seconds = time.monotonic() - wait.started
            return job
        waits.append(wait)
    index = _first_turn(waits, time.monotonic() + min(job.spec.pending_timeout for job in jobs))
    jobs[index].queue_seconds = time.monotonic() - waits[index].started
    return jobs[index]


def _first_turn(waits: list[QueueWait], until: float) -> int:
    """Watch every group (a thread each) until the Pod's turn comes in one; its index."""
    changes: queue.Queue[tuple[int, str, t.Any]] = queue.Queue()
    stop = threading.Event()

    def watch(index: int, wait: QueueWait) -> None:
        try:
            for kind, item in wait.admission.api.pod_changes(wait.selector, until, lambda: WATCH_SLICE_SECONDS):
                if stop.is_set():
                    return
                changes.put((index, kind, item))
        except JobError as exc:
            changes.put((index, "ERROR", exc))

    for index, wait in enumerate(waits):
        threading.Thread(target=watch, args=(index, wait), name=f"cg-queue-{index}", daemon=True).start()
    try:
        while (left := until - time.monotonic()) > 0:
            checks = [check for wait in waits if (check := wait.view.next_check(time.monotonic())) is not None]
            try:
                index, kind, item = changes.get(timeout=max(0.5, min([left, *checks])))
            except queue.Empty:
                # Time has passed with no change: a Pod ahead may have stalled meanwhile.
                for index, wait in enumerate(waits):
                    if wait.pod.name in wait.view.pods and wait.feed("TICK", None):
                        return index
                continue
            if kind == "ERROR":
                raise item
            if waits[index].feed(kind, item):
                return index
        raise JobError("; ".join(str(wait.timed_out()) for wait in waits))
    finally:
        stop.set()
