#!/usr/bin/python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_group_job_cancel
short_description: Cancel a running job of a container group by its id, from anywhere
version_added: 0.1.0
author:
  - ephemeral.container_groups maintainers (@ephemeral)
description:
  - Stops the job O(job_id) of a container group the way Ctrl-C stops it on its own controller -
    SIGTERM to every process of its playbook in the Pod, SIGKILL to whatever is left after
    3 seconds - then deletes its Pod (every Pod of a sliced job) and its image pull Secret.
  - The stop marks the job canceled. When the controller that owns the job is still alive, it
    reports the job as canceled (its record's C(status) is C(canceled)) and deletes the Pod
    itself; the cancel waits a few seconds for that, then deletes what is left. A job whose
    controller is gone is deleted at once, and so is a job whose playbook has not started (still
    queued for a slot, or being set up); its controller then reports that its Pod was deleted.
  - Fails, changing nothing, when the group has no job of that id (it ended and its Pod is gone,
    or the id is wrong).
  - Runs on the controller, through the group's credential (an action plugin); this module file
    only documents it.
options:
  container_group:
    description: Name of the container group the job runs in.
    type: str
    required: true
  job_id:
    description: The job's id (printed when its Pod is created; C(job_id) of container_group_job and of M(ephemeral.container_groups.container_group_job_info)).
    type: str
    required: true
  reconnect_timeout:
    description: Seconds a lost connection to the API server is retried, as for a job.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    details: In check mode nothing is stopped or deleted; the task names the Pods it would delete.
extends_documentation_fragment:
  - ephemeral.container_groups.controller_action
  - ephemeral.container_groups.state_file
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
seealso:
  - module: ephemeral.container_groups.container_group_job
  - module: ephemeral.container_groups.container_group_job_info
"""

EXAMPLES = r"""
- name: Cancel a job started from a CI runner that was restarted
  ephemeral.container_groups.container_group_job_cancel:
    container_group: batch
    job_id: 3f2a9c1d7b4e
"""

RETURN = r"""
job_id:
  description: The job canceled.
  returned: always
  type: str
pods:
  description: Each Pod of the job, what became of its playbook and who deleted it.
  returned: always
  type: list
  elements: dict
  contains:
    pod_name:
      description: The Pod.
      type: str
    stopped:
      description:
        - What the stop did - C(stopped) (by SIGTERM), C(killed) (SIGKILL after the grace), C(not running) (the playbook
          had ended), C(not started) (the job was still queued or being set up), or why it could not.
      type: str
      returned: unless in check mode
    owner_alive:
      description: Whether the job's controller process was alive (null when this controller cannot tell).
      type: bool
      returned: unless in check mode
    deleted_by:
      description: V(its controller) when the owner reported the job and deleted its Pod, else V(this cancel).
      type: str
      returned: unless in check mode
"""

from ansible_collections.ephemeral.container_groups.plugins.module_utils._action_only import refuse_to_run_on_a_host
from ansible_collections.ephemeral.container_groups.plugins.module_utils._job_control_spec import JOB_CANCEL_ARGUMENT_SPEC


def main() -> None:
    refuse_to_run_on_a_host(JOB_CANCEL_ARGUMENT_SPEC, "container_group_job_cancel")


if __name__ == "__main__":
    main()
