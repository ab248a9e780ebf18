#!/usr/bin/python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_group
short_description: Define a container group, the Pod template jobs run in
version_added: 0.1.0
description:
  - Adds, updates or removes a container group in the container groups state file (see
    O(state_file)), as AWX's container groups do, with a named group, a Kubernetes credential and
    a O(pod_spec_override) merged into a default pod spec.
  - Each job sent to the group (see the C(ephemeral.container_groups.run) playbook) runs in a new
    Pod built from that definition, deleted after the job.
  - The task describes the whole group; options left out take their defaults.
  - "The default pod definition is C(apiVersion: v1), C(kind: Pod), C(metadata.namespace: default),
    C(spec.automountServiceAccountToken: false), C(spec.restartPolicy: Never),
    C(spec.securityContext) with C(runAsNonRoot: true) and C(seccompProfile.type: RuntimeDefault),
    and one container named C(worker) with image C(quay.io/ansible/awx-ee:latest),
    C(args: [sleep, infinity]) and requests of C(250m) CPU and C(100Mi) memory. The environment variables
    E(CONTAINER_GROUPS_DEFAULT_IMAGE) and E(CONTAINER_GROUPS_DEFAULT_NAMESPACE) change the image
    and the namespace (where the module runs, and where each job's Pod is built)."
  - "The override is merged into the default as AWX does: mappings merge key by key, anything
    else in the override (a value, a whole list) replaces the default, and a null keeps the
    default. So a C(spec.containers) list in the override replaces the default container."
  - "Restricted by default: the job's Pod meets the C(restricted) Pod Security Standard unless the
    override says otherwise. The pod-level fields come from the default through the merge. The
    container-level ones cannot, since an override's container list replaces the default's, so
    after the merge every container and init container gets, where it leaves them unset (or
    null), C(securityContext.allowPrivilegeEscalation: false) and
    C(securityContext.capabilities.drop: [ALL]). A value the override sets is never changed.
    C(allowPrivilegeEscalation) stays unset beside C(privileged: true) or an added C(SYS_ADMIN)
    capability, which the API server refuses together with C(false). An image that runs as root
    needs C(spec.securityContext.runAsNonRoot: false) (or a non-root C(runAsUser)); one whose
    user is a name, not a number, needs a numeric C(runAsUser), since the kubelet cannot check
    a name. With these defaults C(become) (sudo, su) cannot work inside the job's Pod (sudo
    stops at the C(no new privileges) flag); a playbook that needs it there sets
    C(allowPrivilegeEscalation: true) and C(capabilities: {drop: []}) in its container's
    C(securityContext), in a namespace that allows them. The hosts it reaches over SSH are not
    affected."
  - "Some fields are forced after the merge. For every job: C(spec.restartPolicy: Never);
    the label C(app.kubernetes.io/managed-by: ephemeral.container_groups); a name for every
    container without one (C(worker), then C(worker-2), C(worker-3), ...), since Kubernetes
    requires it and AWX's documented example override leaves it out. Per job (not shown in
    RV(container_group.pod_definition)): a unique C(metadata.name) (C(cg-<group>-<job id>));
    the labels C(container-groups.ephemeral.io/group) and C(container-groups.ephemeral.io/job-id);
    C(spec.activeDeadlineSeconds), so a Pod whose controller died ends itself; and the job's
    directory, an C(emptyDir) volume C(cg-job) mounted at C(/tmp/cg-job) in the first container,
    and in it the job's secrets, a memory-backed C(emptyDir) (C(medium: Memory)) volume
    C(cg-secrets) mounted at C(/tmp/cg-job/secrets) (a volume or mount of either name in the
    override is replaced). The override's
    C(metadata.name) and C(metadata.generateName) are dropped. Labels of the override are kept,
    except those keys."
  - "The override is checked when the group is defined, and refused (leaving the state file
    unchanged) with a message saying what is wrong and where: text that is not JSON or YAML, not
    a mapping, C(apiVersion) other than C(v1) or C(kind) other than C(Pod), no container, a
    container without an image, wrong types in the fields above (for example
    C(spec.containers[0].image: expected a string, got list)), invalid namespace or container
    names."
author:
  - ephemeral.container_groups maintainers (@ephemeral)
