# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Jobs that exist now, seen, followed and canceled from any process (``container_group_job_info``
and ``container_group_job_cancel``).

Everything is read from the cluster, never from the memory of the controller that started a
job: the Pods of the group (labels: group, job id, slice; annotations: owner, playbook, slice)
and, in each running Pod, the runner's own account of its target (``runner.py state``). A
follower reads the output by offset as the owner does (``follow``), masked with what the
owner masks (the job keeps that list in its memory-backed volume). A cancel stops the target
as Ctrl-C does, marked canceled, so that an owner still alive reports the job canceled and
deletes its Pod; the cancel deletes whatever is left.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import (
    LABEL_GROUP,
    LABEL_JOB_ID,
    SECRETS_DIR,
    group_pod_definition,
)
from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import StateStore, resolve_state_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.artifacts import CANCELED, FAILED, SUCCESSFUL, TIMEOUT
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.events import parse_events, stats_of
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import LineFn, LineSplitter, recap_of, state_argv
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.follow import FollowError, PodEnded, StreamLost, TargetStream
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod.runner import KILLED, MASK_FILE, NOT_RUNNING, STOPPED
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.manifests import ANNOTATION_PLAYBOOK, ANNOTATION_SLICE
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobError, JobNamespace, NoticeFn
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import (
    ANNOTATION_OWNER,
    describe_owner,
    kept_until,
    owner_id,
    owner_is_alive,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.relay import Relay
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import JobSecrets
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.stop import STOPPED_SAID, stop_playbook
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.auth import auth_from_credential, get_endpoint
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sClientError

QUEUED, RUNNING, FINISHED = "queued", "running", "finished"
#: Seconds a cancel waits for an owner that may be alive to report the job and delete its Pod.
OWNER_WAIT_SECONDS = 8.0
#: Seconds a cancel waits for a deleted Pod to be gone.
GONE_WAIT_SECONDS = 30.0
#: Seconds between looks at a job whose playbook has not started yet, for a follow.
_START_POLL_SECONDS = 2.0


def _metadata(pod: dict) -> dict:
    return pod.get("metadata") or {}


def _annotation(pod: dict, name: str) -> str | None:
    value = (_metadata(pod).get("annotations") or {}).get(name)
    return str(value) if value is not None else None


def _container(pod: dict) -> str:
    return str(((pod.get("spec") or {}).get("containers") or [{}])[0].get("name") or "")


def pod_state(pod: dict, target: dict | None) -> str:
    """queued (gated in its group's queue, or not yet running), running, or finished (the
    target has ended, or the Pod has, or it is being deleted)."""
    phase = (pod.get("status") or {}).get("phase")
    if _metadata(pod).get("deletionTimestamp") or phase in ("Succeeded", "Failed"):
        return FINISHED
    if phase != "Running" or (pod.get("spec") or {}).get("schedulingGates"):
        return QUEUED
    return FINISHED if target and target.get("ended") else RUNNING


def job_entry(pod: dict, target: dict | None, alive: bool | None) -> dict[str, t.Any]:
    """What container_group_job_info says of one Pod (a job, or one slice of one)."""
    metadata = _metadata(pod)
    owner = _annotation(pod, ANNOTATION_OWNER) or ""
    started_at = (target or {}).get("started_at")
    entry: dict[str, t.Any] = {
        "job_id": (metadata.get("labels") or {}).get(LABEL_JOB_ID),
        "slice": _annotation(pod, ANNOTATION_SLICE),
        "state": pod_state(pod, target),
        "pod_name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "node": (pod.get("spec") or {}).get("nodeName"),
        "controller": describe_owner(owner) if owner else None,
        "owner": owner or None,
        "owner_alive": alive,
        "playbook": _annotation(pod, ANNOTATION_PLAYBOOK),
        "created": metadata.get("creationTimestamp"),
        "started": (datetime.datetime.fromtimestamp(started_at, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                    if isinstance(started_at, (int, float)) else None),
        "kept": kept_until(pod) is not None,
    }
    if target is not None:
        entry.update(rc=target.get("rc"), canceled_by=describe_owner(target["canceled"]) if target.get("canceled") else None,
                     output_bytes=target.get("output"))
    return entry


class JobControl:
    """The jobs of one container group in its namespace."""

    def __init__(self, api: JobNamespace, group_name: str, pull_secrets: bool = False) -> None:
        self.api = api
        self.group_name = group_name
        #: Whether the group's jobs create an image pull Secret (it has an image_pull_credential).
        self.pull_secrets = pull_secrets

    @classmethod
    def of_group(cls, state_file: str | None, group_name: str, reconnect_timeout: int, notice: NoticeFn) -> JobControl:
        """The control of a group defined in the state file, through its credential.
        StateError, PodSpecError or K8sClientError when it cannot be had."""
        group, credential, pull = StateStore(resolve_state_path(state_file)).job_records(group_name)
        namespace = str(group_pod_definition(group.get("pod_spec_override"))["metadata"]["namespace"])
        endpoint = get_endpoint(auth_from_credential(credential))
        return cls(JobNamespace(endpoint, namespace, reconnect_timeout=reconnect_timeout, notice=notice), group_name,
                   pull_secrets=pull is not None)

    def pods(self, job_id: str | None = None) -> list[dict]:
        selector = f"{LABEL_GROUP}={self.group_name}" + (f",{LABEL_JOB_ID}={job_id}" if job_id else "")
        pods = self.api.list_pods(selector)
        return sorted(pods, key=lambda pod: (str(_metadata(pod).get("creationTimestamp") or ""), str(_metadata(pod).get("name"))))

    def target(self, pod: dict) -> dict | None:
        """The runner's account of the target in a running Pod (see its STATE), None when the
        Pod does not run or the runner is not there yet."""
        if (pod.get("status") or {}).get("phase") != "Running" or _metadata(pod).get("deletionTimestamp"):
            return None
        said: list[bytes] = []
        try:
            rc = self.api.exec(str(_metadata(pod)["name"]), _container(pod), state_argv(), on_stdout=said.append,
                               what="read the job's state in")
        except JobError:
            return None
        if rc != 0:
            return None  # the project (and the runner with it) is not copied in yet
        try:
            state = json.loads(b"".join(said))
        except ValueError:
            return None
        return state if isinstance(state, dict) else None

    def jobs(self, pods: list[dict]) -> list[dict[str, t.Any]]:
        """What container_group_job_info says of each of these Pods (see :meth:`pods`)."""
        judged: dict[str, bool | None] = {}
        entries = []
        for pod in pods:
            owner = _annotation(pod, ANNOTATION_OWNER) or ""
            if owner not in judged:
                judged[owner] = owner_is_alive(owner)
            entries.append(job_entry(pod, self.target(pod), judged[owner]))
        return entries

    def _mask(self, pod: str, container: str) -> JobSecrets:
        said: list[bytes] = []
        try:
            self.api.exec(pod, container, ["cat", f"{SECRETS_DIR}/{MASK_FILE}"], on_stdout=said.append,
                          what="read what the job masks in")
            forms = json.loads(b"".join(said) or b"[]")
        except (JobError, ValueError):
            forms = []
        return JobSecrets.masking(forms if isinstance(forms, list) else [])

    def follow_all(self, pods: list[dict], offset: int, on_line: LineFn) -> list[dict[str, t.Any]]:
        """Follow every Pod of a job (each slice) at once, a thread each, so that no slice's
        Pod is deleted by its owner before it is read; their lines (prefixed ``[i/N]`` for a
        slice) and notices reach on_line and notice in this thread, the display's. JobError
        naming each slice that could not be followed, after the others are."""
        if len(pods) == 1:
            return [self.follow(pods[0], offset, on_line)]
        relay = Relay(on_line, self.api.notice)
        results: list[dict[str, t.Any] | JobError] = [JobError("not followed")] * len(pods)

        def follow_one(index: int, prefix: str) -> None:
            api = JobNamespace(self.api.endpoint, self.api.namespace, reconnect_timeout=self.api.reconnect_timeout,
                               notice=relay.notice(prefix))
            try:
                results[index] = JobControl(api, self.group_name, self.pull_secrets).follow(pods[index], offset,
                                                                                            relay.on_line(prefix))
            except JobError as exc:
                results[index] = exc

        threads = [threading.Thread(target=follow_one, args=(index, f"[{_annotation(pod, ANNOTATION_SLICE) or index + 1}] "),
                                    name=f"cg-follow-{index + 1}", daemon=True) for index, pod in enumerate(pods)]
        for thread in threads:
            thread.start()
        relay.show_until_done(threads)
        failed = [f"slice {_annotation(pod, ANNOTATION_SLICE)}: {result}" for pod, result in zip(pods, results) if isinstance(result, JobError)]
        if failed:
            raise JobError("; ".join(failed))
        return [result for result in results if not isinstance(result, JobError)]

    def follow(self, pod: dict, offset: int, on_line: LineFn) -> dict[str, t.Any]:
        """Stream a job's output from byte offset to its end through on_line, masked as its
        owner masks it; its rc, status and per-host stats. JobError when it cannot."""
        name, container = str(_metadata(pod)["name"]), _container(pod)
        seconds = int((pod.get("spec") or {}).get("activeDeadlineSeconds") or 86400)
        deadline = time.monotonic() + seconds + 60
        self._wait_started(name, deadline)
        secrets = self._mask(name, container)
        lines = LineSplitter(on_line, mask=secrets.mask)
        stream = TargetStream(self.api, name, container, lines.feed)
        stream.offset = offset
        try:
            rc, timed_out = stream.follow(deadline)
        except PodEnded as exc:
            if exc.reason == "Deleted" and owner_is_alive(_annotation(pod, ANNOTATION_OWNER) or "") is not False:
                # Its controller deletes the Pod as soon as it has read the end, which a follower far behind may not have.
                raise JobError(f"{self.api.where(name)} was deleted at byte {stream.offset:,} of its output, by its "
                               "controller once the job ended or by someone else; the whole output is in that "
                               "controller's output and record (artifacts_dir)") from exc
            raise JobError(f"following the output of {self.api.where(name)} stopped at byte {stream.offset:,}: {exc}") from exc
        except (StreamLost, FollowError, TimeoutError) as exc:
            raise JobError(f"following the output of {self.api.where(name)} stopped at byte {stream.offset:,}: {exc}") from exc
        finally:
            lines.flush()
        events = parse_events(stream.events, secrets)
        status = CANCELED if stream.canceled_by else TIMEOUT if timed_out else SUCCESSFUL if rc == 0 else FAILED
        followed = {"rc": rc, "status": status, "stats": stats_of(events), "events": len(events),
                    "output_bytes": stream.offset, "recap": recap_of(lines.kept), "pod_deleted": False}
        if owner_is_alive(_annotation(pod, ANNOTATION_OWNER) or "") is False:
            # Nobody else will: the job is over and its controller is provably gone (unless that
            # controller deleted it before it ended, as a job that ran to its end does).
            current = self.api.read_pod(name)
            if current is not None and _metadata(current).get("uid") == _metadata(pod).get("uid"):
                self._delete([current], [{"pod_name": name}], self.api.notice, [False])
                followed["pod_deleted"] = True
        return followed

    def _wait_started(self, name: str, deadline: float) -> None:
        """Wait until the job's playbook has started in its Pod (a queued job waits for its
        slot, then for its project); JobError when the Pod goes first."""
        said = False
        while True:
            pod = self.api.read_pod(name)
            if pod is None:
                raise JobError(f"{self.api.where(name)} is gone: the job ended before its output could be followed")
            target = self.target(pod)
            if target is not None and target.get("started"):
                return
            if pod_state(pod, target) == FINISHED:
                raise JobError(f"{self.api.where(name)} ended before its playbook started")
            if time.monotonic() > deadline:
                raise JobError(f"the playbook of {self.api.where(name)} did not start before the Pod's deadline")
            if not said:
                self.api.notice(f"{self.api.where(name)} is {pod_state(pod, target)}; waiting for its playbook to start", False)
                said = True
            time.sleep(_START_POLL_SECONDS)

    def cancel(self, pods: list[dict], notice: NoticeFn) -> list[dict[str, t.Any]]:
        """Cancel the job of these Pods (every slice): each target stopped (SIGTERM, SIGKILL
        after the grace) and marked canceled, then each Pod deleted, by its owner when that
        one is alive, else here, and its pull Secret with it."""
        me = owner_id()
        done: list[dict[str, t.Any]] = []
        for pod in pods:
            name, container = str(_metadata(pod)["name"]), _container(pod)
            stopped = "not started"
            if self.target(pod) is not None:
                try:
                    stopped = stop_playbook(self.api, name, container, me)
                except K8sClientError as exc:
                    stopped = f"could not be stopped ({exc}); deleting the Pod stops it"
            notice(f"{self.api.where(name)}: the playbook {STOPPED_SAID.get(stopped, stopped)}",
                   stopped not in (STOPPED, KILLED, NOT_RUNNING))
            done.append({"pod_name": name, "stopped": stopped, "owner_alive": owner_is_alive(_annotation(pod, ANNOTATION_OWNER) or "")})
        # Only a playbook stopped here makes an owner that may live report the job canceled and
        # delete its Pod; any other Pod is deleted at once.
        self._delete(pods, done, notice, [entry["owner_alive"] is not False and entry["stopped"] in (STOPPED, KILLED)
                                          for entry in done])
        return done

    def _delete(self, pods: list[dict], done: list[dict[str, t.Any]], notice: NoticeFn, wait_for_owner: list[bool]) -> None:
        """Delete each Pod (where wait_for_owner says so, its owner gets a few seconds to do it
        itself; done[i]'s deleted_by says who did), then the job's pull Secret."""
        for entry, pod, wait in zip(done, pods, wait_for_owner):
            name = str(entry["pod_name"])
            uid = _metadata(pod).get("uid")
            if wait and self._gone(name, OWNER_WAIT_SECONDS):
                entry["deleted_by"] = "its controller"
                continue
            self.api.delete_pod(name, uid if isinstance(uid, str) else None)
            if not self._gone(name, GONE_WAIT_SECONDS):
                raise JobError(f"{self.api.where(name)} still exists {GONE_WAIT_SECONDS:.0f}s after it was deleted; "
                               "check the node's kubelet")
            entry["deleted_by"] = "this cancel"
            notice(f"{self.api.where(name)} deleted", False)
        for job_id in {(_metadata(pod).get("labels") or {}).get(LABEL_JOB_ID) for pod in pods} - {None} if self.pull_secrets else ():
            try:
                for secret in self.api.list_ours("secrets", f"{LABEL_JOB_ID}={job_id}", metadata_only=True):
                    if isinstance(_metadata(secret).get("name"), str):
                        self.api.delete("secrets", _metadata(secret)["name"])
            except K8sClientError as exc:
                notice(f"the image pull Secret of job {job_id} could not be deleted ({self.api.explain(exc, 'delete', 'secrets')}); "
                       "it goes with its Pod, which owns it", True)

    def _gone(self, name: str, seconds: float) -> bool:
        for pod in self.api.pod_states(name, time.monotonic() + seconds):
            if pod is None:
                return True
        return False
