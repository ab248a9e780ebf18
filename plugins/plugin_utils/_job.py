# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
"""One container-group job: Pod from the merged spec, project in, playbook run, Pod out.

The lifecycle of AWX's container-group job for plain ansible-playbook, independent of its
caller (the action plugin ``container_group_job`` is a thin adapter):

1. remove leftover Pods of ours that no live job owns (terminal ones, and ones whose owning
   process on this controller is gone);
2. take a slot (``max_concurrent_jobs``): with a limit, Pod names are the group's slot
   names, so the API server's name uniqueness makes admission atomic across controllers;
3. create the Pod and wait for Running, failing fast on reasons that will not heal;
4. stream the project in as one tar over one exec;
5. run ansible-playbook inside, handing each output line to a callback as it arrives;
6. delete the Pod and confirm it is gone (the caller runs this in ``finally``).

Errors are JobError with a message for people: the Pod, the namespace, the cause.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import socket
import tarfile
import time
import typing as t
import uuid

from ansible_collections.ephemeral.container_groups.plugins.module_utils._client import (
    ApiEndpoint,
    K8sApiError,
    K8sClientError,
    explain_api_exception,
)
from ansible_collections.ephemeral.container_groups.plugins.module_utils._exec_stream import (
    ExecTimeout,
    exec_in_pod,
)
from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import (
    LABEL_GROUP,
    LABEL_MANAGED_BY,
    MANAGED_BY_VALUE,
    job_pod_definition,
    pod_name,
)

# Who runs a job: host/pid/start-time of the controller process, so a later run on the same
# host can tell a live job's Pod from one left by a killed controller.
ANNOTATION_OWNER = "container-groups.ephemeral.io/owner"
# Where the job lives inside the Pod: /tmp is writable for any container user.
JOB_DIR = "/tmp/cg-job"
PROJECT_DIR = f"{JOB_DIR}/project"
META_DIR = f"{JOB_DIR}/meta"
# Beyond job_timeout, the Pod's own deadline leaves this much for start-up and clean-up.
DEADLINE_GRACE_SECONDS = 30
SLOT_POLL_SECONDS = 2.0
STATUS_POLL_SECONDS = 0.25
DELETE_CONFIRM_SECONDS = 60.0
RECAP_LINES_KEPT = 200
# Waiting reasons that will not heal by waiting: fail fast and say why.
FATAL_WAITING_REASONS = frozenset({
    "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
    "CrashLoopBackOff",
})

LineFn = t.Callable[[str, bool], None]
NoticeFn = t.Callable[[str], None]


class JobError(Exception):
    """A job step failed; the message names the Pod and the cause for people."""


class JobSpec(t.NamedTuple):
    """What to run and how long to wait (all validated by the caller)."""

    group_name: str
    playbook: str  # relative to project_dir
    project_dir: str  # absolute, on the controller
    inventory: str | None = None  # relative to project_dir; None = localhost in the Pod
    extra_vars: dict | None = None
    limit: str | None = None
    tags: str | None = None
    forks: int | None = None
    verbosity: int = 0
    job_timeout: int = 3600
    pending_timeout: int = 300


class JobTimings(t.NamedTuple):
    """Seconds spent in each phase (for the result and the benchmark)."""

    create_to_running: float
    copy: float
    run: float
    delete: float


def owner_id(pid: int | None = None) -> str:
    """host/pid/start-ticks of a process: unique even when pids are reused."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}/{pid}/{_process_start_ticks(pid)}"


