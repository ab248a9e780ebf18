#!/usr/bin/python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_group_job_info
short_description: List the jobs of a container group that exist now, and follow one
version_added: 0.1.0
author:
  - ephemeral.container_groups maintainers (@ephemeral)
description:
  - Lists the jobs of a container group from the cluster, not from the memory of any
    controller - each Pod of the group with its job id, its slice, its state, its node, the
    controller process that owns it and whether that process is alive, its playbook and when
    it started. A job started by a controller that is gone (a closed laptop, a restarted CI
    runner) is listed as long as its Pod exists.
  - The state of a job is V(queued) (its Pod waits for a slot of C(max_concurrent_jobs), or has
    not started running), V(running), or V(finished) (its playbook has ended, or its Pod has
    ended or is being deleted). For a running Pod the module asks the job's runner in the Pod
    (one exec) whether its playbook has ended and with what status.
  - With O(follow) and a O(job_id), the job's output is shown on the controller as it comes, from
    byte O(from_byte), until the playbook ends (every slice of a sliced job at once, each line
    prefixed with its slice). The output is masked with what the job's own controller masks (the
    job keeps that list in its Pod's memory-backed volume). A lost connection is taken up again
    at the same byte for up to O(reconnect_timeout) seconds, as the job itself does. A job still
    queued is waited for until its playbook starts. Once it has ended, its Pod is deleted if its
    controller is provably gone (see RV(pod_deleted)).
  - Runs on the controller, through the group's credential (an action plugin); this module file
    only documents it.
  - A later job of any group in the same namespace, started on the same machine, removes Pods
    whose controller process is provably gone (see M(ephemeral.container_groups.container_group_job));
    follow or cancel such a job before then.
options:
  container_group:
    description: Name of the container group whose jobs to list.
    type: str
    required: true
  job_id:
    description:
      - Only this job (the id a job prints when its Pod is created, and returns as C(job_id)).
      - Required with O(follow).
    type: str
  follow:
    description:
      - Show the output of the job O(job_id) as it comes until its playbook ends, and return its
        RV(rc) and RV(stats).
      - The task does not fail when the followed playbook fails; RV(rc) and RV(status) say so.
    type: bool
    default: false
  from_byte:
    description: With O(follow), the byte of the job's output to start from (0 shows it all).
    type: int
    default: 0
  reconnect_timeout:
    description: Seconds a lost connection to the API server is retried, as for a job.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    details: It changes nothing; in check mode it lists and follows all the same.
extends_documentation_fragment:
  - ephemeral.container_groups.controller_action
  - ephemeral.container_groups.state_file
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
seealso:
  - module: ephemeral.container_groups.container_group_job
  - module: ephemeral.container_groups.container_group_job_cancel
"""

EXAMPLES = r"""
- name: List the jobs of the "batch" group
  ephemeral.container_groups.container_group_job_info:
    container_group: batch
  register: batch_jobs

- name: Jobs whose controller is gone
  ansible.builtin.debug:
    msg: "{{ batch_jobs.jobs | selectattr('owner_alive', 'false') | map(attribute='job_id') | list }}"

- name: Follow a job started elsewhere to its end
  ephemeral.container_groups.container_group_job_info:
    container_group: batch
    job_id: 3f2a9c1d7b4e
    follow: true
  register: followed

- name: Say how it ended
  ansible.builtin.debug:
    msg: "rc {{ followed.rc }}, {{ followed.status }}"
"""

RETURN = r"""
jobs:
  description: The group's jobs that exist now (one entry per Pod, so one per slice), oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    job_id:
      description: The job's id (every slice of a job has the same).
      type: str
      sample: 3f2a9c1d7b4e
    slice:
      description: The slice, as C(NUMBER/COUNT); null for a job that is not sliced.
      type: str
      sample: 1/2
    state:
      description: V(queued), V(running) or V(finished).
      type: str
      sample: running
    pod_name:
      description: The job's Pod.
      type: str
    namespace:
      description: The Pod's namespace.
      type: str
    node:
      description: The node the Pod runs on (null before it is scheduled).
      type: str
    controller:
      description: The controller process that owns the job, as C(HOST (pid PID)).
      type: str
      sample: ci-runner-7 (pid 41233)
    owner:
      description: The owner as the Pod's annotation records it (host, boot id, PID namespace, pid, start time).
      type: str
    owner_alive:
      description:
        - Whether the owning controller process lives; null when this controller cannot tell
          (another machine, or a PID namespace out of sight).
      type: bool
    playbook:
      description: The job's playbook, relative to its project directory.
      type: str
    created:
      description: When the Pod was created (RFC 3339).
      type: str
    started:
      description: When the playbook started in the Pod (RFC 3339, UTC; null before).
      type: str
    kept:
      description: Whether the Pod is kept for inspection (keep_pod).
      type: bool
    rc:
      description: The playbook's exit status once it has ended (only for a Pod that runs).
      type: int
      returned: when the Pod runs and the job's runner answered
    canceled_by:
      description: The process that canceled the job, as C(HOST (pid PID)), or null.
      type: str
      returned: when the Pod runs and the job's runner answered
    output_bytes:
      description: Bytes of output the playbook has written so far.
      type: int
      returned: when the Pod runs and the job's runner answered
rc:
  description: With O(follow), the playbook's exit status (the first non-zero one of a sliced job's slices).
  returned: when follow is true
  type: int
  sample: 0
status:
  description: With O(follow), how the job ended - V(successful), V(failed), V(timeout) or V(canceled).
  returned: when follow is true
  type: str
stats:
  description: With O(follow), per-host counts from the job's events, as container_group_job returns them.
  returned: when follow is true
  type: dict
  sample: {"web1": {"ok": 2, "changed": 1, "failures": 0, "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0}}
output_bytes:
  description: With O(follow), the byte the output ended at (the sum over slices).
  returned: when follow is true
  type: int
pod_deleted:
  description:
    - With O(follow), whether the followed job's Pod was deleted. It is when the job has ended and its
      controller is provably gone (nobody else would delete it); a live controller deletes its own.
  returned: when follow is true
  type: bool
recap:
  description: With O(follow), the PLAY RECAP lines of the output.
  returned: when follow is true
  type: list
  elements: str
"""

from ansible_collections.ephemeral.container_groups.plugins.module_utils._action_only import refuse_to_run_on_a_host
from ansible_collections.ephemeral.container_groups.plugins.module_utils._job_control_spec import JOB_INFO_ARGUMENT_SPEC


def main() -> None:
    refuse_to_run_on_a_host(JOB_INFO_ARGUMENT_SPEC, "container_group_job_info")


if __name__ == "__main__":
    main()