options:
  name:
    description:
      - Name of the container group.
      - It becomes a Kubernetes label value, so it must be 1 to 63 letters, digits, C(-), C(_) or
        C(.), starting and ending with a letter or digit.
    type: str
    required: true
  credential:
    description:
      - Name of a credential defined with M(ephemeral.container_groups.k8s_bearer_credential);
        it must exist.
      - Without it (or with an empty string) the group has no cluster and reports
        RV(container_group.kubernetes=false), as an AWX instance group does.
    type: str
  pod_spec_override:
    description:
      - Pod definition merged into the default one, as a mapping or as JSON or YAML text (as AWX
        accepts it). It is stored parsed, so the same override given either way is the same.
      - Empty or not set means the default pod definition.
    type: raw
  max_concurrent_jobs:
    description:
      - Most jobs of this group that may run at once (counted as live Pods of the group); V(0)
        means no limit. More jobs wait in a fair queue, in the order they arrived (see
        M(ephemeral.container_groups.container_group_job)); the credential then also needs
        C(pods) C(patch).
    type: int
    default: 0
  max_forks:
    description:
      - Most forks a job of this group may use; V(0) means no limit.
    type: int
    default: 0
  image_pull_credential:
    description:
      - Name of a registry credential defined with
        M(ephemeral.container_groups.registry_credential), for images in a private registry; it
        must exist.
      - For each job a C(kubernetes.io/dockerconfigjson) Secret is created beside the Pod and added
        to its C(spec.imagePullSecrets) (after the override's own). The Secret is owned by the Pod
        (an C(ownerReference)), so Kubernetes removes it with the Pod, and the job deletes it too
        on every way out.
      - The group's Kubernetes credential then also needs C(create), C(patch), C(list) and
        C(delete) on C(secrets) in the namespace (C(list) to remove a Secret a killed job left).
        Groups without it need no access to Secrets.
    type: str
  state:
    description:
      - V(present) adds or updates the group; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  validate:
    description:
      - V(client) checks the override here (see the description).
      - V(server) also asks the API server. Before the group is stored, a job Pod of the group
        is created with C(dryRun=All) through the group's credential, read from the state file on
        the controller. Admission (Pod Security, ResourceQuotas, LimitRanges, webhooks), schema
        and RBAC problems then fail the task with the server's words, and the state file is left
        unchanged. Nothing is created. The credential needs C(create) on C(pods) in the
        namespace, as jobs do. Use it in a play on C(localhost), where the state file is.
      - With O(image_pull_credential), the job's pull Secret is created the same way first, so a
        credential without RBAC on C(secrets) in the namespace is refused here too.
    type: str
    choices: [client, server]
    default: client
extends_documentation_fragment:
  - ephemeral.container_groups.state_file
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: The action plugin of the same name makes the server's check of O(validate=server) on the controller.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - In check mode the credential must already exist in the state file, so defining a credential
    and a group that uses it in the same check-mode run fails.
seealso:
  - module: ephemeral.container_groups.k8s_bearer_credential
  - module: ephemeral.container_groups.registry_credential
  - module: ephemeral.container_groups.container_group_info
"""

EXAMPLES = r"""
- name: A group that runs jobs in the default execution environment
  ephemeral.container_groups.container_group:
    name: builds
    credential: prod-cluster

- name: The override from AWX's documentation, pasted as JSON text
  ephemeral.container_groups.container_group:
    name: custom
    credential: prod-cluster
    max_concurrent_jobs: 4
    pod_spec_override: |
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "my-namespace"},
       "spec": {"containers": [{"args": ["sleep", "infinity"], "image": "my-custom-image",
                                "stdin": true, "tty": true}]}}

- name: An override as YAML, changing only the namespace and adding a label
  ephemeral.container_groups.container_group:
    name: team-a
    credential: prod-cluster
    pod_spec_override:
      metadata:
        namespace: team-a
        labels:
          team: a

- name: Remove a group
  ephemeral.container_groups.container_group:
    name: custom
    state: absent
