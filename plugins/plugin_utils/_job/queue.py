# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The fair queue of a group with max_concurrent_jobs: the rule, without any I/O.

Every job of a capped group creates its Pod at once, held by the scheduling gate
:data:`QUEUE_GATE` (no node runs a gated Pod; ``kubectl get pods`` shows it
``SchedulingGated``). Its ticket is the resourceVersion the API server gave the Pod at
creation, written to the annotation :data:`ANNOTATION_TICKET`: resource versions of one
resource are integers that grow with every write (KEP-5504 made that a guarantee in
Kubernetes 1.35; it has always been etcd's revision), so tickets order a group's Pods as the
API server created them, whatever the controllers' clocks say.

A Pod *holds a slot* when it is of the group, has no queue gate, has not ended, is not
being deleted and is not kept for inspection after its job (keep_pod). A waiting job watches its group and takes its turn (removes its gate) when,
in a view that includes its own Pod, ``holders + waiting Pods ahead of it < cap``. A gated
Pod without a ticket yet counts as ahead of everyone.

Why the cap holds: take the set of Pods holding slots at one moment and the one of them
last in ticket order. When it took its turn, every other member either held a slot in its
view, or waited gated ahead of it, or did not exist yet; the last cannot be, since a Pod
created later has a larger ticket. So it counted them all, and went only if they were
fewer than the cap. The view must include its own Pod, so it is no older than the Pod.

A waiting controller that dies: on the same kernel, the sweep of the next job proves its
owner gone and deletes the Pod. Anywhere else nothing proves it, so a Pod that stays
gated while it is due (among the first ``cap - holders`` waiting) for
:data:`STALLED_SECONDS` of one job's continuous watch is stalled: that job deletes it with
preconditions on its uid and resourceVersion, so a Pod that took its turn meanwhile is
left alone (409), and counts it only once the delete succeeded.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import kept_until

QUEUE_GATE = "container-groups.ephemeral.io/queue"
ANNOTATION_TICKET = "container-groups.ephemeral.io/ticket"
#: How long a Pod may stay gated while its turn has come before another job removes it.
STALLED_SECONDS = 15.0
_ENDED = ("Succeeded", "Failed")


@dataclass(frozen=True)
class QueuedPod:
    """What the queue reads of one Pod of the group."""

    name: str
    uid: str
    version: str
    ticket: int | None
    gated: bool
    done: bool

    @property
    def holds_slot(self) -> bool:
        return not self.gated and not self.done


@dataclass(frozen=True)
class Turn:
    """A waiting job's reading of its view: go (after removing the stalled Pods), or wait
    place-th in line. place is 0 while the view does not include the job's own Pod yet."""

    go: bool
    place: int
    holders: int
    stalled: tuple[QueuedPod, ...] = ()


def queued_pod(pod: dict) -> QueuedPod:
    metadata = pod.get("metadata") or {}
    gates = (pod.get("spec") or {}).get("schedulingGates") or []
    return QueuedPod(
        name=str(metadata.get("name") or ""),
        uid=str(metadata.get("uid") or ""),
        version=str(metadata.get("resourceVersion") or ""),
        ticket=ticket_of(str((metadata.get("annotations") or {}).get(ANNOTATION_TICKET) or "")),
        gated=any(isinstance(gate, dict) and gate.get("name") == QUEUE_GATE for gate in gates),
        done=(bool(metadata.get("deletionTimestamp")) or (pod.get("status") or {}).get("phase") in _ENDED
              or kept_until(pod) is not None),
    )


def ticket_of(version: str) -> int | None:
    """A resourceVersion as a ticket; None unless it is a positive integer (KEP-5504's form)."""
    return int(version) if version.isdigit() and not version.startswith("0") else None


def gated(pod: dict) -> dict:
    """The Pod with the queue gate added to its scheduling gates (the manifest is changed in place)."""
    gates = pod["spec"].setdefault("schedulingGates", [])
    if not any(isinstance(gate, dict) and gate.get("name") == QUEUE_GATE for gate in gates):
        gates.append({"name": QUEUE_GATE})
    return pod


def ticket_patch(ticket: int) -> dict:
    return {"metadata": {"annotations": {ANNOTATION_TICKET: str(ticket)}}}


def ungate_patch() -> dict:
    """A strategic merge patch that removes the queue gate and only it (gates merge by name)."""
    return {"spec": {"schedulingGates": [{"$patch": "delete", "name": QUEUE_GATE}]}}


class QueueView:
    """What one waiting job knows of its group: the Pods as its watch reports them, and since
    when each one whose turn has come has stayed gated.

    ``reset`` after every list (the watch starts over, and so does the count of stalled
    time); ``saw`` for every watch event; ``turn`` to read it.
    """

    def __init__(self, me: str, ticket: int, cap: int, stalled_seconds: float) -> None:
        self.me = me
        self.ticket = ticket
        self.cap = cap
        self.stalled_seconds = stalled_seconds
        self.pods: dict[str, QueuedPod] = {}
        self._due_since: dict[str, float] = {}

    def reset(self, pods: t.Iterable[dict]) -> None:
        self.pods = {entry.name: entry for entry in map(queued_pod, pods)}
        self._due_since.clear()

    def saw(self, kind: str, pod: dict) -> None:
        entry = queued_pod(pod)
        if kind == "DELETED":
            self.pods.pop(entry.name, None)
        elif kind in ("ADDED", "MODIFIED"):
            self.pods[entry.name] = entry

    def _order(self, entry: QueuedPod) -> tuple[int, int, str]:
        ticket = self.ticket if entry.name == self.me else entry.ticket
        return (0, 0, entry.name) if ticket is None else (1, ticket, entry.name)

    def turn(self, now: float) -> Turn:
        holders = sum(entry.holds_slot for entry in self.pods.values())
        mine = self.pods.get(self.me)
        if mine is None or mine.done:
            return Turn(go=False, place=0, holders=holders)
        if not mine.gated:
            return Turn(go=True, place=0, holders=holders)
        waiting = sorted((entry for entry in self.pods.values() if entry.gated and not entry.done), key=self._order)
        ahead = waiting[:waiting.index(mine)]
        free = max(0, self.cap - holders)
        due = ahead[:free]
        self._due_since = {entry.name: self._due_since.get(entry.name, now) for entry in due}
        stalled = tuple(entry for entry in due if now - self._due_since[entry.name] >= self.stalled_seconds)
        return Turn(go=len(ahead) - len(stalled) < free, place=len(ahead) + 1, holders=holders, stalled=stalled)

    def next_check(self, now: float) -> float | None:
        """Seconds until a Pod whose turn has come would count as stalled; None if none is due."""
        if not self._due_since:
            return None
        return max(0.0, min(self._due_since.values()) + self.stalled_seconds - now)
