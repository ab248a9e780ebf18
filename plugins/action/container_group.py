# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for container_group: with validate=server, the API server checks the group first.

The module stays a pure editor of the state file. Here, on the controller, the group's job
Pod is created with ``dryRun=All`` through the group's credential, so admission (Pod
Security, quotas, LimitRanges, webhooks), schema and RBAC problems show when the group is
defined, in the server's words, and the module (which would store the group) does not run.
With an image_pull_credential, the job's pull Secret is created the same way first (the
credential may need RBAC on Secrets that it lacks).
"""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import PodSpecError, parse_override
from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import StateError, StateStore, resolve_state_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.manifests import job_manifests
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import owner_id
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import core_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.auth import auth_from_credential, get_endpoint
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sClientError, explain_api_exception

#: The job id of the Pod the dry run creates (a label value; the Pod is never stored).
_DRY_RUN_JOB_ID = "validate"
#: Its activeDeadlineSeconds (a job's comes from its timeouts; any positive value validates alike).
_DRY_RUN_DEADLINE_SECONDS = 60


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp: t.Any = None, task_vars: dict | None = None) -> dict:
        result = super().run(tmp, task_vars)
        del tmp
        args = self._task.args
        if args.get("validate", "client") == "server" and args.get("state", "present") == "present":
            problem = _server_problem(args)
            if problem:
                result.update(failed=True, changed=False, msg=problem)
                return result
        result.update(self._execute_module(module_name="ephemeral.container_groups.container_group",
                                           module_args=args, task_vars=task_vars))
        if args.get("validate") == "server" and not result.get("failed"):
            result["validated"] = "server"
        return result


def _server_problem(args: t.Mapping[str, t.Any]) -> str | None:
    """Why the API server would refuse a job Pod of the group, or its pull Secret (None if it would not)."""
    name, credential_name = args.get("name"), args.get("credential")
    if not credential_name:
        return f"container group {name!r}: validate=server needs a credential to ask the API server with"
    try:
        override = parse_override(args.get("pod_spec_override"))
        state = StateStore(resolve_state_path(args.get("state_file"))).read()
        credential = state["credentials"].get(credential_name)
        if credential is None:
            return None  # the module refuses an unknown credential, naming the known ones
        pull = state["registry_credentials"].get(args.get("image_pull_credential") or "")
        # The objects a job of this group creates, as a job builds them (owner annotation included).
        manifests = job_manifests(str(name), override, _DRY_RUN_JOB_ID, owner_id(), _DRY_RUN_DEADLINE_SECONDS, pull)
    except (PodSpecError, StateError) as exc:
        return None if isinstance(exc, PodSpecError) else str(exc)  # the module words a bad override
    namespace = manifests.pod["metadata"]["namespace"]
    # (what, resource, object): the pull Secret before the Pod, as a job creates them.
    steps = []
    if manifests.pull_secret is not None:
        steps.append(("image pull Secret", "secrets", manifests.pull_secret))
    steps.append(("job Pod", "pods", manifests.pod))
    host, endpoint = None, None
    for what, resource, body in steps:
        try:
            endpoint = endpoint or get_endpoint(auth_from_credential(credential))
            host = endpoint.host
            endpoint.request("POST", core_path(resource, namespace), query=[("dryRun", "All")], body=body)
        except K8sClientError as exc:
            said = explain_api_exception(exc, verb="create", resource=resource, name=body["metadata"]["name"],
                                         namespace=namespace, host=host)
            return (f"container group {name!r} not stored: the API server would refuse its {what} (a dry-run create "
                    f"with credential {credential_name!r}): {said}")
    return None