"""

RETURN = r"""
container_group:
  description:
    - The group as stored, with the pod definition its jobs start from. Empty after a removal.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the group.
      type: str
      sample: builds
    credential:
      description: Name of its credential, or null.
      type: str
      sample: prod-cluster
    kubernetes:
      description: Whether the group has a credential, so jobs can run in it.
      type: bool
      sample: true
    pod_spec_override:
      description: The override, parsed.
      type: dict
      sample: {metadata: {namespace: team-a}}
    max_concurrent_jobs:
      description: Most jobs at once, V(0) for no limit.
      type: int
      sample: 0
    max_forks:
      description: Most forks per job, V(0) for no limit.
      type: int
      sample: 0
    image_pull_credential:
      description: Name of the registry credential the jobs pull images with, null for none.
      type: str
      sample: quay-robot
    pod_definition:
      description:
        - The default pod definition merged with the override and the fields forced for every
          job; each job then adds its name, its labels and a deadline.
      type: dict
      sample:
        apiVersion: v1
        kind: Pod
        metadata:
          namespace: team-a
          labels: {app.kubernetes.io/managed-by: ephemeral.container_groups, team: a}
        spec:
          automountServiceAccountToken: false
          restartPolicy: Never
          securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
          containers:
            - name: worker
              image: quay.io/ansible/awx-ee:latest
              args: [sleep, infinity]
              resources: {requests: {cpu: 250m, memory: 100Mi}}
              securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
state_file:
  description: Path of the state file used.
  returned: always
  type: str
  sample: /home/me/.ansible/container_groups.yml
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ephemeral.container_groups.plugins.module_utils._module_common import (
    STATE_FILE_ARGSPEC,
    Refused,
    group_view,
    state_store,
    update_state,
)
from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import (
    PodSpecError,
    group_pod_definition,
    parse_override,
    validate_group_name,
)


def build_record(params: dict) -> dict:
    """The record to store for a present group; PodSpecError or ValueError for a bad option."""
    for option in ("max_concurrent_jobs", "max_forks"):
        if params[option] < 0:
            raise ValueError(f"{option} must be 0 (no limit) or more, got {params[option]}")
    override = parse_override(params["pod_spec_override"])
    try:
        group_pod_definition(override)  # refuse a bad override now, not when a job starts
    except PodSpecError as exc:
        raise PodSpecError(f"pod_spec_override: {exc}") from None
    record = {
        "credential": params["credential"] or None,
        "pod_spec_override": override,
        "max_concurrent_jobs": params["max_concurrent_jobs"],
        "max_forks": params["max_forks"],
    }
    if params["image_pull_credential"]:  # left out when unset, so older records stay as they were
        record["image_pull_credential"] = params["image_pull_credential"]
    return record


def main() -> None:
    argument_spec: dict[str, dict[str, t.Any]] = {
        "name": {"type": "str", "required": True},
        "credential": {"type": "str"},
        "pod_spec_override": {"type": "raw"},
        "max_concurrent_jobs": {"type": "int", "default": 0},
        "max_forks": {"type": "int", "default": 0},
        "image_pull_credential": {"type": "str"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        # The action plugin of the same name does the server's check before this runs.
        "validate": {"type": "str", "default": "client", "choices": ["client", "server"]},
        **STATE_FILE_ARGSPEC,
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    name: str = params["name"]

    record: dict | None = None
    try:
        validate_group_name(name)
        if params["state"] == "present":
            record = build_record(params)
    except ValueError as exc:  # PodSpecError included
        module.fail_json(msg=str(exc))

    store = state_store(module)

    def apply(state: dict) -> None:
        groups = state["container_groups"]
        if record is None:
            groups.pop(name, None)
            return
        credential = record["credential"]
        if credential is not None and credential not in state["credentials"]:
            known = ", ".join(sorted(state["credentials"])) or "none"
            raise Refused(
                f"credential {credential!r} is not defined in state file {store.path} (defined: {known}); "
                "define it first with ephemeral.container_groups.k8s_bearer_credential"
            )
        pull = record.get("image_pull_credential")
        if pull is not None and pull not in state["registry_credentials"]:
            known = ", ".join(sorted(state["registry_credentials"])) or "none"
            raise Refused(
                f"image_pull_credential {pull!r} is not defined in state file {store.path} (defined: {known}); "
                "define it first with ephemeral.container_groups.registry_credential"
            )
        groups[name] = record

    change = update_state(module, store, apply)

    before = change.before["container_groups"].get(name)
    after = change.after["container_groups"].get(name)
    result: dict[str, t.Any] = {
        "changed": change.changed,
        "container_group": group_view(name, after) if after is not None else {},
        "state_file": store.path,
    }
    if module._diff:
        result["diff"] = {
            "before": {"container_groups": {name: before} if before is not None else {}},
            "after": {"container_groups": {name: after} if after is not None else {}},
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
