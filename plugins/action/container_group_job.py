# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for container_group_job: the controller-side adapter of plugin_utils/_job.py.

It runs in the worker process on the controller (never on a target), prints the remote
playbook's output line by line as it arrives, and deletes the Pod whatever happens:
on success, on failure, and on SIGINT/SIGTERM (handled here for the length of the job,
since Ansible's worker would otherwise exit on the spot). A watchdog notices when the
controller's main process is killed outright and cleans up the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ephemeral.container_groups.plugins.module_utils._client import (
    K8sClientError,
    auth_from_credential,
    get_endpoint,
)
from ansible_collections.ephemeral.container_groups.plugins.module_utils._job_spec import JOB_ARGUMENT_SPEC
from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import PodSpecError
from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import (
    StateError,
    StateStore,
    resolve_state_path,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job import (
    ContainerGroupJob,
    JobError,
    JobSpec,
    recap_of,
)

display = Display()


DEFAULT_FORKS = 5
WATCHDOG_SECONDS = 1.0


class _Interrupted(Exception):
    """The controller was asked to stop (SIGINT/SIGTERM) or its main process vanished."""


class _StopGuard:
    """Turns the first SIGINT/SIGTERM (or the loss of the parent) into _Interrupted.

    Later signals only get noted, so the clean-up that follows cannot itself be cut short.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._previous: dict[int, t.Any] = {}
        self._parent = os.getppid()
        self._done = threading.Event()

    def _handler(self, signum: int, frame: t.Any) -> None:
        if self.reason is None:
            self.reason = signal.Signals(signum).name
            raise _Interrupted(self.reason)

    def _watch_parent(self) -> None:
        # ansible-playbook killed with SIGKILL leaves this worker running (it has its own
        # session since ansible-core 2.19): treat that like SIGTERM.
        while not self._done.wait(WATCHDOG_SECONDS):
            if os.getppid() != self._parent:
                if self.reason is None:
                    os.kill(os.getpid(), signal.SIGTERM)
                return

    def __enter__(self) -> _StopGuard:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handler)
        threading.Thread(target=self._watch_parent, name="cg-parent-watchdog", daemon=True).start()
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self._done.set()
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def _say(message: str, stderr: bool = False) -> None:
    # The main process may already be gone when we clean up after a signal.
    with contextlib.suppress(Exception):
        display.display(message, stderr=stderr)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: t.Any = None, task_vars: dict | None = None) -> dict:
        result = super().run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=JOB_ARGUMENT_SPEC)
        del validation
        try:
            spec, group, credential = self._resolve(args)
        except (StateError, PodSpecError, K8sClientError) as exc:
            raise AnsibleActionFail(str(exc)) from exc
        try:
            endpoint = get_endpoint(auth_from_credential(credential))
            job = ContainerGroupJob(spec, group, endpoint, on_line=self._line, notice=_say)
        except (K8sClientError, PodSpecError) as exc:
            raise AnsibleActionFail(f"container group {spec.group_name!r}: {exc}") from exc
        result.update(pod_name=job.pod_name, namespace=job.namespace, job_id=job.job_id)
        if self._task.check_mode:
            result.update(changed=False, msg=f"check mode: would run {spec.playbook} in a new Pod of "
                                             f"container group {spec.group_name!r} in namespace {job.namespace}")
            return result
        with endpoint, _StopGuard() as guard:
            result.update(self._run_job(job, guard))
        return result

    def _resolve(self, args: dict) -> tuple[JobSpec, dict, dict]:
        path = resolve_state_path(args["state_file"])
        store = StateStore(path)
        group, credential = store.lookup_group(args["container_group"])
        if credential is None:
            raise StateError(
                f"container group {args['container_group']!r} has no credential (kubernetes: false) in "
                f"state file {path}; give it one with ephemeral.container_groups.container_group"
            )
        playbook, project_dir = _locate(args["playbook"], args["project_dir"])
        for name in ("job_timeout", "pending_timeout"):
            if args[name] < 1:
                raise StateError(f"{name} must be at least 1 second, got {args[name]}")
        forks = args["forks"] or DEFAULT_FORKS
        max_forks = int(group.get("max_forks") or 0)
        if max_forks:
            forks = min(forks, max_forks)
        inventory = args["inventory"]
        if inventory and (os.path.isabs(inventory) or inventory.split("/")[0] == ".."):
            raise StateError(f"inventory {inventory!r} must be a path inside the project directory {project_dir}")
        spec = JobSpec(
            group_name=args["container_group"],
            playbook=os.path.relpath(playbook, project_dir),
            project_dir=project_dir,
            inventory=inventory,
            extra_vars=args["extra_vars"],
            limit=args["limit"],
            tags=args["tags"],
            forks=forks,
            verbosity=args["verbosity"],
            job_timeout=args["job_timeout"],
            pending_timeout=args["pending_timeout"],
        )
        return spec, group, credential

    @staticmethod
    def _line(line: str, stderr: bool) -> None:
        _say(line, stderr=stderr)

    def _run_job(self, job: ContainerGroupJob, guard: _StopGuard) -> dict:
        outcome: dict[str, t.Any] = {"changed": False}
        failure: str | None = None
        rc: int | None = None
        started = time.monotonic()
        try:
            job.remove_leftovers()
            job.create_pod()
            outcome["changed"] = True
            _say(f"Pod {job.namespace}/{job.pod_name} created for container group {job.spec.group_name!r}; waiting for it to run")
            job.wait_running()
            job.copy_project()
            _say(f"Pod {job.namespace}/{job.pod_name} running; project copied; running {job.spec.playbook}")
            rc = job.run_playbook()
            if rc != 0:
                failure = f"the playbook {job.spec.playbook} failed in Pod {job.namespace}/{job.pod_name} (exit status {rc})"
        except JobError as exc:
            failure = str(exc)
        except (_Interrupted, KeyboardInterrupt):
            failure = f"interrupted by {guard.reason or 'SIGINT'}; the job was stopped"
        finally:
            had_pod = job.created
            deleted, problem = _delete_pod(job)
            if problem:
                failure = f"{failure + '; ' if failure else ''}and the Pod could not be deleted: {problem}"
            if had_pod:
                outcome["pod_deleted"] = deleted
                _say(f"Pod {job.namespace}/{job.pod_name} {'deleted' if deleted else 'NOT deleted'}",
                     stderr=not deleted)
        outcome.update(
            rc=rc,
            recap=recap_of(job.output_tail),
            stdout_tail=job.output_tail[-20:],
            leftovers_removed=job.leftovers_removed,
            timings={k: round(v, 3) for k, v in job.timings.items()},
            elapsed=round(time.monotonic() - started, 3),
        )
        if failure:
            outcome.update(failed=True, msg=failure)
        else:
            outcome["msg"] = f"the playbook {job.spec.playbook} succeeded in Pod {job.namespace}/{job.pod_name}"
        return outcome


def _delete_pod(job: ContainerGroupJob) -> tuple[bool, str | None]:
    """Delete the job's Pod; a signal that cuts the first try short gets a second one."""
    problem = "interrupted"
    for _attempt in range(2):
        try:
            return job.delete_pod(), None
        except (_Interrupted, KeyboardInterrupt):
            continue  # the guard ignores every signal after the first, so this retry runs
        except JobError as exc:
            problem = str(exc)
            break
    return False, problem


def _locate(playbook: str, project_dir: str | None) -> tuple[str, str]:
    """Absolute playbook and project paths; the playbook must lie inside the project."""
    if project_dir:
        project_dir = os.path.abspath(project_dir)
        if not os.path.isabs(playbook) and os.path.exists(os.path.join(project_dir, playbook)):
            playbook = os.path.join(project_dir, playbook)
    playbook = os.path.abspath(playbook)
    if not os.path.isfile(playbook):
        raise StateError(f"playbook {playbook} does not exist or is not a file")
    project_dir = project_dir or os.path.dirname(playbook)
    if not os.path.isdir(project_dir):
        raise StateError(f"project_dir {project_dir} is not a directory")
    if os.path.commonpath([playbook, project_dir]) != project_dir:
        raise StateError(f"playbook {playbook} is not inside project_dir {project_dir}")
    return playbook, project_dir
