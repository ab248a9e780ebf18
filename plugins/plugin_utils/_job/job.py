# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""One container-group job: Pod from the merged spec, project in, playbook run, Pod out.

The lifecycle of AWX's container-group job for plain ansible-playbook. :meth:`run` owns
the whole sequence; its caller (the action plugin ``container_group_job``) only turns
arguments into a job and the outcome into a result. (With a list of groups, ``choice`` first
takes each group's job through steps 1 and 2, :meth:`enter` and :meth:`admit`, until one
has room; :meth:`run` then goes on from step 3. With slices, each slice is such a job, run
in a thread by ``slices``, which stops it through :meth:`stop_from_another_thread`.)

1. remove leftover Pods of ours that no live job owns (terminal ones, and ones whose owning
   process on this controller is gone); with an image pull credential, create the job's
   pull Secret (``pull_secret``; both objects are built by ``manifests``);
2. create the Pod (``admission``); in a group with ``max_concurrent_jobs`` it is created
   gated and waits for its turn in the group's fair queue (``queue``);
3. wait for Running, failing fast on reasons that will not heal (and failing at once, with
   Kubernetes' reason, when the Pod ends under the playbook: OOMKilled, Evicted...);
4. stream the project in as one tar over one exec;
5. run ansible-playbook inside, handing each output line to a callback as it arrives, every
   secret masked; then its job events and per-host stats, which the same stream brings
   (``events``);
6. delete the Pod and confirm it is gone, whatever happened before: success, failure,
   SIGINT or SIGTERM (see ``stop_guard``), with one more try if a signal cuts it short;
   then the pull Secret. With keep_pod, the Pod is marked kept instead, and left.

The job is composed, not inherited: it holds a :class:`JobNamespace` (every API call and exec,
retried and worded) and hands it to the pull Secret and to the follow of the output. Each
step returns what it produced and :meth:`run` builds the outcome from those returns; the job
itself remembers what exists in the cluster (the Pod it created), for the clean-up, and
what it did before :meth:`run` (leftovers removed, the wait in the queue).
Step errors are JobError with a message for people: the Pod once, as ``Pod NAMESPACE/NAME``,
then the cause.
"""

from __future__ import annotations

import time
import typing as t
import uuid

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import JOB_DIR
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.admission import CreatedPod, PodAdmission, QueueWait
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.artifacts import CANCELED, FAILED, SUCCESSFUL, TIMEOUT
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.events import artifacts_of, parse_events, stats_of
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.facts import bring_back_facts
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import (
    LineFn,
    LineSplitter,
    PROJECT_DIR,
    copy_argv,
    job_files,
    playbook_args,
    recap_of,
    slice_plan,
    start_argv,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.follow import FollowError, PodEnded, StreamLost, TargetStream
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod.runner import STILL_RUNNING
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import JobSpec
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.manifests import job_manifests
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobError, JobNamespace, NoticeFn
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.outcome import JobOutcome
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.outputs import JobOutputs
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.pending import NodeWait
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import describe_owner, kept_patch, leftovers, owner_id
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.project import (
    ProjectCopy,
    ProjectFileError,
    job_project,
    project_tar_stream,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.pull_secret import GRACE_SECONDS, PullSecret
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.queue import gated
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import JobSecrets
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.stop import STOPPED_SAID, stop_playbook
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.stop_guard import Interrupted, StopGuard
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sClientError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.pod_status import start_problem, unschedulable, waiting_reason

# Beyond job_timeout, the Pod's own deadline leaves this much for start-up and clean-up.
DEADLINE_GRACE_SECONDS = 30
DELETE_CONFIRM_SECONDS = 60.0
#: Beyond job_timeout, how long the controller follows a target the Pod should have stopped.
FOLLOW_GRACE_SECONDS = 60.0


class ContainerGroupJob:
    """One job of a container group: call :meth:`run` once.

    on_line(line, is_stderr) receives the target's output; notice(message, is_problem) the
    job's own messages.
    """

    def __init__(self, spec: JobSpec, group: dict, endpoint: ApiEndpoint, *, on_line: LineFn, notice: NoticeFn,
                 secrets: JobSecrets | None = None, owner: str | None = None, job_id: str | None = None,
                 pull_credential: dict | None = None, project: ProjectCopy | None = None,
                 slice_of: tuple[int, int] | None = None, outputs: JobOutputs | None = None) -> None:
        self.spec = spec
        #: (number, count) of a slice of a job (see ``slices``), None for a whole job.
        self.slice_of = slice_of
        #: What the job ships (chosen when the copy starts if not given).
        self.project = project
        self.secrets = secrets or JobSecrets(extra_vars=spec.extra_vars)
        self.group = group
        self.notice = notice
        self.owner = owner or owner_id()
        self.job_id = job_id or uuid.uuid4().hex[:12]
        #: runner_ident of the job's events: the job id, and a slice's number after it.
        self.ident = f"{self.job_id}-{slice_of[0]}" if slice_of else self.job_id
        deadline = spec.job_timeout + spec.pending_timeout + DEADLINE_GRACE_SECONDS
        manifests = job_manifests(spec.group_name, group.get("pod_spec_override"), self.job_id, self.owner, deadline,
                                  pull_credential, playbook=spec.playbook, slice_of=slice_of)
        #: The Pod as the job creates it.
        self.pod_manifest = manifests.pod
        self.namespace: str = manifests.pod["metadata"]["namespace"]
        self.container: str = manifests.pod["spec"]["containers"][0]["name"]
        self.api = JobNamespace(endpoint, self.namespace, reconnect_timeout=spec.reconnect_timeout, notice=notice)
        self.pull_secret = PullSecret(manifests.pull_secret, self.api) if manifests.pull_secret is not None else None
        self.admission = PodAdmission(self.api, spec.group_name, self.job_id, spec.pending_timeout, notice)
        #: events_file, the record (artifacts_dir), the playbook artifact (a slice's are the job's, see ``slices``).
        self.outputs = outputs or JobOutputs(spec, self.job_id, notice)

        def shown(line: str, is_stderr: bool) -> None:
            on_line(line, is_stderr)
            self.outputs.line(line)

        self._stdout = LineSplitter(shown, mask=self.secrets.mask)
        # What exists in the cluster, for the clean-up on every way out: the Pod once created,
        # until it is confirmed gone.
        self._created: CreatedPod | None = None
        self._deleted = False
        #: Leftover Pods of earlier jobs this job removed.
        self.leftovers_removed: list[str] = []
        #: Seconds the Pod waited in its group's queue, once admitted (None before).
        self.queue_seconds: float | None = None
        #: Whether the playbook was started in the Pod (its runner then answers a stop).
        self.target_started = False
        #: Why the job was stopped from another thread (a sliced job's interruption), None if it was not.
        self.stopped_by: str | None = None
        #: The job events read back (masked), once the playbook has ended.
        self.events: list[dict] = []

    @property
    def pod_name(self) -> str:
        """The Pod's name, fixed by the manifest (no slot names any more)."""
        return str(self.pod_manifest["metadata"]["name"])

    @property
    def has_pod(self) -> bool:
        """Whether the job's Pod was created (and not yet confirmed gone)."""
        return self._created is not None and not self._deleted

    @property
    def where(self) -> str:
        return self.api.where(self.pod_name)

    # -- the whole job ----------------------------------------------------------------------

    def run(self) -> JobOutcome:
        """Run every step, then delete the Pod whatever happened; never raises JobError."""
        outcome = JobOutcome()
        started = time.monotonic()
        timings = dict.fromkeys(("queue", "create_to_running", "copy", "run", "delete"), 0.0)
        follow: TargetStream | None = None
        timed_out = interrupted = False
        events: list[dict] = []
        with StopGuard() as guard:
            try:
                self.outputs.open()
                if self.queue_seconds is None:
                    self.queue_seconds = self.admit(self.enter())
                timings["queue"] = self.queue_seconds
                self._go_on()
                # The job id is what a user passes to find this job again (its Pod's label, its record).
                part = f", slice {self.slice_of[0]}/{self.slice_of[1]}" if self.slice_of else ""
                self.notice(f"{self.where} created for container group {self.spec.group_name!r} (job {self.job_id}{part}); "
                            "waiting for it to run", False)
                timings["create_to_running"] = self.wait_running()
                self._go_on()
                timings["copy"] = self.copy_project()
                self._go_on()
                self.notice(f"{self.where} running; project copied; running {self.spec.playbook}", False)
                run_started = time.monotonic()
                try:
                    self.start_playbook()
                    self.target_started = True
                    follow = TargetStream(self.api, self.pod_name, self.container, self._stdout.feed)
                    rc, timed_out = self.follow_playbook(follow)
                finally:
                    self._stdout.flush()
                    timings["run"] = time.monotonic() - run_started
                if self.spec.fact_cache_dir:
                    bring_back_facts(self.api, self.pod_name, self.container, self.spec.fact_cache_dir)
                # After job_timeout too: the events of what ran until then.
                events = self.events = self.read_events(follow.events)
                outcome.stats, outcome.events, outcome.artifacts = stats_of(events), len(events), artifacts_of(events)
                if self.stopped_by:
                    interrupted, outcome.failure = True, f"the job was canceled ({self.stopped_by})"
                elif follow.canceled_by:
                    interrupted = True
                    outcome.failure = (f"the job was canceled by container_group_job_cancel from "
                                       f"{describe_owner(follow.canceled_by)}")
                elif timed_out:
                    outcome.failure = (f"the playbook in {self.where} ran past job_timeout ({self.spec.job_timeout}s) "
                                       "and was stopped")
                else:
                    outcome.rc = rc
                    if rc != 0:
                        outcome.failure = f"the playbook {self.spec.playbook} failed in {self.where} (exit status {rc})"
                if follow.oom_kills:
                    outcome.failure, outcome.pod_reason = self._oom_killed(outcome.failure, follow)
            except JobError as exc:
                outcome.failure, outcome.pod_reason = str(exc), exc.reason
                if self.stopped_by:  # the Pod went because the job was stopped, not the other way round
                    interrupted, outcome.failure, outcome.pod_reason = True, f"the job was canceled ({self.stopped_by})", None
            except (Interrupted, KeyboardInterrupt):
                interrupted = True
                outcome.failure = f"interrupted by {guard.reason or 'SIGINT'}; the job was stopped"
                if self.target_started:
                    self._stop_target()
            finally:
                self._stdout.flush()
                outcome.changed = self._created is not None
                outcome.leftovers_removed = self.leftovers_removed
                outcome.pod_kept = self._kept(outcome.failure)
                if outcome.pod_kept:
                    outcome.pod_deleted = False
                else:
                    outcome.pod_deleted, timings["delete"], problems = self.clean_up()
                    outcome.failure = "; ".join(filter(None, [outcome.failure, *problems])) or None
        outcome.pod_name = self.pod_name
        status = CANCELED if interrupted else TIMEOUT if timed_out else FAILED if outcome.failure else SUCCESSFUL
        outcome.status = status
        outcome.artifact_dir = self.outputs.finish(events, status, outcome.rc)
        outcome.recap = recap_of(self._stdout.kept)
        outcome.stdout_tail = self._stdout.kept[-20:]
        outcome.timings = {name: round(value, 3) for name, value in timings.items()}
        outcome.elapsed = round(time.monotonic() - started, 3)
        outcome.reconnects = follow.reconnects if follow is not None else 0
        outcome.api_retries = self.api.retries
        outcome.api_requests = self.api.requests
        return outcome

    def _go_on(self) -> None:
        """Between steps: JobError if the job was stopped from another thread meanwhile."""
        if self.stopped_by:
            raise JobError(f"the job was canceled ({self.stopped_by})")

    def stop_from_another_thread(self, why: str) -> None:
        """Stop the job as its own interruption would, from another thread (a sliced job's main
        thread, which alone receives signals): the playbook stopped and marked canceled (the
        job's follow then ends as a cancel), or a Pod that has not run it yet deleted (the job's
        wait then fails, and says why)."""
        self.stopped_by = why
        if self.target_started:
            self._stop_target(canceled_by=owner_id())
        elif self.has_pod:
            _despite_a_signal(lambda: self.api.delete_pod(self.pod_name, self._created.uid if self._created else None))

    def _stop_target(self, canceled_by: str | None = None) -> None:
        """SIGTERM to the target's process group in the Pod, SIGKILL if it outlives the grace."""
        for _attempt in range(2):
            try:
                result = stop_playbook(self.api, self.pod_name, self.container, canceled_by)
            except (Interrupted, KeyboardInterrupt):
                continue  # the guard ignores every signal after the first, so this retry runs
            except K8sClientError as exc:
                self.notice(f"could not stop the playbook in {self.where} ({exc}); deleting the Pod stops it", True)
                return
            if result == STILL_RUNNING:
                self.notice(f"the playbook in {self.where} {STOPPED_SAID[STILL_RUNNING]}; deleting the Pod", True)
            else:
                how = STOPPED_SAID.get(result, "stopped")
                self.notice(f"the playbook in {self.where} {how}; its processes are gone", False)
            return

    def _oom_killed(self, failure: str | None, follow: TargetStream) -> tuple[str | None, str | None]:
        """What the job says when the OOM killer killed processes of the target in a container
        that lived on (cgroup v1 kills the largest process only, and Kubernetes reports nothing)."""
        limit = f"its memory limit, {follow.memory_limit / 2**20:g} MiB" if follow.memory_limit else "the node's memory"
        said = (f"the OOM killer killed {follow.oom_kills} process(es) of the playbook in {self.where}, which reached "
                f"{limit} (OOMKilled)")
        if failure is None:
            self.notice(f"{said}; the playbook succeeded all the same", True)
            return None, "OOMKilled"
        return (f"{failure}: {said}; give the container more memory (resources.limits.memory in the group's "
                "pod_spec_override) or the playbook less to hold"), "OOMKilled"

    def _kept(self, failure: str | None) -> bool:
        """Whether keep_pod leaves the Pod in place; if so, it is marked kept until its deadline
        (so later jobs leave it alone) and the job says how to look at it and remove it."""
        keep = self.spec.keep_pod == "always" or (self.spec.keep_pod == "on_failure" and failure is not None)
        if self._created is None or not keep:
            return False
        deadline = int(self.pod_manifest["spec"]["activeDeadlineSeconds"])
        try:
            self.api.patch_pod(self.pod_name, kept_patch(time.time() + deadline))
        except K8sClientError as exc:
            self.notice(f"cannot mark {self.where} as kept ({self.api.explain(exc, 'patch')}); a later job may remove "
                        "it once this controller is gone", True)
        kubectl = f"kubectl -n {self.namespace}"
        self.notice(f"{self.where} kept for inspection (keep_pod: {self.spec.keep_pod}) until its deadline "
                    f"(activeDeadlineSeconds {deadline}); look at it: {kubectl} describe pod {self.pod_name}; "
                    f"{kubectl} exec -it {self.pod_name} -c {self.container} -- bash (the job's files are in "
                    f"{JOB_DIR}); remove it: {kubectl} delete pod {self.pod_name}", True)
        return True

    def clean_up(self) -> tuple[bool | None, float, list[str]]:
        """Delete the Pod, then the pull Secret, whatever happened before: (the Pod deleted,
        None if none was created; seconds the delete took; what could not be cleaned up)."""
        deleted, seconds, problems = None, 0.0, []
        if self._created is not None and not self._deleted:
            started = time.monotonic()
            problem = _despite_a_signal(self.delete_pod)
            seconds = time.monotonic() - started
            deleted = not problem
            if problem:
                problems.append(f"and the Pod could not be deleted: {problem}")
            self.notice(f"{self.where} {'deleted' if deleted else 'NOT deleted'}", not deleted)
        if self.pull_secret is not None and self.pull_secret.exists:
            problem = _despite_a_signal(self.pull_secret.delete)
            if problem:
                problems.append(f"and the image pull Secret {self.namespace}/{self.pull_secret.name} could not be "
                                f"deleted: {problem}")
        return deleted, seconds, problems

    # -- steps ------------------------------------------------------------------------------

    def enter(self) -> QueueWait | None:
        """The steps up to the Pod's creation: leftovers removed, the pull Secret, the Pod (gated
        in a group with max_concurrent_jobs, whose queue it joins: the wait is returned; None
        when there is none)."""
        self.remove_leftovers()
        if self.pull_secret is not None:
            self.pull_secret.create()
        cap = int(self.group.get("max_concurrent_jobs") or 0)
        if cap > 0:
            gated(self.pod_manifest)
        self._created = self.admission.create(self.pod_manifest)
        self._own_pull_secret()
        return self.admission.join(self._created, cap) if cap > 0 else None

    def admit(self, wait: QueueWait | None) -> float:
        """Wait for the Pod's turn in its group's queue, if it is in one; the seconds it waited."""
        return self.admission.wait_turn(wait) if wait is not None else 0.0

    def remove_leftovers(self) -> None:
        """Delete Pods of ours that no live job owns (and pull Secrets no job or Pod owns)."""
        for name, uid, why in leftovers(self.api.list_pods()):
            self.notice(f"removing leftover {self.api.where(name)} ({why})", False)
            self.api.delete_pod(name, uid)
            self.leftovers_removed.append(name)
        if self.pull_secret is not None:
            for name in self.pull_secret.remove_leftovers():
                self.notice(f"removed leftover image pull Secret {self.namespace}/{name} (its controller process is gone)", False)

    def _own_pull_secret(self) -> None:
        """The Pod becomes the pull Secret's owner, so the Secret goes with it whatever happens."""
        if self.pull_secret is None or self._created is None:
            return
        uid = self._created.uid or ((self.api.read_pod(self._created.name) or {}).get("metadata") or {}).get("uid")
        if uid:
            self.pull_secret.own(self._created.name, uid)

    def wait_running(self) -> float:
        """Watch the Pod until it runs; the seconds that took. JobError naming the reason when it
        cannot, or when pending_timeout passes (a Pod no node fits is waited for: an autoscaler
        may be adding a node)."""
        started = time.monotonic()
        deadline = started + self.spec.pending_timeout
        last_reason = "Pending"
        said_pull_retry = False
        waiting = NodeWait(self.api, self.pod_name, self.spec.pending_timeout, started)
        for pod in self.api.pod_states(self.pod_name, deadline):
            if pod is None:
                raise JobError(f"{self.where} was deleted before it ran")
            if (pod.get("status") or {}).get("phase") == "Running":
                return time.monotonic() - started
            problem = start_problem(pod)
            if problem and self.pull_secret is not None and self.pull_secret.refusal_may_be_early(pod, time.monotonic() - started):
                if not said_pull_retry:
                    self.notice(f"the registry refused the first pull for {self.where}; the kubelet may not have had its "
                                f"pull Secret yet, so the job waits up to {GRACE_SECONDS:.0f}s for its next pull", True)
                    said_pull_retry = True
                continue
            if problem:
                raise JobError(f"{self.where} cannot start: {problem}")
            no_node = unschedulable(pod)
            if no_node is not None:
                waiting.saw(no_node)
                last_reason = f"Unschedulable: {no_node}"
            else:
                last_reason = waiting_reason(pod) or last_reason
        raise JobError(
            f"{self.where} stuck Pending for {time.monotonic() - started:.0f}s "
            f"(pending_timeout {self.spec.pending_timeout}s), last state: {last_reason}{waiting.autoscaler_said()}"
        )

    def copy_project(self) -> float:
        """One exec, one tar stream: the project, the job's own files and its secrets; the seconds it took."""
        started = time.monotonic()
        errors: list[bytes] = []
        plan = slice_plan(self.spec, self.secrets, *self.slice_of) if self.slice_of else None
        files = job_files(self.spec, self.secrets.files(), plan)
        try:
            project = self.project or job_project(self.spec)
            rc = self.api.exec(self.pod_name, self.container, copy_argv(),
                               stdin=lambda: project_tar_stream(project, files),
                               on_stderr=errors.append, what="copy the project into")
        except ProjectFileError as exc:
            raise JobError(f"the project could not be copied into {self.where}: {exc}") from exc
        if rc != 0:
            detail = b"".join(errors).decode("utf-8", errors="replace").strip()
            raise JobError(
                f"copying the project into {self.where} failed (tar exit {rc})"
                + (f": {detail}" if detail else "") + "; the image needs sh and tar"
            )
        return time.monotonic() - started

    def start_playbook(self) -> None:
        """Start the playbook detached in the Pod, under the runner."""
        sliced = self.slice_of is not None
        self.outputs.command(playbook_args(self.spec, self.secrets, sliced), PROJECT_DIR)
        errors: list[bytes] = []
        rc = self.api.exec(self.pod_name, self.container, start_argv(self.spec, self.secrets, self.ident, sliced),
                           on_stderr=errors.append, what="start the playbook in")
        if rc != 0:
            detail = self.secrets.mask(b"".join(errors).decode("utf-8", errors="replace").strip())
            raise JobError(f"the playbook could not be started in {self.where} (exit status {rc})"
                           + (f": {detail}" if detail else "") + ("; the image needs python3" if rc == 127 else ""))

    def follow_playbook(self, follow: TargetStream) -> tuple[int, bool]:
        """Follow the started playbook's output to its end: its exit status, and whether it was
        stopped at job_timeout."""
        deadline = time.monotonic() + self.spec.job_timeout + FOLLOW_GRACE_SECONDS
        try:
            return follow.follow(deadline)
        except PodEnded as exc:
            raise JobError(str(exc), exc.reason) from exc
        except StreamLost as exc:
            raise JobError(
                f"{exc}. The playbook may still be running in the Pod: it stops there at job_timeout "
                f"({self.spec.job_timeout}s) and the Pod ends by its deadline (activeDeadlineSeconds "
                f"{self.pod_manifest['spec']['activeDeadlineSeconds']}); check with: "
                f"kubectl get pod -n {self.namespace} {self.pod_name}"
            ) from exc
        except (FollowError, TimeoutError) as exc:
            raise JobError(str(exc)) from exc

    def read_events(self, data: bytes) -> list[dict]:
        """The job events the output stream brought, masked; events_file gets them."""
        events = parse_events(data, self.secrets)
        if not events:
            self.notice(f"the playbook in {self.where} sent no job events (the job_events callback did not load, or the "
                        "run ended before it began); no stats or events for this job", True)
            return []
        self.outputs.events(events)
        return events

    def delete_pod(self) -> None:
        """Delete the Pod and watch until the API no longer has it."""
        started = time.monotonic()
        self.api.delete_pod(self.pod_name, self._created.uid if self._created is not None else None)
        for pod in self.api.pod_states(self.pod_name, started + DELETE_CONFIRM_SECONDS + self.spec.reconnect_timeout):
            if pod is None:
                self._deleted = True
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
