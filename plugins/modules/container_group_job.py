#!/usr/bin/python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_group_job
short_description: Run a playbook in an ephemeral Pod of a container group
version_added: 0.1.0
author:
  - ephemeral.container_groups maintainers (@ephemeral)
description:
  - The job of an AWX container group, for plain C(ansible-playbook). Creates a Pod from the
    group's merged pod definition, copies the project directory into it in one tar stream,
    runs C(ansible-playbook) inside the Pod with its output shown on the controller line by
    line while it runs, and deletes the Pod, confirming it is gone, whatever happened.
  - Before creating the Pod, removes leftover Pods of this collection in the group's namespace
    that no live job owns (Pods that ended, and Pods whose controller process is provably gone),
    each deleted only if it is still the same Pod (a precondition on its UID). A Pod names its
    controller by host name, boot id, PID namespace, pid and start time; a job judges only
    controllers of the same running kernel, and one in another PID namespace (a container with
    host networking, say) only when it can see that namespace's processes, or, from the initial
    PID namespace, that none is left. A host name alone proves nothing. The Pods of controllers it
    cannot judge end by their C(activeDeadlineSeconds) and are removed by a later job.
  - With the group's C(max_concurrent_jobs) above 0, jobs wait in a fair queue and start in the
    order they arrived, across any number of controllers. The job's Pod is created at once, held
    by the scheduling gate C(container-groups.ephemeral.io/queue) (C(kubectl get pods) shows it
    C(SchedulingGated)); its place in line is the resourceVersion the API server gave it at
    creation, and it removes its gate when the group's running Pods and those ahead of it in line
    are fewer than C(max_concurrent_jobs). The job watches the group while it waits (no polling),
    says its place in line (V(3rd in line)), and fails at O(pending_timeout). A waiting Pod that does not take its turn within 15 seconds (its
    controller is gone) is removed by the job behind it. Such a group needs C(pods) C(patch) as
    well; groups are told apart by their label, so C(ci.fast) and C(ci_fast) never share slots.
  - Fails fast, deleting the Pod, when it cannot start (C(ErrImagePull), C(ImagePullBackOff),
    C(CreateContainerConfigError), ...) or is refused by the API server (403
    with the RBAC reason, a Pod Security rejection with the fields to set, an admission webhook
    by name). A full ResourceQuota is waited for, up to O(pending_timeout).
  - A Pod that no node fits (C(Unschedulable)) is waited for up to O(pending_timeout), as a cluster
    autoscaler or Karpenter may be adding a node. The job says so at once with the scheduler's words
    and what an autoscaler said of the Pod (from its events, which need C(events) C(list); without
    that the job says it cannot tell), so that a C(nodeSelector) no node will ever meet can be
    stopped at once. At O(pending_timeout) it fails with the scheduler's last words.
  - When the group has an C(image_pull_credential), the job creates a C(kubernetes.io/dockerconfigjson)
    Secret C(<pod name>-pull) before the Pod, adds it to the Pod's C(imagePullSecrets), makes the
    Pod its owner once the Pod exists, and deletes it after the Pod whatever happened. One that a
    killed job left without an owner is removed by the next such job in the namespace.
  - On C(SIGINT) or C(SIGTERM) to C(ansible-playbook), or when the controller's main process
    disappears, the playbook's processes in the Pod get C(SIGTERM) (C(SIGKILL) 3 s later if
    they still run), and the Pod is deleted once none is left. That includes processes that
    left the playbook's session (ansible-core 2.21 forks, ssh ControlPersist masters), since the
    runner is their child subreaper. C(ansible-playbook) itself exits at once on Ctrl-C, so the
    messages of this cleanup do not reach its output.
  - The Pod's fields that the job sets are those of M(ephemeral.container_groups.container_group)
    plus C(metadata.name), the job id label, the owner annotation
    C(container-groups.ephemeral.io/owner) and C(spec.activeDeadlineSeconds)
    (O(job_timeout) + O(pending_timeout) + 30).
  - The playbook runs detached inside the Pod, in a session of its own, under a small runner
    (C(python3) of the image). Its stdout and stderr, interleaved as C(ansible-playbook) prints
    them, go to a file in the job's directory, and its exit status is written there when it
    ends. The controller follows that file by byte offset; when the stream drops (an API server
    or kubelet restart, a reset connection, an idle timeout) it says so, reconnects with backoff
    and resumes at the exact byte, for up to O(reconnect_timeout). The playbook is stopped at
    O(job_timeout) inside the Pod too, even when no controller is left.
  - The job waits for the Pod to run, and for it to be gone after the delete, with the watch API
    (from the Pod's resourceVersion; read afresh on C(410 Gone)), not by polling.
  - Every API call of the job (and every exec, all of which are safe to repeat) is tried again
    after transient failures (connection refused or reset, timeouts, 429 with its Retry-After,
    500, 502, 503, 504) with backoff, for up to O(reconnect_timeout); 401, 403, 404, 409 and 422
    are not, but for a 401 or 403 just after a lost connection (a restarted API server gives them
    until its caches are filled). The Pod's deletion is retried the same way until the Pod is
    confirmed gone.
  - Secrets (O(private_key_file) and its passphrase, O(connection_password), O(become_password),
    the vault passwords, the values of O(job_env) and of O(secret_vars)) and O(extra_vars) never
    appear in the Pod spec or on a command line, in the controller or in the Pod. They go over the
    exec stream into the Pod's memory-backed secrets directory (C(/tmp/cg-job/secrets), mode 0600
    files), and are removed when the run ends. Every secret of 4 characters or more is masked as
    C(********) in the output, the result and the events, as it is, JSON-escaped, as Python's
    repr, and line by line when it has several lines; O(extra_vars) are not masked. Give them to
    C(ansible-playbook) in a file (C(-e @secrets.yml), vault-encrypted or mode 0600), never as
    C(-e name=value), which every user of the controller can read in the process list.
  - The target's job events are written in the Pod by the callback
    C(ephemeral.container_groups.job_events) (copied in and put on the callback plugin path;
    the project's C(callbacks_enabled) is left as it is) and read back when the run ends; RV(stats)
    comes from them.
  - The image needs C(sh), C(tar) (with gzip), C(python3) and C(ansible-playbook) on its
    C(PATH), and openssh-client (C(ssh), C(ssh-agent), C(ssh-add)) for SSH hosts. The job lives
    in C(/tmp/cg-job) inside the Pod (an C(emptyDir) volume the job adds);
    the project is in C(/tmp/cg-job/project), which is the working directory of the run.
  - This is an action plugin that runs on the controller; use it in a play on C(localhost),
    usually through the role C(ephemeral.container_groups.job) or the playbook
    C(ephemeral.container_groups.run).
options:
  container_group:
    description:
      - Name of the container group, or a list of names (also as one string of names separated by
        commas, V(fast,big)), as AWX's list of instance groups.
      - With a list, the job runs in the first group with room (one without C(max_concurrent_jobs),
        or one where its turn comes at once); when every group is full it waits in the queue of
        each and runs in the first whose turn comes, and its Pods in the other queues are deleted.
        RV(container_group) says which group ran it.
    type: raw
    required: true
  playbook:
    description:
      - The target playbook. A relative path is looked up in O(project_dir) when given, else in
        the current directory. It must lie inside the project directory.
    type: path
    required: true
  project_dir:
    description:
      - Directory copied into the Pod. Default is the directory of O(playbook). A home directory
        or C(/) is refused, since all of it would be shipped.
      - Never shipped, wherever they are in it, are the usual homes of credentials (C(.ssh),
        C(.gnupg), C(.aws), C(.azure), C(.kube), C(.config/gcloud), C(.docker/config.json),
        C(.netrc), C(.git-credentials), C(.pypirc), C(.pgpass)) and the state file with its lock.
        C(.git) is left out unless O(include_git) is set.
      - A file C(.containergroupignore) at the top of the project lists more paths to leave out,
        with the patterns of C(.gitignore), relative to the project (it needs the Python package
        C(pathspec) on the controller). A left-out directory is not entered.
      - The job says what it shipped and what it left out at C(-v), and always when it left out
        credentials; RV(project_copy) has the same.
    type: path
  include_git:
    description: Ship the project's C(.git) directories too (a playbook that reads its checkout).
    type: bool
    default: false
  inventory:
    description:
      - Inventories of the target run, one path or a list, each given to it as C(-i).
      - A relative path that exists inside the project directory is used there. Any other path
        is the controller's (an inventory file, or a directory with hosts files and
        C(group_vars)/C(host_vars)), and is copied into the job as it is, under its own name.
      - Default is C(localhost) with the local connection, that is the Pod itself.
    type: list
    elements: str
  extra_vars:
    description:
      - Variables handed to the target run as extra vars.
      - They reach the Pod in its memory-backed secrets directory, never in the Pod spec or on a
        command line, since AWX credentials often travel as extra vars. They are not masked in
        the output (a value such as C(prod) would be hidden everywhere); give secrets in
        O(secret_vars).
    type: dict
    default: {}
  secret_vars:
    description:
      - Variables handed to the target run as extra vars that are secrets, as AWX's survey answers
        of type password. They travel as O(job_env) does, and every value of 4 characters or more
        (at any depth) is masked in the output, the result and the events.
      - A variable may not be in both O(extra_vars) and O(secret_vars).
    type: dict
    default: {}
  limit:
    description: C(--limit) of the target run.
    type: str
  tags:
    description: C(--tags) of the target run.
    type: str
  skip_tags:
    description: C(--skip-tags) of the target run.
    type: str
  start_at_task:
    description: C(--start-at-task) of the target run.
    type: str
  check:
    description: Run the target in check mode (C(--check)); nothing is changed on its hosts.
    type: bool
    default: false
  diff:
    description: Show the target's differences (C(--diff)).
    type: bool
    default: false
  forks:
    description: C(--forks) of the target run (default 5); the group's C(max_forks), when above 0, caps it.
    type: int
  verbosity:
    description: Number of C(-v) of the target run.
    type: int
    default: 0
  remote_user:
    description: C(--user) of the target run (the Machine credential's user name).
    type: str
  private_key_file:
    description:
      - A private key on the controller, for SSH to the target's hosts (the Machine credential's key).
      - Its content goes over the exec stream into the Pod's memory-backed secrets directory, is
        loaded into an C(ssh-agent) started in the Pod for the run (the image needs
        openssh-client), and the file is removed at once; no copy is left as a file.
    type: path
  private_key_passphrase:
    description: Passphrase of O(private_key_file), handed to C(ssh-add) through C(SSH_ASKPASS), never on a command line.
    type: str
  connection_password:
    description:
      - SSH password of the target's hosts (C(ansible_password)).
      - ansible-core 2.19 and later in the image answer SSH's prompt through C(SSH_ASKPASS); older ones need C(sshpass).
    type: str
  become_method:
    description: C(--become-method) of the target run.
    type: str
  become_user:
    description: C(--become-user) of the target run.
    type: str
  become_password:
    description: The become (sudo) password of the target's hosts (C(ansible_become_password)).
    type: str
  vault_password_file:
    description:
      - Vault password files on the controller, one or a list, each C(PATH) or C(ID@PATH) as
        C(ansible-playbook --vault-id) takes them. An executable file is run as a vault password
        script, on the controller. The passwords are handed to the target run in the Pod's
        memory-backed secrets directory.
    type: list
    elements: str
  vault_password:
    description: A vault password (vault id C(default)) for the target run.
    type: str
  job_env:
    description:
      - Environment variables of the target run, such as cloud credentials. The values are
        secrets. They reach the Pod in its memory-backed secrets directory and are masked in the
        output and the events.
    type: dict
    default: {}
  events_file:
    description:
      - A file on the controller that receives the target's job events, one JSON object per line,
        in order, with ansible-runner's event names (see the callback
        C(ephemeral.container_groups.job_events)). It is replaced whole (mode 0600) when the job
        has read the events back, which is after the run ends, fails, or is stopped at O(job_timeout)
        (then with the events of what ran until then). A job that is interrupted, or loses the
        API server for longer than O(reconnect_timeout), writes none.
    type: path
  artifacts_dir:
    description:
      - A directory on the controller (created 0700 if missing) that receives the job's record
        in ansible-runner's artifact layout, under C(<artifacts_dir>/<job id>/) (RV(artifact_dir))
        - C(stdout) (the output as shown, written as it comes), C(command) (the target's argv
        and working directory, no environment and no secret), C(job_events/<counter>-<uuid>.json),
        C(status) (C(running), then C(successful), C(failed), C(timeout) or C(canceled)) and
        C(rc) (254 for a timeout or a cancel, as ansible-runner writes; absent when the playbook
        never ran). Files are 0600 and masked as the output is; each but C(stdout) is written
        whole under another name and renamed.
      - ansible-runner's own reader (C(ansible_runner.runner.Runner) with C(artifact_dir) and
        C(ident) set to the job id) reads it as one of its runs - C(events), C(stats),
        C(host_events), C(stdout).
      - Left out of the project copy when it lies inside the project.
    type: path
  fact_cache_dir:
    description:
      - A directory on the controller (created 0700 if missing) that keeps facts between jobs, as
        AWX's C(use_fact_cache). Its files are shipped into the Pod's C(jsonfile) fact cache, the
        run uses that cache (C(ANSIBLE_CACHE_PLUGIN=jsonfile)), so a later job with
        C(gather_facts) false still has each host's facts, and the files the run wrote come back,
        each replaced whole (jobs on the same hosts at once - the last writer of a host wins).
      - The files stay as the ansible-core in the Pod writes them (2.19 changed their names and
        format), so use one ansible-core for the jobs that share a cache. Losing them (an API
        fault after the run) is said and does not fail the job.
      - With O(artifacts_dir), the record's C(fact_cache/<host>) has the facts the run set, as
        plain JSON taken from its events (masked), which C(Runner.get_fact_cache) reads whatever
        the ansible-core.
      - Every file of the directory is shipped, whatever hosts the inventory has.
    type: path
  playbook_artifact:
    description:
      - A file on the controller (its directory must exist) that receives the job as
        ansible-navigator's playbook artifact (mode 0600, replaced whole when the job ends, however
        it ends) - C(ansible-navigator replay FILE --mode stdout) prints the job's output, and
        its interactive mode browses the plays, tasks and results. Masked as the output is.
    type: path
  job_timeout:
    description: Seconds the target run may take before it is stopped and the task fails.
    type: int
    default: 3600
  pending_timeout:
    description:
      - Seconds to wait in the group's queue when it is at its C(max_concurrent_jobs), and
        separately for the Pod to reach C(Running).
    type: int
    default: 300
  reconnect_timeout:
    description:
      - Seconds the job keeps trying when it loses the Kubernetes API (an API server or kubelet
        restart, a dropped connection). API calls are tried again with backoff, and the
        playbook's output is taken up again at the byte where it stopped. After that long
        without the API, the job fails and says what became of the Pod.
      - The playbook itself runs detached inside the Pod, so a lost connection never stops it;
        it is stopped there at O(job_timeout) even when no controller is left.
    type: int
    default: 300
  keep_pod:
    description:
      - Whether to leave the Pod in place for inspection instead of deleting it (as Jenkins'
        C(podRetention)). V(on_failure) keeps it when the job fails, V(always) always.
      - A kept Pod stays until its C(activeDeadlineSeconds) (O(job_timeout) + O(pending_timeout)
        + 30 seconds from its start) ends it; later jobs leave it alone until then, and it holds
        no slot of C(max_concurrent_jobs). The message gives the C(kubectl) commands to look at it
        and to delete it.
    type: str
    choices: [never, on_failure, always]
    default: never
  slices:
    description:
      - AWX's job slicing (C(job_slice_count)) - the inventory's hosts are split into this many
        slices, each run in a Pod of its own, at the same time. Host I of the inventory (in the
        order C(ansible all --list-hosts) gives) goes to slice I mod O(slices) + 1; the runner in each
        Pod lists the hosts itself (so inventory plugins only the image has work) and runs the
        playbook with C(--limit) to its slice's hosts, and O(limit) within them, as AWX applies a
        job's limit to each slice. A slice with no host ends at once, successful.
      - Each slice is a job for the group's C(max_concurrent_jobs) and its queue; with a list of
        groups, each slice runs in the first with room. Output lines are prefixed C([I/N]); RV(stats)
        are merged per host; the job fails when any slice fails, and its message names the slices that did.
      - O(artifacts_dir) gets one record with every slice's output and events (runner_ident
        C(JOB_ID-I), counters renumbered in slice order; an event's C(start_line) and C(end_line)
        count the lines of its own slice); O(events_file) and O(playbook_artifact) hold all events.
      - Ctrl-C (or SIGTERM) stops every slice and deletes every Pod.
      - AWX orders an inventory's hosts by name before slicing; here the inventory's own order is kept.
    type: int
    default: 1
