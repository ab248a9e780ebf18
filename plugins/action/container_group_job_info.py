# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for container_group_job_info: the jobs of a group that exist now, read from the
cluster on the controller; with follow, one job's output shown as it comes, to its end.

The listing, the follow and their wording are ``plugin_utils/_job/control.py``'s.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.ephemeral.container_groups.plugins.module_utils._job_control_spec import JOB_INFO_ARGUMENT_SPEC
from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import PodSpecError
from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import StateError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.control import JobControl
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.controller_action import ControllerAction
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.display import say
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.slices import merged_stats
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sClientError


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = JOB_INFO_ARGUMENT_SPEC

    def act(self, args: dict[str, t.Any], result: dict[str, t.Any]) -> dict[str, t.Any]:
        group, job_id = args["container_group"], args["job_id"]
        if args["follow"] and not job_id:
            raise AnsibleActionFail("follow needs a job_id: the job whose output to follow (container_group_job_info "
                                    "without follow lists the jobs and their ids)")
        if args["from_byte"] < 0:
            raise AnsibleActionFail(f"from_byte must be 0 or more, got {args['from_byte']}")
        try:
            control = JobControl.of_group(args["state_file"], group, args["reconnect_timeout"], say)
            pods = control.pods(job_id)
            jobs = control.jobs(pods)
            result.update(changed=False, container_group=group, namespace=control.api.namespace, jobs=jobs)
            if not args["follow"]:
                return result
            if not pods:
                raise AnsibleActionFail(f"no job {job_id} in container group {group!r} (namespace "
                                        f"{control.api.namespace}): it has ended and its Pod is gone, or the id is wrong")
            followed = control.follow_all(pods, args["from_byte"], say)
        except (StateError, PodSpecError) as exc:
            raise AnsibleActionFail(f"container group {group!r}: {exc}") from exc
        except (JobError, K8sClientError) as exc:
            raise AnsibleActionFail(str(exc)) from exc
        rcs = [one["rc"] for one in followed]
        result.update(rc=next((rc for rc in rcs if rc), 0), stats=merged_stats(one["stats"] for one in followed),
                      status=next((one["status"] for one in followed if one["status"] != "successful"), "successful"),
                      output_bytes=sum(one["output_bytes"] for one in followed),
                      recap=[line for one in followed for line in one["recap"]],
                      pod_deleted=any(one["pod_deleted"] for one in followed))
        return result