def _process_start_ticks(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            # Field 22 (starttime) follows the parenthesised command, which may hold spaces.
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def owner_is_alive(owner: str) -> bool | None:
    """True/False for an owner on this host; None when it ran elsewhere (cannot tell)."""
    try:
        host, pid, ticks = owner.rsplit("/", 2)
        pid_number = int(pid)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    return os.path.exists(f"/proc/{pid_number}") and _process_start_ticks(pid_number) == ticks


def waiting_problem(pod: dict) -> str | None:
    """Why a Pending Pod will not start, or None while it may still start."""
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False" \
                and condition.get("reason") == "Unschedulable":
            return f"Unschedulable: {condition.get('message') or 'no node fits the Pod'}"
    images = {c.get("name"): c.get("image") for c in (pod.get("spec") or {}).get("containers") or []}
    for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in FATAL_WAITING_REASONS:
            image = container.get("image") or images.get(container.get("name"))
            message = waiting.get("message") or ""
            return f"{reason} for image {image} (container {container.get('name')})" + (f": {message}" if message else "")
    if status.get("phase") in ("Failed", "Succeeded"):
        return f"the Pod ended ({status.get('phase')}) before the job started: {status.get('reason') or ''} {status.get('message') or ''}".strip()
    return None


def playbook_argv(spec: JobSpec) -> list[str]:
    """The ansible-playbook command run inside the Pod (from the project directory)."""
    inventory = spec.inventory or f"{META_DIR}/inventory.ini"
    argv = ["ansible-playbook", "-i", inventory, "-e", f"@{META_DIR}/extra_vars.json"]
    if spec.limit:
        argv += ["--limit", spec.limit]
    if spec.tags:
        argv += ["--tags", spec.tags]
    if spec.forks:
        argv += ["--forks", str(spec.forks)]
    if spec.verbosity:
        argv.append("-" + "v" * min(spec.verbosity, 6))
    argv.append(spec.playbook)
    # Plain output (no colour codes in the controller's log), line-buffered Python, and
    # Ansible's temp dirs under /tmp so any container user can run the job.
    env = {
        "PYTHONUNBUFFERED": "1",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": f"{JOB_DIR}/tmp",
        "ANSIBLE_REMOTE_TEMP": f"{JOB_DIR}/tmp",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    }
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
    return ["/bin/sh", "-c", f'cd {PROJECT_DIR} && export {exports} && exec ansible-playbook "$@"', "ansible-playbook", *argv[1:]]


def _default_inventory() -> bytes:
    return b"localhost ansible_connection=local ansible_python_interpreter=auto_silent\n"


class _ChunkSink(io.RawIOBase):
    """A write-only file that tarfile fills and the stream generator empties."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: t.Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def project_tar_stream(project_dir: str, extra_files: dict[str, bytes]) -> t.Iterator[bytes]:
    """A gzip'd tar of project_dir (under project/) and extra_files (under meta/), in chunks.

    Built as it is sent: memory holds one file's compressed output at most, never the tar.
    """
    sink = _ChunkSink()
    with tarfile.open(fileobj=sink, mode="w|gz", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(project_dir):
            dirs.sort()
            rel_root = os.path.relpath(root, project_dir)
            arc_root = "project" if rel_root == "." else f"project/{rel_root}"
            tar.add(root, arcname=arc_root, recursive=False)
            for name in sorted(files):
                tar.add(os.path.join(root, name), arcname=f"{arc_root}/{name}", recursive=False)
                chunk = sink.take()
                if chunk:
                    yield chunk
        for name, data in extra_files.items():
            info = tarfile.TarInfo(f"meta/{name}")
            info.size = len(data)
            info.mode = 0o600
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    yield sink.take()


def recap_of(lines: t.Sequence[str]) -> list[str]:
    """The PLAY RECAP block of ansible-playbook's output (empty if it never got there)."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith("PLAY RECAP"):
            recap = []
            for line in lines[index + 1:]:
                if not line.strip():
                    break
                recap.append(line.rstrip())
            return recap
    return []


class _LineSplitter:
    """Turns output chunks into whole lines for the callback, keeping the last few."""

    def __init__(self, on_line: LineFn, stderr: bool, kept: list[str]) -> None:
        self._on_line = on_line
        self._stderr = stderr
        self._kept = kept
        self._partial = b""

    def feed(self, data: bytes) -> None:
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        for raw in lines:
            self._emit(raw)

    def flush(self) -> None:
        if self._partial:
            self._emit(self._partial)
            self._partial = b""

    def _emit(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not self._stderr:
            self._kept.append(line)
            del self._kept[:-RECAP_LINES_KEPT]
        self._on_line(line, self._stderr)


class ContainerGroupJob:
    """Runs one job of a container group; call run() inside try and delete_pod() in finally."""

    def __init__(
        self,
        spec: JobSpec,
        group: dict,
        endpoint: ApiEndpoint,
        *,
        on_line: LineFn,
        notice: NoticeFn,
        owner: str | None = None,
        job_id: str | None = None,
    ) -> None:
        self.spec = spec
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
        self.created = False
        self.container: str = self.pod["spec"]["containers"][0]["name"]
        self.output_tail: list[str] = []
        self.timings = {"create_to_running": 0.0, "copy": 0.0, "run": 0.0, "delete": 0.0}
        self.leftovers_removed: list[str] = []

    # -- API helpers ------------------------------------------------------------------------

    def _pods_path(self, name: str | None = None) -> str:
        path = f"/api/v1/namespaces/{self.namespace}/pods"
        return f"{path}/{name}" if name else path

    def _explain(self, exc: Exception, verb: str, name: str | None = None, resource: str = "pods") -> str:
        return explain_api_exception(exc, verb=verb, resource=resource, name=name, namespace=self.namespace,
                                     host=self.endpoint.host)

    def _list_ours(self, extra_selector: str = "") -> list[dict]:
        selector = f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}" + (f",{extra_selector}" if extra_selector else "")
        try:
            listing = self.endpoint.request("GET", self._pods_path(), query=[("labelSelector", selector)])
        except K8sClientError as exc:
            raise JobError(f"cannot list Pods in namespace {self.namespace}: {self._explain(exc, 'list')}") from exc
        items = listing.get("items") if isinstance(listing, dict) else None
        return [pod for pod in items or [] if isinstance(pod, dict)]

    # -- lifecycle --------------------------------------------------------------------------

    def remove_leftovers(self) -> list[str]:
        """Delete Pods of ours that no live job owns; returns their names."""
        removed: list[str] = []
        for pod in self._list_ours():
            metadata = pod.get("metadata") or {}
            name = metadata.get("name")
            if not isinstance(name, str) or metadata.get("deletionTimestamp"):
                continue
            phase = (pod.get("status") or {}).get("phase")
            alive = owner_is_alive((metadata.get("annotations") or {}).get(ANNOTATION_OWNER, ""))
            if phase in ("Succeeded", "Failed") or alive is False:
                why = f"phase {phase}" if phase in ("Succeeded", "Failed") else "its controller process is gone"
                self.notice(f"removing leftover Pod {self.namespace}/{name} ({why})")
                self._delete(name)
                removed.append(name)
        self.leftovers_removed = removed
        return removed

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
                    self.pod_name = self.pod["metadata"]["name"]
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
                self.notice(f"container group {self.spec.group_name!r} is running {limit} job(s) ({busy}); waiting for a free slot")
                said_waiting = True
            time.sleep(SLOT_POLL_SECONDS)
            self.remove_leftovers()

    def _create(self, pod: dict, taken_ok: bool = False) -> bool:
        name = pod["metadata"]["name"]
        try:
            self.endpoint.request("POST", self._pods_path(), body=pod)
        except K8sApiError as exc:
            if taken_ok and exc.status == 409:
                return False
            raise JobError(f"cannot create Pod {self.namespace}/{name}: {self._explain(exc, 'create', name)}") from exc
        except K8sClientError as exc:
            raise JobError(f"cannot create Pod {self.namespace}/{name}: {self._explain(exc, 'create', name)}") from exc
        self.created = True
        self.pod_name = name
        return True

    def wait_running(self) -> dict:
        """Poll until the Pod runs; JobError naming the reason when it cannot."""
        started = time.monotonic()
        last_reason = "Pending"
        while True:
            pod = self._read(self.pod_name)
            status = pod.get("status") or {}
            if status.get("phase") == "Running":
                self.timings["create_to_running"] = time.monotonic() - started
                return pod
            problem = waiting_problem(pod)
            if problem:
                raise JobError(f"Pod {self.namespace}/{self.pod_name} cannot start: {problem}")
            waited = time.monotonic() - started
            for container in status.get("containerStatuses") or []:
                reason = ((container.get("state") or {}).get("waiting") or {}).get("reason")
                if reason:
                    last_reason = reason
            if waited > self.spec.pending_timeout:
                raise JobError(
                    f"Pod {self.namespace}/{self.pod_name} stuck Pending for {waited:.0f}s "
                    f"(pending_timeout {self.spec.pending_timeout}s), last state: {last_reason}"
                )
            time.sleep(STATUS_POLL_SECONDS)

    def _read(self, name: str) -> dict:
        try:
            pod = self.endpoint.request("GET", self._pods_path(name))
        except K8sClientError as exc:
            raise JobError(f"cannot read Pod {self.namespace}/{name}: {self._explain(exc, 'get', name)}") from exc
        if not isinstance(pod, dict):
            raise JobError(f"the API server sent something other than a Pod for {self.namespace}/{name}")
        return pod

    def copy_project(self) -> None:
        """One exec, one tar stream: the project and the job's own files."""
        started = time.monotonic()
        extra = {
            "extra_vars.json": json.dumps(self.spec.extra_vars or {}).encode("utf-8"),
            "inventory.ini": _default_inventory(),
        }
        errors: list[bytes] = []
        argv = ["/bin/sh", "-c", f"mkdir -p {JOB_DIR}/tmp && tar -xzf - -C {JOB_DIR}"]
        rc = self._exec(argv, stdin=project_tar_stream(self.spec.project_dir, extra),
                        on_stderr=errors.append, what="copy the project into")
        if rc != 0:
            detail = b"".join(errors).decode("utf-8", errors="replace").strip()
            raise JobError(
                f"copying the project into Pod {self.namespace}/{self.pod_name} failed (tar exit {rc})"
                + (f": {detail}" if detail else "") + "; the image needs sh and tar"
            )
        self.timings["copy"] = time.monotonic() - started

    def run_playbook(self) -> int:
        """Run ansible-playbook in the Pod, streaming lines to on_line; its exit status."""
        started = time.monotonic()
        stdout = _LineSplitter(self.on_line, False, self.output_tail)
        stderr = _LineSplitter(self.on_line, True, [])
        try:
            rc = self._exec(playbook_argv(self.spec), on_stdout=stdout.feed, on_stderr=stderr.feed,
                            timeout=self.spec.job_timeout, what="run the playbook in")
        except ExecTimeout as exc:
            raise JobError(
                f"the playbook in Pod {self.namespace}/{self.pod_name} ran past job_timeout "
                f"({self.spec.job_timeout}s) and was stopped"
            ) from exc
        finally:
            stdout.flush()
            stderr.flush()
            self.timings["run"] = time.monotonic() - started
        return rc

    def _exec(self, argv: list[str], *, what: str, **kwargs: t.Any) -> int:
        try:
            return exec_in_pod(self.endpoint, self.namespace, self.pod_name, self.container, argv, **kwargs)
        except ExecTimeout:
            raise
        except K8sClientError as exc:
            raise JobError(f"cannot {what} Pod {self.namespace}/{self.pod_name}: {exc}") from exc

    def delete_pod(self) -> bool:
        """Delete the Pod (if created) and wait until the API no longer has it."""
        if not self.created:
            return True
        started = time.monotonic()
        self._delete(self.pod_name)
        while time.monotonic() - started < DELETE_CONFIRM_SECONDS:
            try:
                self.endpoint.request("GET", self._pods_path(self.pod_name))
            except K8sApiError as exc:
                if exc.status == 404:
                    self.created = False
                    self.timings["delete"] = time.monotonic() - started
                    return True
                raise JobError(f"cannot confirm Pod {self.namespace}/{self.pod_name} is gone: "
                               f"{self._explain(exc, 'get', self.pod_name)}") from exc
            except K8sClientError as exc:
                raise JobError(f"cannot confirm Pod {self.namespace}/{self.pod_name} is gone: "
                               f"{self._explain(exc, 'get', self.pod_name)}") from exc
            time.sleep(STATUS_POLL_SECONDS)
        raise JobError(f"Pod {self.namespace}/{self.pod_name} still exists {DELETE_CONFIRM_SECONDS:.0f}s after "
                       "it was deleted; check the node's kubelet")

    def _delete(self, name: str) -> None:
        # Grace 0: the job is over (or abandoned); nothing in the Pod needs time to stop.
        try:
            self.endpoint.request("DELETE", self._pods_path(name), body={"gracePeriodSeconds": 0})
        except K8sApiError as exc:
            if exc.status != 404:
                raise JobError(f"cannot delete Pod {self.namespace}/{name}: {self._explain(exc, 'delete', name)}") from exc
        except K8sClientError as exc:
            raise JobError(f"cannot delete Pod {self.namespace}/{name}: {self._explain(exc, 'delete', name)}") from exc