attributes:
  check_mode:
    support: full
    details: In check mode no Pod is created; the task reports the Pod it would create.
extends_documentation_fragment:
  - ephemeral.container_groups.controller_action
  - ephemeral.container_groups.state_file
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
notes:
  - The target's exit status is returned as RV(rc); any non-zero status fails the task, so
    C(ansible-playbook) exits with its own failure status (2).
seealso:
  - module: ephemeral.container_groups.container_group
  - module: ephemeral.container_groups.k8s_bearer_credential
"""

EXAMPLES = r"""
- name: Run site.yml of this project in a Pod of the "batch" group
  ephemeral.container_groups.container_group_job:
    container_group: batch
    playbook: site.yml
    project_dir: "{{ playbook_dir }}"
    extra_vars:
      release: "1.4.2"
    job_timeout: 1800

- name: Configure the web servers of an inventory on the controller, with a Machine and a Vault credential
  ephemeral.container_groups.container_group_job:
    container_group: batch
    playbook: site.yml
    project_dir: "{{ playbook_dir }}"
    inventory: /srv/inventories/prod
    remote_user: deploy
    private_key_file: ~/.ssh/deploy_ed25519
    become_password: "{{ vault_become_password }}"
    vault_password_file: prod@/srv/secrets/vault-prod.txt
    job_env:
      CLOUD_TOKEN: "{{ vault_cloud_token }}"
    events_file: /var/log/jobs/site-events.jsonl
  register: job

