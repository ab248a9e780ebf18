#!/usr/bin/python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_group_info
short_description: Read container groups and their credentials, without secrets
version_added: 0.1.0
description:
  - Lists the container groups of the state file (see O(state_file)), or one of them, each with
    the pod definition its jobs start from.
  - Lists the credentials and registry credentials too, without their secrets.
  - Reads under a shared lock and never writes.
author:
  - ephemeral.container_groups maintainers (@ephemeral)
options:
  name:
    description:
      - Name of one container group. Only that group, its credential and its registry credential
        are returned; when it does not exist, the lists are empty.
      - When not set, every group and every credential is returned.
    type: str
extends_documentation_fragment:
  - ephemeral.container_groups.state_file
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: ephemeral.container_groups.container_group
  - module: ephemeral.container_groups.k8s_bearer_credential
"""

EXAMPLES = r"""
- name: Read every group and credential
  ephemeral.container_groups.container_group_info:
  register: cg

- name: Show the namespace each group's jobs run in
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.pod_definition.metadata.namespace }}"
  loop: "{{ cg.container_groups }}"

- name: Read one group
  ephemeral.container_groups.container_group_info:
    name: builds
  register: builds

- name: Fail unless it can run jobs
  ansible.builtin.assert:
    that: builds.container_groups[0].kubernetes
"""

RETURN = r"""
container_groups:
  description: The groups, sorted by name.
  returned: always
  type: list
  elements: dict
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
          job (see M(ephemeral.container_groups.container_group)). Null when the stored
          override no longer passes the checks.
      type: dict
      sample:
        apiVersion: v1
        kind: Pod
        metadata:
          namespace: default
          labels: {app.kubernetes.io/managed-by: ephemeral.container_groups}
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
    pod_definition_error:
      description: Why RV(container_groups[].pod_definition) is null.
      type: str
      returned: when the stored override no longer passes the checks
      sample: "pod_spec_override: kind: expected 'Pod', got 'Deployment'"
credentials:
  description: The credentials (only the group's one with O(name)), sorted by name, without secrets.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the credential.
      type: str
      sample: prod-cluster
    host:
      description: URL of the API server.
      type: str
      sample: https://k8s.example.com:6443
    verify_ssl:
      description: Whether the API server's certificate is verified.
      type: bool
      sample: true
    has_bearer_token:
      description: Whether a bearer token is stored.
      type: bool
      sample: true
    bearer_token_file:
      description: The file the token is read from at each job (null when the token is stored or in_cluster is set).
      type: str
    in_cluster:
      description: Whether the controller's own in-cluster service account is used.
      type: bool
      sample: false
    has_ssl_ca_cert:
      description: Whether a CA certificate is stored.
      type: bool
      sample: false
    container_groups:
      description: Names of the container groups that use it.
      type: list
      elements: str
      sample: [builds]
registry_credentials:
  description: The registry credentials (only the group's one with O(name)), sorted by name, without passwords.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the registry credential.
      type: str
      sample: quay-robot
    host:
      description: The registry it is for.
      type: str
      sample: quay.io
    username:
      description: The user name it logs in with.
      type: str
      sample: myorg+robot
    has_password:
      description: Whether a password or token is stored.
      type: bool
      sample: true
    container_groups:
      description: Names of the container groups that pull with it.
      type: list
      elements: str
      sample: [builds]
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
    credential_view,
    group_view,
    read_state,
    registry_credential_view,
    state_store,
)


def main() -> None:
    argument_spec: dict[str, dict[str, t.Any]] = {
        "name": {"type": "str"},
        **STATE_FILE_ARGSPEC,
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    name = module.params["name"]

    store = state_store(module)
    state = read_state(module, store)

    groups = state["container_groups"]
    credentials, registries = state["credentials"], state["registry_credentials"]
    if name is None:
        group_names = sorted(groups)
        credential_names = sorted(credentials)
        registry_names = sorted(registries)
    else:
        group_names = [name] if name in groups else []
        wanted = groups[name].get("credential") if group_names else None
        credential_names = [wanted] if wanted in credentials else []
        wanted = groups[name].get("image_pull_credential") if group_names else None
        registry_names = [wanted] if wanted in registries else []

    module.exit_json(
        changed=False,
        container_groups=[group_view(g, groups[g]) for g in group_names],
        credentials=[credential_view(c, credentials[c], state) for c in credential_names],
        registry_credentials=[registry_credential_view(r, registries[r], state) for r in registry_names],
        state_file=store.path,
    )


if __name__ == "__main__":
    main()
