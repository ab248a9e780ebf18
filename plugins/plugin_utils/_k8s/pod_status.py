# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Why a Pod cannot start or cannot take a command, read from its status, in words for people.

Used by the job (a Pod that will not start fails the job at once, naming the reason; one
that no node fits yet is waited for, saying what an autoscaler said of it) and by the pod
connection (an exec refused because the container is not running).
"""

from __future__ import annotations

import typing as t

#: Waiting reasons that will not heal by waiting: a job fails fast and says why.
FATAL_WAITING_REASONS = frozenset({
    "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
    "CrashLoopBackOff",
})


_PULL_REASONS = ("ErrImagePull", "ImagePullBackOff")
#: What a registry that wants a login (or a better one) makes the kubelet say.
_REFUSED_PULL_WORDS = ("unauthorized", "403 forbidden", "authorization failed", "pull access denied", "authentication required")
#: (reasons, words in the kubelet's message, the next step) for the fatal reasons a user can fix.
_HINTS = (
    (_PULL_REASONS, _REFUSED_PULL_WORDS,
     "the registry refused the pull; give the group an image_pull_credential (see "
     "ephemeral.container_groups.registry_credential) that may read this image"),
    (("CreateContainerConfigError",), ("runasnonroot and image will run as root",),
     "the image runs as root, which the default spec's runAsNonRoot: true refuses; set a non-root "
     "spec.securityContext.runAsUser in the pod spec override, or runAsNonRoot: false to allow root"),
    (("CreateContainerConfigError",), ("non-numeric user",),
     "the kubelet cannot tell a user name from root; set a numeric spec.securityContext.runAsUser in the pod spec override"),
)


def _next_step(reason: str, message: str) -> str | None:
    lowered = message.lower()
    for reasons, words, step in _HINTS:
        if reason in reasons and any(word in lowered for word in words):
            return step
    return None


def registry_refused(pod: dict) -> bool:
    """Whether a container of the Pod waits because a registry refused to hand out its image."""
    for container in _container_statuses(pod):
        waiting = (container.get("state") or {}).get("waiting") or {}
        message = str(waiting.get("message") or "").lower()
        if waiting.get("reason") in _PULL_REASONS and any(word in message for word in _REFUSED_PULL_WORDS):
            return True
    return False


def _container_statuses(pod: dict) -> list[dict]:
    status = pod.get("status") or {}
    return [c for c in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
            if isinstance(c, dict)]


def _joined(*parts: t.Any) -> str:
    return ": ".join(str(part) for part in parts if part)


def phase(pod: dict) -> str:
    return str((pod.get("status") or {}).get("phase") or "Unknown")


def waiting_reason(pod: dict) -> str | None:
    """The reason the last of the Pod's waiting containers gives (ContainerCreating, ...)."""
    reasons = [((c.get("state") or {}).get("waiting") or {}).get("reason") for c in _container_statuses(pod)]
    return next((r for r in reversed(reasons) if r), None)


def unschedulable(pod: dict) -> str | None:
    """The scheduler's words while no node fits the Pod (it may yet, once an autoscaler adds one)."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False" \
                and condition.get("reason") == "Unschedulable":
            return str(condition.get("message") or "no node fits the Pod")
    return None


#: The events an autoscaler gives a Pod it has looked at: cluster-autoscaler's, and Karpenter's
#: nomination of a node it is making for the Pod.
_SCALE_UP = {"TriggeredScaleUp": "a scale-up was triggered", "NotTriggerScaleUp": "no scale-up was triggered",
             "Nominated": "a node was nominated for it"}


def scale_up(events: t.Iterable[dict]) -> str | None:
    """What an autoscaler last said of a Pod, from the Pod's events; None if none said anything."""
    said = None
    for event in sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or "")):
        reason = event.get("reason")
        if reason in _SCALE_UP:
            source = ((event.get("source") or {}).get("component") or event.get("reportingComponent") or "the autoscaler")
            said = f"{_SCALE_UP[reason]} ({source}: {event.get('message') or reason})"
    return said


def start_problem(pod: dict) -> str | None:
    """Why a Pending Pod will not start, or None while it may still start (an Unschedulable
    Pod may: see unschedulable)."""
    status = pod.get("status") or {}
    images = {c.get("name"): c.get("image") for c in (pod.get("spec") or {}).get("containers") or []}
    for container in _container_statuses(pod):
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in FATAL_WAITING_REASONS:
            image = container.get("image") or images.get(container.get("name"))
            said = _joined(f"{reason} for image {image} (container {container.get('name')})", waiting.get("message"))
            step = _next_step(reason, str(waiting.get("message") or ""))
            return f"{said}; {step}" if step else said
    if phase(pod) in ("Failed", "Succeeded"):
        ended = " ".join(str(x) for x in (status.get("reason"), status.get("message")) if x)
        return f"the Pod ended ({phase(pod)}) before the job started" + (f": {ended}" if ended else "")
    return None


def container_problem(pod: dict, container: str | None) -> str | None:
    """Why a container of the Pod cannot run a command now, or None if it can (or we cannot tell).

    container None means the Pod's first container.
    """
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    if container and container not in names:
        return f"the Pod has no container \"{container}\" (its containers: {', '.join(str(n) for n in names)})"
    name = container or (names[0] if names else None)
    for status in _container_statuses(pod):
        if status.get("name") != name:
            continue
        state = status.get("state") or {}
        if "running" in state:
            return None
        if "waiting" in state:
            waiting = state["waiting"] or {}
            detail = _joined(waiting.get("reason"), waiting.get("message"))
            return f'container "{name}" is not running (waiting{": " + detail if detail else ""}); the Pod is {phase(pod)}'
        if "terminated" in state:
            ended = state["terminated"] or {}
            return (
                f'container "{name}" is not running: it terminated (exit code {ended.get("exitCode")}'
                f'{", " + ended["reason"] if ended.get("reason") else ""}); the Pod is {phase(pod)}'
            )
    if phase(pod) != "Running":
        return f"the Pod is not running (phase {phase(pod)})"
    return None


def end_reason(pod: dict, container: str) -> tuple[str, str] | None:
    """Why a Pod that was running its job can run it no more, in Kubernetes' word and ours:
    ("OOMKilled", "container worker was killed by the OOM killer (exit code 137)"),
    ("Evicted", ...), ("DeadlineExceeded", ...), a disruption (the node lost, a drain, a
    preemption), or the Pod being deleted. None while the container runs."""
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "DisruptionTarget" and condition.get("status") == "True":
            return str(condition.get("reason") or "DisruptionTarget"), _joined("the Pod is being disrupted", condition.get("message"))
    if phase(pod) in ("Failed", "Succeeded") and status.get("reason"):
        return str(status["reason"]), _joined(f"the Pod {phase(pod).lower()}", status.get("message"))
    for container_status in _container_statuses(pod):
        ended = (container_status.get("state") or {}).get("terminated")
        if container_status.get("name") == container and ended is not None:
            reason = str(ended.get("reason") or "Terminated")
            how = "was killed by the OOM killer" if reason == "OOMKilled" else f"ended ({reason})"
            return reason, _joined(f"container {container} {how} (exit code {ended.get('exitCode')})", ended.get("message"))
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Deleted", "the Pod is being deleted (by someone else, or a node drain)"
    return None