- name: Show what changed, per host
  ansible.builtin.debug:
    msg: "{{ job.stats }}"

- name: Same, through the role
  ansible.builtin.include_role:
    name: ephemeral.container_groups.job
  vars:
    job_container_group: batch
    job_playbook: site.yml
"""

RETURN = r"""
status:
  description: How the job ended, as its record says - V(successful), V(failed), V(timeout) or V(canceled).
  returned: unless in check mode
  type: str
  sample: successful
slices:
  description: With O(slices) above 1, each slice's Pod, exit status, status and stats.
  returned: when slices is above 1, unless in check mode
  type: list
  elements: dict
  sample: [{"slice": 1, "container_group": "batch", "namespace": "default", "pod_name": "cg-batch-3f2a9c1d7b4e-1",
            "rc": 0, "status": "successful", "stats": {}, "failed": false}]
rc:
  description: Exit status of C(ansible-playbook) inside the Pod (null when it did not run).
  returned: always
  type: int
  sample: 0
recap:
  description: The target's PLAY RECAP lines.
  returned: always
  type: list
  elements: str
  sample: ["localhost : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"]
stdout_tail:
  description: The last lines of the target's output (all of it was shown while it ran).
  returned: always
  type: list
  elements: str
stats:
  description:
    - Per host of the target run, its counters, from the run's own playbook_on_stats event
      (not parsed from the text). Empty when the run never got to its end.
  returned: always
  type: dict
  sample: {web1: {ok: 3, changed: 1, failed: 0, unreachable: 0, skipped: 0, rescued: 0, ignored: 0}}
