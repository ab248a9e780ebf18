# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for container_group_job_cancel: stop a running job by its id, from any process.

The stop, the wait for a live owner and the deletes are ``plugin_utils/_job/control.py``'s.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.ephemeral.container_groups.plugins.module_utils._job_control_spec import JOB_CANCEL_ARGUMENT_SPEC
from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import PodSpecError
from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import StateError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.control import JobControl
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.controller_action import ControllerAction
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.display import say
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sClientError


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = JOB_CANCEL_ARGUMENT_SPEC

    def act(self, args: dict[str, t.Any], result: dict[str, t.Any]) -> dict[str, t.Any]:
        group, job_id = args["container_group"], args["job_id"]
        try:
            control = JobControl.of_group(args["state_file"], group, args["reconnect_timeout"], say)
            pods = control.pods(job_id)
            where = f"container group {group!r} (namespace {control.api.namespace})"
            if not pods:
                raise AnsibleActionFail(f"no job {job_id} in {where}: it has ended and its Pod is gone, or the id is "
                                        "wrong (container_group_job_info lists the jobs that exist)")
            names = [str((pod.get("metadata") or {}).get("name")) for pod in pods]
            result.update(job_id=job_id, container_group=group, namespace=control.api.namespace)
            if self._task.check_mode:
                result.update(changed=True, pods=[{"pod_name": name} for name in names],
                              msg=f"check mode: would cancel job {job_id} in {where}: Pod(s) {', '.join(names)}")
                return result
            done = control.cancel(pods, say)
        except (StateError, PodSpecError) as exc:
            raise AnsibleActionFail(f"container group {group!r}: {exc}") from exc
        except (JobError, K8sClientError) as exc:
            raise AnsibleActionFail(f"cancelling job {job_id}: {exc}") from exc
        result.update(changed=True, pods=done, msg=f"job {job_id} canceled in {where}: Pod(s) {', '.join(names)} deleted")
        return result
