# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Turn a plugin's options into Kubernetes credentials and a namespace.

The thin plugin-side adapter over ``auth``: it reads ``get_option`` and, for
``container_group``, the state file. Every problem is raised as K8sClientError (a
:class:`PodTargetError` for the state file and the group's pod spec), so the plugin needs
one ``except`` and never imports the state store (nor PyYAML) when no group is named.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.auth import (
    K8S_AUTH_ARGSPEC,
    K8sAuth,
    auth_from_credential,
    auth_from_params,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sClientError

GetOption = t.Callable[[str], t.Any]


class PodTargetError(K8sClientError):
    """The container group could not be read: its state file or its pod spec."""


class PodTarget(t.NamedTuple):
    """Where the credentials came from, and the namespace they imply (None: not implied)."""

    auth: K8sAuth
    namespace: str | None
    source: str


def resolve_target(get_option: GetOption) -> PodTarget:
    """The credentials of a plugin: its container_group, else the k8s_auth options.

    A container group supplies host, token, CA and verification from its credential, and
    the namespace of its merged pod spec; the direct options are then not used.
    """
    group_name = get_option("container_group")
    if group_name:
        return _from_group(group_name, get_option("state_file"))
    auth = auth_from_params({name: get_option(name) for name in K8S_AUTH_ARGSPEC})
    return PodTarget(auth, None, auth.describe())


def _from_group(group_name: str, state_file: str | None) -> PodTarget:
    # Imported here: only this source needs PyYAML and the state store.
    from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import (  # pylint: disable=import-outside-toplevel
        PodSpecError,
        group_pod_definition,
    )
    from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import (  # pylint: disable=import-outside-toplevel
        StateError,
        StateStore,
        resolve_state_path,
    )

    try:
        group, credential = StateStore(resolve_state_path(state_file)).group_and_credential(group_name)
        namespace = group_pod_definition(group.get("pod_spec_override") or {})["metadata"]["namespace"]
    except (StateError, PodSpecError) as exc:
        raise PodTargetError(str(exc)) from exc
    auth = auth_from_credential(credential)
    return PodTarget(auth, namespace, f"container group {group_name} ({auth.describe()})")
