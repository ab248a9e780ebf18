# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""One container-group job: Pod from the merged spec, project in, playbook run, Pod out.

The lifecycle of AWX's container-group job for plain ansible-playbook. :meth:`run` owns
the whole sequence; its caller (the action plugin ``container_group_job``) only turns
arguments into a job and the outcome into a result:

1. remove leftover Pods of ours that no live job owns (terminal ones, and ones whose owning
   process on this controller is gone); with an image pull credential, create the job's
   pull Secret (``pull_secret``);
2. take a slot (``max_concurrent_jobs``): with a limit, Pod names are the group's slot
   names, so the API server's name uniqueness makes admission atomic across controllers;
3. create the Pod and wait for Running, failing fast on reasons that will not heal;
4. stream the project in as one tar over one exec;
5. run ansible-playbook inside, handing each output line to a callback as it arrives, every
   secret masked; then its job events and per-host stats, which the same stream brings
   (``events``);
6. delete the Pod and confirm it is gone, whatever happened before: success, failure,
   SIGINT or SIGTERM (see ``stop_guard``), with one more try if a signal cuts it short;
   then the pull Secret.

Step errors are JobError with a message for people: the Pod, the namespace, the cause.
"""

from __future__ import annotations

import time
import typing as t
import uuid
from dataclasses import dataclass, field

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import LABEL_GROUP, job_pod_definition, pod_name
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobCalls, JobError, NoticeFn
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.events import (
    parse_events,
    stats_of,
    write_events,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import (
    LineFn,
    LineSplitter,
    copy_argv,
    job_copies,
    job_meta_files,
    project_tar_stream,
    recap_of,
    start_argv,
    stop_argv,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import JobSpec
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.pull_secret import (
    GRACE_SECONDS,
    PullSecret,
    attach_pull_secret,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import JobSecrets
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import (
    ANNOTATION_OWNER,
    leftovers,
    owner_id,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint, pod_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sApiError, K8sClientError, quota_exceeded
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.follow import (
    FollowError,
    StreamLost,
    TargetStream,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.pod_status import start_problem, waiting_reason
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.stop_guard import Interrupted, StopGuard

# Beyond job_timeout, the Pod's own deadline leaves this much for start-up and clean-up.
DEADLINE_GRACE_SECONDS = 30
SLOT_POLL_SECONDS = 2.0
DELETE_CONFIRM_SECONDS = 60.0
#: Seconds the target gets to stop after SIGTERM when the job is interrupted, before SIGKILL.
STOP_GRACE_SECONDS = 3.0
#: Beyond job_timeout, how long the controller follows a target the Pod should have stopped.
FOLLOW_GRACE_SECONDS = 60.0

#: What the runner's stop answers, in words.
_STOPPED = {"stopped": "stopped by SIGTERM", "killed": f"was killed (SIGKILL after {STOP_GRACE_SECONDS:g}s)",
            "not running": "had already ended"}


@dataclass
class JobOutcome:
    """What a finished job reports (the action plugin's result is built from it)."""

    changed: bool = False
    rc: int | None = None
    failure: str | None = None
    pod_deleted: bool | None = None  # None: no Pod was created
    recap: list[str] = field(default_factory=list)
    stdout_tail: list[str] = field(default_factory=list)
    leftovers_removed: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    elapsed: float = 0.0
    stats: dict[str, dict[str, int]] = field(default_factory=dict)  # per host, from the job events
    events: int = 0  # job events read back (and written to events_file)
    reconnects: int = 0  # times the output stream was lost and taken up again
    api_retries: int = 0  # API calls tried again after a transient failure (the delete's among them)
    api_requests: int = 0  # HTTP requests and exec connections the job made


class ContainerGroupJob(JobCalls):
    """One job of a container group: call :meth:`run` once.

    on_line(line, is_stderr) receives the target's output; notice(message, is_problem) the
    job's own messages.
    """

    def __init__(self, spec: JobSpec, group: dict, endpoint: ApiEndpoint, *, on_line: LineFn, notice: NoticeFn,
                 secrets: JobSecrets | None = None, owner: str | None = None, job_id: str | None = None,
                 pull_credential: dict | None = None) -> None:
        self.spec = spec
        self.secrets = secrets or JobSecrets(extra_vars=spec.extra_vars)
        self.group = group
        self.endpoint = endpoint
        self.on_line = on_line
        self.notice = notice
        self.owner = owner or owner_id()
        self.job_id = job_id or uuid.uuid4().hex[:12]
        deadline = spec.job_timeout + spec.pending_timeout + DEADLINE_GRACE_SECONDS
        self.pod = job_pod_definition(group.get("pod_spec_override"), spec.group_name, self.job_id, deadline)
        self.pod["metadata"].setdefault("annotations", {})[ANNOTATION_OWNER] = self.owner
        self.namespace: str = self.pod["metadata"]["namespace"]
        self.pod_name: str = self.pod["metadata"]["name"]
        self.container: str = self.pod["spec"]["containers"][0]["name"]
        self.created = False
        self.pod_uid: str | None = None
        self.pull_secret: PullSecret | None = None
        if pull_credential is not None:
            manifest = attach_pull_secret(self.pod, spec.group_name, self.job_id, self.owner, pull_credential)
            self.pull_secret = PullSecret(manifest, self._request, self._explain)
        self.output_tail: list[str] = []
        self.timings = {"create_to_running": 0.0, "copy": 0.0, "run": 0.0, "delete": 0.0}
        self.leftovers_removed: list[str] = []
        self.target_started = False
        self.api_retries = 0
        self._lost_at = float("-inf")  # when the job last lost the API server (a transient failure)
        self.stream: TargetStream | None = None  # made once the Pod (and so its name) is known
        self._stdout = LineSplitter(self.on_line, False, self.output_tail, mask=self.secrets.mask)

    # -- the whole job ----------------------------------------------------------------------

    def run(self) -> JobOutcome:
        """Run every step, then delete the Pod whatever happened; never raises JobError."""
        outcome = JobOutcome()
        started = time.monotonic()
        with StopGuard() as guard:
            try:
                self.remove_leftovers()
                if self.pull_secret is not None:
                    self.pull_secret.create()
                self.create_pod()
                outcome.changed = True
                self._own_pull_secret()
                self.notice(f"{self.where} created for container group {self.spec.group_name!r}; waiting for it to run", False)
                self.wait_running()
                self.copy_project()
                self.notice(f"{self.where} running; project copied; running {self.spec.playbook}", False)
                rc, timed_out = self.run_playbook()
                self.read_events(outcome)  # after job_timeout too: the events of what ran until then
                if timed_out:
                    outcome.failure = (f"the playbook in {self.where} ran past job_timeout ({self.spec.job_timeout}s) "
                                       "and was stopped")
                else:
                    outcome.rc = rc
                    if rc != 0:
                        outcome.failure = f"the playbook {self.spec.playbook} failed in {self.where} (exit status {rc})"
            except JobError as exc:
                outcome.failure = str(exc)
            except (Interrupted, KeyboardInterrupt):
                outcome.failure = f"interrupted by {guard.reason or 'SIGINT'}; the job was stopped"
                self._stop_target()
            finally:
                self._stdout.flush()
                self._finish(outcome)
        outcome.recap = recap_of(self.output_tail)
        outcome.stdout_tail = self.output_tail[-20:]
        outcome.leftovers_removed = self.leftovers_removed
        outcome.timings = {name: round(value, 3) for name, value in self.timings.items()}
        outcome.elapsed = round(time.monotonic() - started, 3)
        outcome.reconnects = self.stream.reconnects if self.stream is not None else 0
        outcome.api_retries = self.api_retries
        outcome.api_requests = self.endpoint.requests
        return outcome

    def _stop_target(self) -> None:
        """SIGTERM to the target's process group in the Pod, SIGKILL if it outlives the grace."""
        if not self.target_started:
            return
        for _attempt in range(2):
            try:
                said: list[bytes] = []
                self._exec_once(stop_argv(STOP_GRACE_SECONDS), on_stdout=said.append, timeout=STOP_GRACE_SECONDS + 10)
            except (Interrupted, KeyboardInterrupt):
                continue  # the guard ignores every signal after the first, so this retry runs
            except K8sClientError as exc:
                self.notice(f"could not stop the playbook in {self.where} ({exc}); deleting the Pod stops it", True)
                return
            result = b"".join(said).decode(errors="replace").strip()
            if result == "still running":
                self.notice(f"the playbook in {self.where} did not stop even by SIGKILL; deleting the Pod", True)
            else:
                how = _STOPPED.get(result, "stopped")
                self.notice(f"the playbook in {self.where} {how}; its processes are gone", False)
            return

    def _finish(self, outcome: JobOutcome) -> None:
        """Delete the Pod, then the pull Secret, whatever happened before."""
        if self.created:
            problem = _despite_a_signal(self.delete_pod)
            outcome.pod_deleted = not problem
            if problem:
                outcome.failure = f"{outcome.failure + '; ' if outcome.failure else ''}and the Pod could not be deleted: {problem}"
            self.notice(f"{self.where} {'deleted' if outcome.pod_deleted else 'NOT deleted'}", not outcome.pod_deleted)
        if self.pull_secret is not None and self.pull_secret.exists:
            problem = _despite_a_signal(self.pull_secret.delete)
            if problem:
                outcome.failure = (f"{outcome.failure + '; ' if outcome.failure else ''}and the image pull Secret "
                                   f"{self.namespace}/{self.pull_secret.name} could not be deleted: {problem}")

    # -- steps ------------------------------------------------------------------------------

    def remove_leftovers(self) -> list[str]:
        """Delete Pods of ours that no live job owns; returns their names."""
        removed: list[str] = []
        for name, why in leftovers(self._list_ours()):
            self.notice(f"removing leftover Pod {self.namespace}/{name} ({why})", False)
            self._delete(name)
            removed.append(name)
        if self.pull_secret is not None:
            for name in self.pull_secret.remove_leftovers():
                self.notice(f"removed leftover image pull Secret {self.namespace}/{name} (its controller process is gone)", False)
        self.leftovers_removed = removed
        return removed

    def _own_pull_secret(self) -> None:
        """The Pod becomes the pull Secret's owner, so the Secret goes with it whatever happens."""
        if self.pull_secret is None:
            return
        uid = self.pod_uid or ((self._read() or {}).get("metadata") or {}).get("uid")
        if uid:
            self.pull_secret.own(self.pod_name, uid)

    def create_pod(self) -> None:
        """Create the Pod, waiting for a free slot when the group has max_concurrent_jobs."""
        limit = int(self.group.get("max_concurrent_jobs") or 0)
        if limit <= 0:
            self._create(self.pod)
            return
        started = time.monotonic()
        said_waiting = False
        while True:
            for slot in range(1, limit + 1):
                self.pod["metadata"]["name"] = pod_name(self.spec.group_name, f"s{slot}")
                if self._create(self.pod, taken_ok=True):
                    return
            waited = time.monotonic() - started
            if waited > self.spec.pending_timeout:
                raise JobError(
                    f"container group {self.spec.group_name!r} stayed at its max_concurrent_jobs ({limit}) "
                    f"for {waited:.0f}s (pending_timeout {self.spec.pending_timeout}s) in namespace {self.namespace}; "
                    "try again later or raise max_concurrent_jobs"
                )
            if not said_waiting:
                busy = ", ".join(sorted(p["metadata"]["name"] for p in self._list_ours(f"{LABEL_GROUP}={self.spec.group_name}")))
                self.notice(f"container group {self.spec.group_name!r} is running {limit} job(s) ({busy}); "
                            "waiting for a free slot", False)
                said_waiting = True
            time.sleep(SLOT_POLL_SECONDS)
            self.remove_leftovers()

    def _create(self, pod: dict, taken_ok: bool = False) -> bool:
        name = pod["metadata"]["name"]
        retries = self.api_retries
        full_since: float | None = None
        while True:
            try:
                created = self._request("POST", pod_path(self.namespace), body=pod)
                self.pod_uid = ((created if isinstance(created, dict) else {}).get("metadata") or {}).get("uid")
                break
            except K8sApiError as exc:
                if exc.status == 409 and self.api_retries > retries and self._is_ours(name):
                    break  # an earlier try created it, and its answer was lost
                if taken_ok and exc.status == 409:
                    return False
                quota = quota_exceeded(exc)
                if quota is None:
                    raise JobError(f"cannot create Pod {self.namespace}/{name}: {self._explain(exc, 'create', name)}") from exc
                full_since = self._wait_for_room(quota, full_since)
            except K8sClientError as exc:
                raise JobError(f"cannot create Pod {self.namespace}/{name}: {self._explain(exc, 'create', name)}") from exc
        self.created = True
        self.pod_name = name
        return True

    def _wait_for_room(self, quota: str, since: float | None) -> float:
        """A full ResourceQuota is a busy slot: wait for room (AWX sends the job back to pending)."""
        now = time.monotonic()
        if since is None:
            since = now
            self.notice(f"no room for the job's Pod in namespace {self.namespace}: {quota} is full; waiting for room, "
                        f"up to pending_timeout ({self.spec.pending_timeout}s)", False)
        elif now - since > self.spec.pending_timeout:
            raise JobError(f"no room for the job's Pod in namespace {self.namespace} for {now - since:.0f}s "
                           f"(pending_timeout {self.spec.pending_timeout}s): {quota} stayed full; try again later "
                           "or ask for a larger quota")
        time.sleep(SLOT_POLL_SECONDS)
        return since

    def wait_running(self) -> dict:
        """Watch the Pod until it runs; JobError naming the reason when it cannot."""
        started = time.monotonic()
        deadline = started + self.spec.pending_timeout
        last_reason = "Pending"
        said_pull_retry = False
        for pod in self._pod_states(deadline):
            if pod is None:
                raise JobError(f"{self.where} was deleted before it ran")
            if (pod.get("status") or {}).get("phase") == "Running":
                self.timings["create_to_running"] = time.monotonic() - started
                return pod
            problem = start_problem(pod)
            if problem and self.pull_secret is not None and self.pull_secret.refusal_may_be_early(pod, time.monotonic() - started):
                if not said_pull_retry:
                    self.notice(f"the registry refused the first pull for {self.where}; the kubelet may not have had its "
                                f"pull Secret yet, so the job waits up to {GRACE_SECONDS:.0f}s for its next pull", True)
                    said_pull_retry = True
                continue
            if problem:
                raise JobError(f"{self.where} cannot start: {problem}")
            last_reason = waiting_reason(pod) or last_reason
        raise JobError(
            f"{self.where} stuck Pending for {time.monotonic() - started:.0f}s "
            f"(pending_timeout {self.spec.pending_timeout}s), last state: {last_reason}"
        )

    def copy_project(self) -> None:
        """One exec, one tar stream: the project, the job's own files and its secrets."""
        started = time.monotonic()
        errors: list[bytes] = []
        meta, copies, secret_files = job_meta_files(self.spec), job_copies(self.spec), self.secrets.files()
        rc = self._exec(copy_argv(), stdin=lambda: project_tar_stream(self.spec.project_dir, meta, copies=copies,
                                                                      secret_files=secret_files),
                        on_stderr=errors.append, what="copy the project into")
        if rc != 0:
            detail = b"".join(errors).decode("utf-8", errors="replace").strip()
            raise JobError(
                f"copying the project into {self.where} failed (tar exit {rc})"
                + (f": {detail}" if detail else "") + "; the image needs sh and tar"
            )
        self.timings["copy"] = time.monotonic() - started

    def run_playbook(self) -> tuple[int, bool]:
        """Start the playbook detached in the Pod, follow its output to the end; its exit status,
        and whether it was stopped at job_timeout."""
        started = time.monotonic()
        errors: list[bytes] = []
        rc = self._exec(start_argv(self.spec, self.secrets), on_stderr=errors.append, what="start the playbook in")
        if rc != 0:
            detail = self.secrets.mask(b"".join(errors).decode("utf-8", errors="replace").strip())
            raise JobError(f"the playbook could not be started in {self.where} (exit status {rc})"
                           + (f": {detail}" if detail else "") + ("; the image needs python3" if rc == 127 else ""))
        self.target_started = True
        self.stream = TargetStream(self._exec_once, self.where, self._stdout.feed, self.notice, self.spec.reconnect_timeout,
                                   on_loss=self._lost)
        deadline = started + self.spec.job_timeout + FOLLOW_GRACE_SECONDS
        try:
            rc, timed_out = self.stream.follow(deadline)
        except StreamLost as exc:
            raise JobError(
                f"{exc}. The playbook may still be running in the Pod: it stops there at job_timeout "
                f"({self.spec.job_timeout}s) and the Pod ends by its deadline (activeDeadlineSeconds "
                f"{self.pod['spec']['activeDeadlineSeconds']}); check with: kubectl get pod -n {self.namespace} {self.pod_name}"
            ) from exc
        except (FollowError, TimeoutError) as exc:
            raise JobError(str(exc)) from exc
        finally:
            self._stdout.flush()
            self.timings["run"] = time.monotonic() - started
        return rc, timed_out

    def read_events(self, outcome: JobOutcome) -> None:
        """The job events the output stream brought: the per-host stats, and events_file."""
        events = parse_events(self.stream.events if self.stream is not None else b"", self.secrets)
        if not events:
            self.notice(f"the playbook in {self.where} sent no job events (the job_events callback did not load, or the "
                        "run ended before it began); no stats or events for this job", True)
            return
        outcome.stats, outcome.events = stats_of(events), len(events)
        if self.spec.events_file:
            try:
                write_events(self.spec.events_file, events)
            except OSError as exc:
                self.notice(f"cannot write events_file {self.spec.events_file}: {exc.strerror}", True)

    def delete_pod(self) -> None:
        """Delete the Pod and watch until the API no longer has it."""
        started = time.monotonic()
        self._delete(self.pod_name)
        for pod in self._pod_states(started + DELETE_CONFIRM_SECONDS + self.spec.reconnect_timeout):
            if pod is None:
                self.created = False
                self.timings["delete"] = time.monotonic() - started
                return
        raise JobError(f"{self.where} still exists {DELETE_CONFIRM_SECONDS:.0f}s after it was deleted; check the node's kubelet")


def _despite_a_signal(call: t.Callable[[], None]) -> str:
    """call(), with one more try if a signal cuts the first short; its JobError's text, or ""."""
    for _attempt in range(2):
        try:
            call()
            return ""
        except (Interrupted, KeyboardInterrupt):
            continue  # the guard ignores every signal after the first, so this retry runs
        except JobError as exc:
            return str(exc)
    return "interrupted"
