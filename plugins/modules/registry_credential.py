#!/usr/bin/python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: registry_credential
short_description: Store a container registry credential that container groups pull images with
version_added: 0.1.0
description:
  - Adds, updates or removes a registry credential in the container groups state file (see
    O(state_file)), as AWX's C(registry) credential type does for an execution environment.
  - A container group names it in its C(image_pull_credential) option (see
    M(ephemeral.container_groups.container_group)); each job of that group then creates a
    C(kubernetes.io/dockerconfigjson) Secret for its Pod, owned by the Pod and deleted with it.
  - The task describes the whole credential; options left out take their defaults.
  - The password never appears in the module's result, its diff or its logs.
author:
  - ephemeral.container_groups maintainers (@ephemeral)
options:
  name:
    description:
      - Name of the registry credential; container groups refer to it by this name.
    type: str
    required: true
  host:
    description:
      - The registry, as image names spell it, for example C(quay.io), C(registry.example.com:5000)
        or C(registry.example.com/team) (a path limits it to images under that path).
      - A leading C(https://) or C(http://) is accepted and kept, as the kubelet matches both.
      - Required when O(state=present).
    type: str
  username:
    description:
      - The user name to log in with (for a token, the name the registry expects with it, such
        as a robot account's name).
      - Required when O(state=present).
    type: str
  password:
    description:
      - The password or access token. Treated as a secret.
      - Required when O(state=present).
    type: str
    aliases: [token]
  state:
    description:
      - V(present) adds or updates the credential; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), remove the credential even if container groups use it; those
        groups then pull without credentials.
      - Without it, removing a credential in use fails and names the groups.
    type: bool
    default: false
extends_documentation_fragment:
  - ephemeral.container_groups.state_file
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The password is shown as C(********) (with C( (changed)) when it changes).
  platform:
    platforms: posix
seealso:
  - module: ephemeral.container_groups.container_group
  - module: ephemeral.container_groups.container_group_info
"""

EXAMPLES = r"""
- name: A robot account of a private registry
  ephemeral.container_groups.registry_credential:
    name: quay-robot
    host: quay.io
    username: myorg+builder
    password: "{{ vault_quay_robot_token }}"

- name: A group whose execution environment is in that registry
  ephemeral.container_groups.container_group:
    name: builds
    credential: prod-cluster
    image_pull_credential: quay-robot
    pod_spec_override:
      spec:
        containers:
          - image: quay.io/myorg/ee:2.4
            args: [sleep, infinity]

- name: Remove it, detaching the groups that use it
  ephemeral.container_groups.registry_credential:
    name: quay-robot
    state: absent
    force: true
"""

RETURN = r"""
registry_credential:
  description:
    - The credential as stored, without its password. Empty after a removal.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the credential.
      type: str
      sample: quay-robot
    host:
      description: The registry it is for.
      type: str
      sample: quay.io
    username:
      description: The user name it logs in with.
      type: str
      sample: myorg+builder
    has_password:
      description: Whether a password or token is stored.
      type: bool
      sample: true
    container_groups:
      description: Names of the container groups that pull with it.
      type: list
      elements: str
      sample: [builds]
detached_container_groups:
  description:
    - With O(state=absent) and O(force=true), the groups that lost this credential.
  returned: always
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
    MASK,
    STATE_FILE_ARGSPEC,
    registry_credential_view,
    remove_credential,
    state_store,
    touched_groups,
    update_state,
)


def build_record(params: dict) -> dict:
    """The record to store for a present credential; ValueError for a bad option."""
    host = params["host"].strip().rstrip("/")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"host {params['host']!r} is not a registry: expected a name such as quay.io or registry.example.com:5000")
    username = params["username"]
    if not username or ":" in username:
        raise ValueError("username must be non-empty and without ':' (the registry login joins user and password with it)")
    if not params["password"]:
        raise ValueError("password must not be empty")
    return {"host": host, "username": username, "password": params["password"]}


def _masked(record: dict | None, previous: dict | None = None) -> dict | None:
    if record is None:
        return None
    changed = previous is not None and previous.get("password") != record.get("password")
    return {**record, "password": f"{MASK} (changed)" if changed else MASK}


def main() -> None:
    argument_spec: dict[str, dict[str, t.Any]] = {
        "name": {"type": "str", "required": True},
        "host": {"type": "str"},
        "username": {"type": "str"},
        "password": {"type": "str", "no_log": True, "aliases": ["token"]},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "force": {"type": "bool", "default": False},
        **STATE_FILE_ARGSPEC,
    }
    module = AnsibleModule(argument_spec=argument_spec, required_if=[("state", "present", ("host", "username", "password"))],
                           supports_check_mode=True)
    params = module.params
    name: str = params["name"]
    if not name.strip() or name != name.strip():
        module.fail_json(msg=f"registry credential name {name!r} must be non-empty, without surrounding whitespace")

    record: dict | None = None
    if params["state"] == "present":
        try:
            record = build_record(params)
        except ValueError as exc:
            module.fail_json(msg=str(exc))

    def apply(state: dict) -> list[str]:
        if record is not None:
            state["registry_credentials"][name] = record
            return []
        return remove_credential(
            state, "registry_credentials", name, used_by=lambda group: group.get("image_pull_credential") == name,
            detach=lambda group: group.pop("image_pull_credential"), force=params["force"],
            refusal="registry credential {name!r} is used by container group(s) {groups}; give them another "
                    "image_pull_credential or remove them first, or set force=true to detach them")

    store = state_store(module)
    change = update_state(module, store, apply)

    before = change.before["registry_credentials"].get(name)
    after = change.after["registry_credentials"].get(name)
    result: dict[str, t.Any] = {
        "changed": change.changed,
        "registry_credential": registry_credential_view(name, after, change.after) if after is not None else {},
        "detached_container_groups": change.result,
        "state_file": store.path,
    }
    if module._diff:
        old_groups, new_groups = touched_groups(change.before, change.after)
        result["diff"] = {
            "before": {"registry_credentials": {name: _masked(before)} if before is not None else {}, **old_groups},
            "after": {"registry_credentials": {name: _masked(after, before)} if after is not None else {}, **new_groups},
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
