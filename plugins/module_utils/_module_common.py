# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""What the definition modules share: the state_file option, state access and the views.

The option is declared here once for the argument spec and once in the doc fragment
``ephemeral.container_groups.state_file``; a unit test checks that the two agree.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import (
    PodSpecError,
    group_pod_definition,
)
from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import (
    HAS_YAML,
    YAML_IMPORT_ERROR,
    Change,
    StateError,
    StateStore,
    resolve_state_path,
    secret_values,
)

#: Argument spec of the options documented by the state_file doc fragment.
STATE_FILE_ARGSPEC: dict[str, dict[str, t.Any]] = {
    "state_file": {"type": "path"},
}

#: What the diff and the results show instead of a secret.
MASK = "********"


def state_store(module: AnsibleModule) -> StateStore:
    """The module's state store; fails the module if PyYAML is missing."""
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    return StateStore(resolve_state_path(module.params["state_file"]))


class Refused(Exception):
    """Raised by a module's update function for a change it will not make.

    update_state fails the module with the message and the extra result fields given here;
    the state file is left as it was.
    """

    def __init__(self, msg: str, **result: t.Any) -> None:
        super().__init__(msg)
        self.result = result


def remove_credential(state: dict, section: str, name: str, *, used_by: t.Callable[[dict], bool],
                      detach: t.Callable[[dict], None], force: bool, refusal: str) -> list[str]:
    """Remove record name from a credentials section; the groups that use it are detached
    (force) or the removal is Refused with refusal, formatted with the record and group names."""
    if name not in state[section]:
        return []
    groups = state["container_groups"]
    users = sorted(g for g, group in groups.items() if used_by(group))
    if users and not force:
        raise Refused(refusal.format(name=name, groups=", ".join(users)), container_groups=users)
    for group_name in users:
        detach(groups[group_name])
    del state[section][name]
    return users


def touched_groups(before: dict, after: dict) -> tuple[dict, dict]:
    """For a diff: the container groups a credential change altered, before and after (empty if none)."""
    touched = sorted(g for g, group in before["container_groups"].items() if group != after["container_groups"].get(g))
    if not touched:
        return {}, {}
    return ({"container_groups": {g: before["container_groups"][g] for g in touched}},
            {"container_groups": {g: after["container_groups"].get(g) for g in touched}})


def protect_secrets(module: AnsibleModule, state: dict) -> None:
    """Make Ansible mask every secret read from the state file in anything the module returns."""
    module.no_log_values.update(secret_values(state))


def read_state(module: AnsibleModule, store: StateStore) -> dict:
    """The state, with its secrets masked in the module's output; fails the module on StateError."""
    try:
        state = store.read()
    except StateError as exc:
        module.fail_json(msg=str(exc), state_file=store.path)
    protect_secrets(module, state)
    return state


def update_state(module: AnsibleModule, store: StateStore, fn: t.Callable[[dict], t.Any]) -> Change:
    """StateStore.update in the module's check mode, with the secrets of the state before and
    after masked in the module's output; fails the module on StateError or Refused."""
    try:
        change = store.update(fn, check_mode=module.check_mode)
    except StateError as exc:
        module.fail_json(msg=str(exc), state_file=store.path)
    except Refused as exc:
        module.fail_json(msg=str(exc), state_file=store.path, **exc.result)
    protect_secrets(module, change.before)
    protect_secrets(module, change.after)
    return change


def group_view(name: str, record: dict) -> dict:
    """A group as the modules return it: the record, kubernetes and the pod definition.

    A stored override that no longer passes the checks (a hand-edited file, say) gives a null
    pod_definition and a pod_definition_error rather than a failure, so it can be inspected.
    """
    credential = record.get("credential")
    view: dict[str, t.Any] = {
        "name": name,
        "credential": credential,
        "kubernetes": credential is not None,
        "pod_spec_override": record.get("pod_spec_override") or {},
        "max_concurrent_jobs": record.get("max_concurrent_jobs", 0),
        "max_forks": record.get("max_forks", 0),
        "image_pull_credential": record.get("image_pull_credential"),
    }
    try:
        view["pod_definition"] = group_pod_definition(view["pod_spec_override"])
    except PodSpecError as exc:
        view["pod_definition"] = None
        view["pod_definition_error"] = f"pod_spec_override: {exc}"
    return view


def credential_view(name: str, record: dict, state: dict) -> dict:
    """A credential as the modules return it: no secrets, and the groups that use it."""
    users = sorted(g for g, group in state["container_groups"].items() if group.get("credential") == name)
    return {
        "name": name,
        "host": record.get("host"),
        "verify_ssl": bool(record.get("verify_ssl", True)),
        "has_bearer_token": bool(record.get("bearer_token")),
        "bearer_token_file": record.get("bearer_token_file"),
        "in_cluster": bool(record.get("in_cluster")),
        "has_ssl_ca_cert": bool(record.get("ssl_ca_cert")),
        "container_groups": users,
    }


def registry_credential_view(name: str, record: dict, state: dict) -> dict:
    """A registry credential as the modules return it: no password, and the groups that use it."""
    users = sorted(g for g, group in state["container_groups"].items() if group.get("image_pull_credential") == name)
    return {
        "name": name,
        "host": record.get("host"),
        "username": record.get("username"),
        "has_password": bool(record.get("password")),
        "container_groups": users,
    }
