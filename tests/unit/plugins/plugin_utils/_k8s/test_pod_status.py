# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a Pod cannot start or cannot take a command."""

from __future__ import annotations

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.pod_status import (
    container_problem,
    registry_refused,
    scale_up,
    start_problem,
    unschedulable,
    waiting_reason,
)


def _pod(phase="Pending", conditions=None, statuses=None):
    return {
        "spec": {"containers": [{"name": "worker", "image": "my/ee:1"}]},
        "status": {"phase": phase, "conditions": conditions or [], "containerStatuses": statuses or []},
    }


def _waiting(reason, message=""):
    return [{"name": "worker", "image": "my/ee:1", "state": {"waiting": {"reason": reason, "message": message}}}]


@pytest.mark.parametrize(
    "pod, expected",
    [
        (_pod(), None),
        (_pod(statuses=_waiting("ContainerCreating")), None),
        (_pod(statuses=_waiting("ErrImagePull", "pull access denied")),
         "ErrImagePull for image my/ee:1 (container worker): pull access denied; the registry refused the pull; give the "
         "group an image_pull_credential (see ephemeral.container_groups.registry_credential) that may read this image"),
        (_pod(statuses=_waiting("ErrImagePull", "failed to resolve reference: not found")),
         "ErrImagePull for image my/ee:1 (container worker): failed to resolve reference: not found"),
        (_pod(statuses=_waiting("CreateContainerConfigError", "container has runAsNonRoot and image will run as root "
                                                              '(pod: "cg-x", container: worker)')),
         "CreateContainerConfigError for image my/ee:1 (container worker): container has runAsNonRoot and image will run "
         'as root (pod: "cg-x", container: worker); the image runs as root, which the default spec\'s runAsNonRoot: true '
         "refuses; set a non-root spec.securityContext.runAsUser in the pod spec override, or runAsNonRoot: false to allow root"),
        (_pod(statuses=_waiting("CreateContainerConfigError", "container has runAsNonRoot and image has non-numeric user "
                                                              "(runner), cannot verify user is non-root")),
         "CreateContainerConfigError for image my/ee:1 (container worker): container has runAsNonRoot and image has "
         "non-numeric user (runner), cannot verify user is non-root; the kubelet cannot tell a user name from root; set a "
         "numeric spec.securityContext.runAsUser in the pod spec override"),
        (_pod(statuses=_waiting("ImagePullBackOff")), "ImagePullBackOff for image my/ee:1 (container worker)"),
        (_pod(statuses=_waiting("CreateContainerConfigError", 'secret "x" not found')),
         'CreateContainerConfigError for image my/ee:1 (container worker): secret "x" not found'),
        (_pod(conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                           "message": "0/1 nodes are available: 1 Insufficient cpu."}]), None),
        (_pod(conditions=[{"type": "PodScheduled", "status": "True"}]), None),
        (_pod(phase="Failed"), "the Pod ended (Failed) before the job started"),
    ],
)
def test_start_problem(pod, expected):
    assert start_problem(pod) == expected


def test_waiting_reason_is_the_last_one_given():
    assert waiting_reason(_pod(statuses=_waiting("ContainerCreating"))) == "ContainerCreating"
    assert waiting_reason(_pod()) is None


@pytest.mark.parametrize(
    "pod, container, expected",
    [
        (_pod("Running", statuses=[{"name": "worker", "state": {"running": {}}}]), None, None),
        (_pod("Running", statuses=[{"name": "worker", "state": {"running": {}}}]), "other",
         'the Pod has no container "other" (its containers: worker)'),
        (_pod(statuses=_waiting("ContainerCreating")), "worker",
         'container "worker" is not running (waiting: ContainerCreating); the Pod is Pending'),
        (_pod("Failed", statuses=[{"name": "worker", "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]),
         None, 'container "worker" is not running: it terminated (exit code 137, OOMKilled); the Pod is Failed'),
        (_pod("Succeeded"), None, "the Pod is not running (phase Succeeded)"),
    ],
)
def test_container_problem(pod, container, expected):
    assert container_problem(pod, container) == expected


@pytest.mark.parametrize(("statuses", "refused"), [
    (_waiting("ErrImagePull", "pulling from host r failed with status code [manifests 1]: 401 Unauthorized"), True),
    (_waiting("ImagePullBackOff", 'Back-off pulling image "r/ee:1": pull access denied'), True),
    (_waiting("ErrImagePull", "failed to resolve reference: not found"), False),
    (_waiting("CreateContainerConfigError", "401 Unauthorized"), False),
    (_waiting("ContainerCreating"), False),
])
def test_registry_refused(statuses, refused):
    assert registry_refused(_pod(statuses=statuses)) is refused


def test_an_unschedulable_pod_gives_the_schedulers_words():
    pod = _pod(conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                            "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."}])
    assert unschedulable(pod) == "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
    assert unschedulable(_pod(conditions=[{"type": "PodScheduled", "status": "True"}])) is None


@pytest.mark.parametrize(("events", "expected"), [
    ([], None),
    ([{"reason": "Scheduled", "message": "assigned"}], None),
    ([{"reason": "NotTriggerScaleUp", "message": "pod didn't trigger scale-up: 1 node(s) didn't match Pod's node affinity",
       "source": {"component": "cluster-autoscaler"}, "lastTimestamp": "2026-12-06T10:00:00Z"}],
     "no scale-up was triggered (cluster-autoscaler: pod didn't trigger scale-up: 1 node(s) didn't match Pod's node affinity)"),
    ([{"reason": "TriggeredScaleUp", "message": "pod triggered scale-up: [{pool-1 1->2 (max: 5)}]",
       "source": {"component": "cluster-autoscaler"}, "lastTimestamp": "2026-12-06T10:00:05Z"},
      {"reason": "NotTriggerScaleUp", "message": "earlier", "source": {"component": "cluster-autoscaler"},
       "lastTimestamp": "2026-12-06T10:00:00Z"}],
     "a scale-up was triggered (cluster-autoscaler: pod triggered scale-up: [{pool-1 1->2 (max: 5)}])"),
    ([{"reason": "Nominated", "message": "Pod should schedule on: nodeclaim/default-x7k2p", "reportingComponent": "karpenter",
       "eventTime": "2026-12-06T10:00:00.000000Z"}],
     "a node was nominated for it (karpenter: Pod should schedule on: nodeclaim/default-x7k2p)"),
])
def test_what_an_autoscaler_last_said_of_a_pod(events, expected):
    assert scale_up(events) == expected
