# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for container_group_job: arguments in, a job run on the controller, a result out.

It runs in the worker process on the controller (never on a target). The job itself, its
steps, the Pod's deletion and the handling of signals are ``plugin_utils/_job.py``'s; here
the options are checked, the group and its credentials are read from the state file, and the
job's output goes to the controller's display line by line as it arrives.
"""

from __future__ import annotations

import typing as t
import uuid

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.parsing.vault import get_file_vault_secret

from ansible_collections.ephemeral.container_groups.plugins.module_utils._job_spec import JOB_ARGUMENT_SPEC
from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import PodSpecError
from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import (
    StateError,
    StateStore,
    resolve_state_path,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.choice import run_in_first_with_room
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.controller_action import ControllerAction
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.display import say, say_at_v
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.job import ContainerGroupJob
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.outcome import JobOutcome
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import JobInputError, JobSpec, group_names, job_spec
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.project import ProjectCopy, ProjectFileError, job_project
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.outputs import JobOutputs
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import JobSecrets
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.slices import SlicedJob
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.auth import (
    auth_from_credential,
    get_endpoint,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sClientError


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = JOB_ARGUMENT_SPEC

    def act(self, args: dict[str, t.Any], result: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            names = group_names(args["container_group"])
        except JobInputError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        store = StateStore(resolve_state_path(args["state_file"]))
        job_id = uuid.uuid4().hex[:12]
        count = int(args["slices"] or 1)
        sliced: SlicedJob | None = None
        secrets: JobSecrets | None = None
        project: ProjectCopy | None = None
        slices: list[list[ContainerGroupJob]] = []
        for number in range(1, max(count, 1) + 1):
            jobs: list[ContainerGroupJob] = []
            for group_name in names:
                try:
                    group, credential, pull_credential = store.job_records(group_name)
                    spec = job_spec(dict(args, container_group=group_name), group)
                    secrets = secrets or self._secrets(args, spec)
                    project = project or self._project(spec, store.path)
                    if count > 1 and sliced is None:
                        sliced = SlicedJob(count, JobOutputs(spec, job_id, say), say, say)
                    endpoint = get_endpoint(auth_from_credential(credential))
                    shown = dict(on_line=sliced.on_line(number), notice=sliced.notice(number),
                                 outputs=sliced.outputs(number), slice_of=(number, count)) if sliced else dict(on_line=say, notice=say)
                    jobs.append(ContainerGroupJob(spec, group, endpoint, secrets=secrets, pull_credential=pull_credential,
                                                  job_id=job_id, project=project, **shown))
                except (StateError, JobInputError) as exc:
                    raise AnsibleActionFail(str(exc)) from exc
                except (K8sClientError, PodSpecError) as exc:
                    raise AnsibleActionFail(f"container group {group_name!r}: {exc}") from exc
            slices.append(jobs)
        if project is None:  # group_names() returns at least one name
            raise AnsibleActionFail("container_group: no group named")
        first = slices[0][0]
        result.update(pod_name=first.pod_name, namespace=first.namespace, job_id=job_id, container_group=names[0],
                      project_copy=project.as_result())
        if self._task.check_mode:
            groups = [f"container group {job.spec.group_name!r} in namespace {job.namespace}" for job in slices[0]]
            where = groups[0] if len(groups) == 1 else "the first with room of: " + "; ".join(groups)
            pods = f"{count} new Pods (slices of the inventory), each" if count > 1 else "a new Pod"
            result.update(changed=False, msg=f"check mode: would run {first.spec.playbook} in {pods} of {where}; "
                                             f"{project.summary()}")
            return result
        if sliced is not None:
            ran, outcomes, outcome = sliced.run(slices)
            result.update(_result_of(outcome, ran[0]))
            result["slices"] = [_slice_result(number, job, one) for number, (job, one) in enumerate(zip(ran, outcomes), start=1)]
            if not outcome.failure:
                result["msg"] = f"the playbook {first.spec.playbook} succeeded in all {count} slices"
            return result
        job, outcome = run_in_first_with_room(slices[0], say)
        result.update(_result_of(outcome, job))
        return result

    @staticmethod
    def _project(spec: JobSpec, state_file: str) -> ProjectCopy:
        """What the job ships, chosen before any Pod exists; said at -v, and always when
        credentials were left out."""
        try:
            project = job_project(spec, state_file=state_file)
        except ProjectFileError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        withheld = project.credentials_left_out()
        if withheld:
            say(withheld)
        say_at_v(project.summary())
        return project

    def _secrets(self, args: dict, spec: JobSpec) -> JobSecrets:
        """The job's secrets, read on the controller: vault password files (scripts run as
        ansible-playbook runs them) and the private key."""
        vault_passwords: list[tuple[str | None, bytes]] = []
        for vault_id, path in spec.vault_password_files:
            try:
                secret = get_file_vault_secret(filename=path, vault_id=vault_id or "default", loader=self._loader)
                secret.load()
            except AnsibleError as exc:
                raise JobInputError(f"vault_password_file {path}: {exc.message}") from exc
            vault_passwords.append((vault_id, secret.bytes))
        if args["vault_password"]:
            vault_passwords.append((None, args["vault_password"].encode("utf-8")))
        private_key = None
        if spec.private_key_file:
            with open(spec.private_key_file, "rb") as handle:
                private_key = handle.read()
        return JobSecrets(extra_vars=spec.extra_vars, secret_vars=args["secret_vars"], vault_passwords=vault_passwords, private_key=private_key,
                          private_key_passphrase=args["private_key_passphrase"],
                          connection_password=args["connection_password"], become_password=args["become_password"],
                          env=args["job_env"])


def _slice_result(number: int, job: ContainerGroupJob, outcome: JobOutcome) -> dict[str, t.Any]:
    one = {"slice": number, "container_group": job.spec.group_name, "namespace": job.namespace,
           "pod_name": outcome.pod_name or job.pod_name, "rc": outcome.rc, "status": outcome.status,
           "stats": outcome.stats, "failed": bool(outcome.failure)}
    if outcome.failure:
        one["msg"] = outcome.failure
    return one


def _result_of(outcome: JobOutcome, job: ContainerGroupJob) -> dict[str, t.Any]:
    result: dict[str, t.Any] = {
        "changed": outcome.changed,
        "status": outcome.status,
        "rc": outcome.rc,
        "recap": outcome.recap,
        "stdout_tail": outcome.stdout_tail,
        "leftovers_removed": outcome.leftovers_removed,
        "timings": outcome.timings,
        "elapsed": outcome.elapsed,
        "stats": outcome.stats,
        "reconnects": outcome.reconnects,
        "api_retries": outcome.api_retries,
        "api_requests": outcome.api_requests,
        # With a list of groups, the one with room decides the Pod: report the one that ran.
        "container_group": job.spec.group_name,
        "namespace": job.namespace,
        "pod_name": outcome.pod_name,
    }
    if job.spec.events_file and outcome.events:
        result["events_file"] = job.spec.events_file
    result["artifacts"] = outcome.artifacts
    if job.spec.playbook_artifact:
        result["playbook_artifact"] = job.spec.playbook_artifact
    if outcome.artifact_dir:
        result["artifact_dir"] = outcome.artifact_dir
    if outcome.pod_deleted is not None:
        result.update(pod_deleted=outcome.pod_deleted, pod_kept=outcome.pod_kept)
    if outcome.pod_reason:
        result["pod_reason"] = outcome.pod_reason
    if outcome.failure:
        result.update(failed=True, msg=outcome.failure)
    else:
        result["msg"] = f"the playbook {job.spec.playbook} succeeded in {job.where}"
    return result
