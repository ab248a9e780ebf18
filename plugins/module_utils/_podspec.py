# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The pod definition of a container group: default spec, override merge, filled and forced fields.

Pure functions on plain data. Problems are raised as PodSpecError with a message that says
where (a path such as ``spec.containers[0].image``) and what is wrong.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.module_utils._describe import (
    kind_described,
    type_name,
    yaml_problem,
)

try:
    import yaml
except ImportError:  # only YAML text overrides need it; JSON text and mappings do not
    HAS_YAML = False
else:
    HAS_YAML = True

ENV_DEFAULT_IMAGE = "CONTAINER_GROUPS_DEFAULT_IMAGE"
ENV_DEFAULT_NAMESPACE = "CONTAINER_GROUPS_DEFAULT_NAMESPACE"
DEFAULT_IMAGE = "quay.io/ansible/awx-ee:latest"
DEFAULT_NAMESPACE = "default"
DEFAULT_CONTAINER_NAME = "worker"

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "ephemeral.container_groups"
LABEL_GROUP = "container-groups.ephemeral.io/group"
LABEL_JOB_ID = "container-groups.ephemeral.io/job-id"

POD_NAME_PREFIX = "cg-"

#: The job's directory in its container: an emptyDir the job adds to the Pod, so the target's
#: output and exit status outlive any one exec and are writable by any container user.
JOB_DIR = "/tmp/cg-job"
JOB_VOLUME = "cg-job"
#: The job's secrets (extra vars, passwords, the private key until ssh-agent has it, job_env):
#: a memory-backed emptyDir, so none of them touches a disk of the node.
SECRETS_DIR = f"{JOB_DIR}/secrets"
SECRETS_VOLUME = "cg-secrets"

#: A Kubernetes label value; group names and job ids must be one, since they become labels.
LABEL_VALUE_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SHORT_ID_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$")

#: The pod-level part of the restricted Pod Security Standard, in the default spec (a mapping,
#: so an override's securityContext merges into it key by key).
POD_SECURITY_CONTEXT = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
#: Capabilities that Kubernetes refuses beside ``allowPrivilegeEscalation: false``.
_ESCALATING_CAPABILITIES = {"SYS_ADMIN", "CAP_SYS_ADMIN"}


_T = t.TypeVar("_T")


class PodSpecError(ValueError):
    """An override or pod definition we refuse; the message says what and where."""