events_file:
  description: O(events_file), when the events were written to it.
  returned: when O(events_file) was given and events were read back
  type: str
artifact_dir:
  description: The job's record, C(<artifacts_dir>/<job id>).
  returned: when O(artifacts_dir) was given
  type: str
playbook_artifact:
  description: O(playbook_artifact), when given.
  returned: when O(playbook_artifact) was given
  type: str
artifacts:
  description:
    - What the playbook handed on with C(ansible.builtin.set_stats) for the whole run
      (C(per_host) false), AWX's artifacts of a job; the C(playbook_on_stats) event carries the
      same as C(artifact_data).
  returned: always
  type: dict
  sample: {release: "1.4.2", image_digest: "sha256:4f2a"}
project_copy:
  description: What of the project the job ships (in check mode, would ship).
  returned: always
  type: dict
  contains:
    files:
      description: Files shipped (links and directories aside).
      type: int
    bytes:
      description: Their size in bytes.
      type: int
    left_out:
      description:
        - Paths left out, relative to the project (or to a copied inventory directory), by why -
          C(credentials) (credentials' homes and the state file, never shipped), C(output) (the
          job's own O(artifacts_dir) and O(events_file)), C(git) (see O(include_git)), C(ignored)
          (matched by C(.containergroupignore)) and C(special) (sockets, pipes). Directories end
          with C(/).
      type: dict
  sample: {files: 12, bytes: 20480, left_out: {git: [.git/], ignored: [build/]}}
pod_name:
  description: Name of the job's Pod.
  returned: always
  type: str
  sample: cg-batch-3f2a9c01d4e5
namespace:
  description: Namespace of the job's Pod.
  returned: always
  type: str
  sample: default
job_id:
  description: The job's id (label C(container-groups.ephemeral.io/job-id) of its Pod).
  returned: always
  type: str
container_group:
  description: The container group the job ran in (with a list of groups, the one that had room first).
  returned: always
  type: str
  sample: batch
pod_deleted:
  description: Whether the Pod was deleted and confirmed gone.
  returned: when a Pod was created
  type: bool
pod_kept:
  description: Whether the Pod was left in place for inspection (O(keep_pod)).
  returned: when a Pod was created
  type: bool
pod_reason:
  description:
    - Why the Pod or its container ended before the playbook did, in Kubernetes' word
      (V(OOMKilled), V(Evicted), V(DeadlineExceeded), a disruption such as
      V(DeletionByTaintManager) when the node is lost, V(Deleted)). V(OOMKilled) also when the
      OOM killer killed a process of the playbook while the container lived on, as on cgroup v1
      nodes, where Kubernetes reports nothing.
  returned: when the Pod or the OOM killer ended the job
  type: str
  sample: OOMKilled
leftovers_removed:
  description: Leftover Pods of earlier jobs that this job removed.
  returned: when not in check mode
  type: list
  elements: str
timings:
  description:
    - Seconds spent waiting in the group's queue (max_concurrent_jobs), from the Pod's start to
      Running, copying the project, running, and deleting.
  returned: when not in check mode
  type: dict
  sample: {queue: 0.0, create_to_running: 1.2, copy: 0.3, run: 4.1, delete: 0.4}
elapsed:
  description: Seconds for the whole job.
  returned: when not in check mode
  type: float
reconnects:
  description: Times the stream of the playbook's output was lost and taken up again at its byte.
  returned: when not in check mode
  type: int
api_retries:
  description: API calls and execs tried again after a transient failure (the Pod's deletion among them).
  returned: when not in check mode
  type: int
api_requests:
  description: HTTP requests and exec connections the job made to the API server.
  returned: when not in check mode
  type: int
"""

from ansible_collections.ephemeral.container_groups.plugins.module_utils._action_only import refuse_to_run_on_a_host
from ansible_collections.ephemeral.container_groups.plugins.module_utils._job_spec import JOB_ARGUMENT_SPEC


def main() -> None:
    refuse_to_run_on_a_host(JOB_ARGUMENT_SPEC, "container_group_job")


if __name__ == "__main__":
    main()