def default_pod_spec() -> dict:
    """The default pod definition, a fresh dict on every call (image and namespace from env)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": os.environ.get(ENV_DEFAULT_NAMESPACE) or DEFAULT_NAMESPACE},
        "spec": {
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "securityContext": copy.deepcopy(POD_SECURITY_CONTEXT),
            "containers": [
                {
                    "name": DEFAULT_CONTAINER_NAME,
                    "image": os.environ.get(ENV_DEFAULT_IMAGE) or DEFAULT_IMAGE,
                    "args": ["sleep", "infinity"],
                    "resources": {"requests": {"cpu": "250m", "memory": "100Mi"}},
                }
            ],
        },
    }


def _check_keys(value: t.Any, where: str) -> None:
    """Mapping keys must be strings all the way down (YAML allows ints and more)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise PodSpecError(f"{where or 'pod_spec_override'}: key {key!r} must be a string, got {type_name(key)}")
            _check_keys(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_keys(item, f"{where}[{index}]")


def parse_override(value: t.Any) -> dict:
    """The override as a mapping: from None or "" (no override), a mapping, or JSON/YAML text."""
    if value is None:
        return {}
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            parsed = json.loads(value)
        except ValueError:
            if not HAS_YAML:
                raise PodSpecError("pod_spec_override: not valid JSON, and PyYAML is not installed to read it as YAML") from None
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise PodSpecError(f"pod_spec_override: not valid JSON or YAML: {yaml_problem(exc)}") from None
        if parsed is None:  # only comments
            return {}
    else:
        parsed = value
    if not isinstance(parsed, dict):
        raise PodSpecError(f"pod_spec_override: expected a mapping (a Pod definition), got {type_name(parsed)}")
    _check_keys(parsed, "")
    return copy.deepcopy(parsed)


def merge(default: t.Any, override: t.Any) -> t.Any:
    """default updated by override, without changing either.

    Mappings merge key by key, recursively; anything else in the override (scalars and whole
    lists) replaces the default; a null in the override keeps the default, or leaves the key
    out when the default has none.
    """
    if override is None:
        return copy.deepcopy(default)
    if isinstance(override, dict):
        base = default if isinstance(default, dict) else {}
        result = {key: copy.deepcopy(item) for key, item in base.items() if key not in override}
        for key, item in override.items():
            merged = merge(base.get(key), item)
            if merged is not None:
                result[key] = merged
        return result
    return copy.deepcopy(override)


def _expect(value: t.Any, kind: type[_T], where: str) -> _T:
    """value, if it is of that kind; else PodSpecError saying where and what it is instead."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PodSpecError(f"{where}: expected {kind_described(kind)}, got {type_name(value)}")
    return value


def _validate_labels(labels: t.Any) -> dict:
    checked = _expect(labels, dict, "metadata.labels")
    for key, value in checked.items():
        _expect(value, str, f"metadata.labels.{key}")
    return checked


def _fill_container_names(containers: list) -> None:
    """Name unnamed containers worker, worker-2, worker-3, … skipping names already taken."""
    taken = set()
    for index, container in enumerate(containers):
        if container.get("name") is None:
            continue
        name = _expect(container["name"], str, f"spec.containers[{index}].name")
        if not _DNS_LABEL_RE.match(name):
            raise PodSpecError(
                f"spec.containers[{index}].name: {name!r} is not a valid container name "
                "(lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63)"
            )
        if name in taken:
            raise PodSpecError(f"spec.containers[{index}].name: {name!r} is used by another container")
        taken.add(name)
    candidates = (DEFAULT_CONTAINER_NAME if n == 1 else f"{DEFAULT_CONTAINER_NAME}-{n}" for n in range(1, 10000))
    for container in containers:
        if container.get("name") is None:
            name = next(c for c in candidates if c not in taken)
            container["name"] = name
            taken.add(name)


def _fill_container_security(container: dict, where: str) -> None:
    """The container-level part of the restricted standard, where the container leaves it unset.

    An override's container list replaces the default's whole, so these cannot come from the
    default spec. A value the user set (``false``, an empty list) is kept;
    ``allowPrivilegeEscalation`` is left unset beside ``privileged: true`` or an added SYS_ADMIN,
    which the API server refuses together with ``false``.
    """
    if container.get("securityContext") is None:
        container["securityContext"] = {}
    context = _expect(container["securityContext"], dict, f"{where}.securityContext")
    if context.get("capabilities") is None:
        context["capabilities"] = {}
    capabilities = _expect(context["capabilities"], dict, f"{where}.securityContext.capabilities")
    added = capabilities.get("add") or []
    _expect(added, list, f"{where}.securityContext.capabilities.add")
    if capabilities.get("drop") is None:
        capabilities["drop"] = ["ALL"]
    escalates = context.get("privileged") is True or any(str(name).upper() in _ESCALATING_CAPABILITIES for name in added)
    if context.get("allowPrivilegeEscalation") is None and not escalates:
        context["allowPrivilegeEscalation"] = False


def group_pod_definition(override: t.Any) -> dict:
    """The pod definition every job of a group starts from: default + override, checked,
    with the fields that do not depend on the job filled in or forced.

    Filled in where unset: each container's and init container's restricted security context
    (see _fill_container_security). Forced: ``spec.restartPolicy: Never``, the managed-by label,
    a name for each unnamed container; ``metadata.name`` and ``metadata.generateName`` are
    dropped (each job sets its own).
    """
    pod: dict = merge(default_pod_spec(), parse_override(override))

    if pod.get("apiVersion") != "v1":
        raise PodSpecError(f"apiVersion: expected 'v1', got {pod.get('apiVersion')!r} (a container group runs a v1 Pod)")
    if pod.get("kind") != "Pod":
        raise PodSpecError(f"kind: expected 'Pod', got {pod.get('kind')!r} (a container group runs a Pod)")

    metadata = _expect(pod.get("metadata"), dict, "metadata")
    namespace = _expect(metadata.get("namespace"), str, "metadata.namespace")
    if not _DNS_LABEL_RE.match(namespace):
        raise PodSpecError(
            f"metadata.namespace: {namespace!r} is not a valid namespace name "
            "(lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63)"
        )
    metadata.pop("name", None)
    metadata.pop("generateName", None)
    labels = _validate_labels(metadata.get("labels", {}))
    metadata["labels"] = {**labels, LABEL_MANAGED_BY: MANAGED_BY_VALUE}
    annotations = metadata.get("annotations")
    if annotations is not None:
        _expect(annotations, dict, "metadata.annotations")

    spec = _expect(pod.get("spec"), dict, "spec")
    containers = _expect(spec.get("containers"), list, "spec.containers")
    if not containers:
        raise PodSpecError("spec.containers: no container left after the merge; a Pod needs at least one")
    for index, container in enumerate(containers):
        where = f"spec.containers[{index}]"
        _expect(container, dict, where)
        if container.get("image") is None:
            raise PodSpecError(f"{where}.image: missing; every container needs an image (the default container uses {DEFAULT_IMAGE!r})")
        image = _expect(container["image"], str, f"{where}.image")
        if not image.strip():
            raise PodSpecError(f"{where}.image: empty; every container needs an image")
        for field in ("command", "args"):
            if container.get(field) is not None:
                for arg_index, arg in enumerate(_expect(container[field], list, f"{where}.{field}")):
                    _expect(arg, str, f"{where}.{field}[{arg_index}]")
    _fill_container_names(containers)
    for index, container in enumerate(containers):
        _fill_container_security(container, f"spec.containers[{index}]")
    if spec.get("initContainers") is not None:
        for index, container in enumerate(_expect(spec["initContainers"], list, "spec.initContainers")):
            _fill_container_security(_expect(container, dict, f"spec.initContainers[{index}]"), f"spec.initContainers[{index}]")
    spec["restartPolicy"] = "Never"
    return pod


#: Hex digits of a group name's SHA-256 in the Pod names of a group whose name is not itself a
#: short lowercase DNS label (see pod_name).
_GROUP_DIGITS = 6


def validate_group_name(name: t.Any) -> None:
    """Raise PodSpecError unless name can be a container group name (a label value)."""
    if not isinstance(name, str) or not LABEL_VALUE_RE.match(name):
        raise PodSpecError(
            f"container group name {name!r} is not valid: it becomes a Kubernetes label value, so it must be "
            "1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        )


def pod_name(group_name: str, job_id: str) -> str:
    """A DNS-1123 label (at most 63 characters) for the job's Pod: cg-<group>-<short id>.

    The short id is the job id itself when it is a short lowercase DNS label, else the first
    12 hex digits of its SHA-256. The group part is the group's name when that is a
    lowercase DNS label that fits; any other name is lowercased, other characters turned
    into '-', shortened to fit, and followed by 6 hex digits of the name's SHA-256, so that
    groups such as ci.fast, ci_fast and CI-fast never share Pod names (their queues are
    told apart by the group label, which is the name itself).
    """
    short_id = job_id if _SHORT_ID_RE.match(job_id) else hashlib.sha256(job_id.encode("utf-8")).hexdigest()[:12]
    room = 63 - len(POD_NAME_PREFIX) - 1 - len(short_id)
    readable = re.sub(r"[^a-z0-9]+", "-", group_name.lower()).strip("-") or "group"
    if readable == group_name and len(readable) <= room:
        return f"{POD_NAME_PREFIX}{readable}-{short_id}"
    digest = hashlib.sha256(group_name.encode("utf-8")).hexdigest()[:_GROUP_DIGITS]
    readable = readable[:room - 1 - _GROUP_DIGITS].rstrip("-") or "group"
    return f"{POD_NAME_PREFIX}{readable}-{digest}-{short_id}"


def job_pod_definition(override: t.Any, group_name: str, job_id: str, active_deadline_seconds: int) -> dict:
    """The Pod for one job: the group's definition plus a unique name, our labels, a deadline, the
    job's directory (an emptyDir volume mounted at JOB_DIR in the first container) and, inside it,
    the memory-backed secrets directory."""
    validate_group_name(group_name)
    if not isinstance(job_id, str) or not LABEL_VALUE_RE.match(job_id):
        raise PodSpecError(f"job id {job_id!r} is not valid: it becomes a label value (letters, digits, '-', '_', '.', at most 63)")
    if not isinstance(active_deadline_seconds, int) or isinstance(active_deadline_seconds, bool) or active_deadline_seconds < 1:
        raise PodSpecError(f"active_deadline_seconds: expected a positive integer, got {active_deadline_seconds!r}")
    pod = group_pod_definition(override)
    metadata = pod["metadata"]
    metadata["name"] = pod_name(group_name, job_id)
    metadata["labels"].update({LABEL_MANAGED_BY: MANAGED_BY_VALUE, LABEL_GROUP: group_name, LABEL_JOB_ID: job_id})
    pod["spec"]["activeDeadlineSeconds"] = active_deadline_seconds
    spec = pod["spec"]
    ours = (JOB_VOLUME, SECRETS_VOLUME)
    spec["volumes"] = [v for v in spec.get("volumes") or [] if not (isinstance(v, dict) and v.get("name") in ours)] + [
        {"name": JOB_VOLUME, "emptyDir": {}}, {"name": SECRETS_VOLUME, "emptyDir": {"medium": "Memory"}}]
    worker = spec["containers"][0]
    worker["volumeMounts"] = [m for m in worker.get("volumeMounts") or [] if not (isinstance(m, dict) and m.get("name") in ours)] + [
        {"name": JOB_VOLUME, "mountPath": JOB_DIR}, {"name": SECRETS_VOLUME, "mountPath": SECRETS_DIR}]
    return pod
