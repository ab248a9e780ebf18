# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fair queue's rule: its order, its cap and its stalled Pods, and the whole protocol run
by many jobs whose views of the group lag behind the API server by different amounts."""

from __future__ import annotations

import copy
import random

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.queue import (
    ANNOTATION_TICKET,
    QUEUE_GATE,
    QueueView,
    gated,
    queued_pod,
    ticket_of,
    ticket_patch,
    ungate_patch,
)

STALL = 15.0


def _pod(name: str, ticket: int | None = None, gate: bool = True, phase: str = "Pending", deleting: bool = False,
         version: str = "1") -> dict:
    metadata: dict = {"name": name, "uid": f"uid-{name}", "resourceVersion": version,
                      "annotations": {ANNOTATION_TICKET: str(ticket)} if ticket is not None else {}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-06T00:00:00Z"
    return {"metadata": metadata, "spec": {"schedulingGates": [{"name": QUEUE_GATE}] if gate else []},
            "status": {"phase": phase}}


def _view(me: str, ticket: int, cap: int, *pods: dict) -> QueueView:
    view = QueueView(me, ticket, cap, STALL)
    view.reset(pods)
    return view


def test_tickets_order_the_line_whatever_the_names_and_the_order_seen():
    view = _view("cg-a", 30, 1, _pod("cg-a", 30), _pod("cg-z", 10), _pod("cg-m", 20), _pod("cg-run", gate=False, phase="Running"))
    turn = view.turn(0.0)
    assert (turn.go, turn.place, turn.holders) == (False, 3, 1)


def test_the_first_in_line_goes_when_a_slot_is_free_and_the_second_does_not():
    pods = (_pod("cg-first", 10), _pod("cg-second", 11), _pod("cg-run", gate=False, phase="Running"))
    assert _view("cg-first", 10, 2, *pods).turn(0.0).go
    assert not _view("cg-second", 11, 2, *pods).turn(0.0).go


def test_a_job_knows_its_own_ticket_before_its_watch_brings_it():
    view = _view("cg-late", 50, 1, _pod("cg-late"), _pod("cg-early", 40))
    assert view.turn(0.0).place == 2


def test_a_waiting_pod_without_a_ticket_yet_counts_as_ahead_of_everyone():
    view = _view("cg-me", 1, 1, _pod("cg-me", 1), _pod("cg-new"))
    turn = view.turn(0.0)
    assert (turn.go, turn.place) == (False, 2)


def test_no_turn_is_taken_from_a_view_that_does_not_hold_the_job_s_own_pod():
    turn = _view("cg-me", 5, 3).turn(0.0)
    assert (turn.go, turn.place) == (False, 0)


def test_ended_and_deleted_pods_hold_no_slot():
    view = _view("cg-me", 9, 2, _pod("cg-me", 9), _pod("cg-done", gate=False, phase="Succeeded"),
                 _pod("cg-failed", gate=False, phase="Failed"), _pod("cg-going", gate=False, phase="Running", deleting=True),
                 _pod("cg-left", 1, deleting=True))
    turn = view.turn(0.0)
    assert (turn.go, turn.holders) == (True, 0)


def test_an_ungated_pod_of_the_job_has_its_turn_already():
    assert _view("cg-me", 9, 1, _pod("cg-me", 9, gate=False), _pod("cg-other", gate=False)).turn(0.0).go


def test_events_move_the_line():
    view = _view("cg-me", 3, 1, _pod("cg-me", 3), _pod("cg-run", gate=False, phase="Running"))
    assert not view.turn(0.0).go
    view.saw("MODIFIED", _pod("cg-run", gate=False, phase="Running", deleting=True))
    assert view.turn(0.0).go
    view.saw("ADDED", _pod("cg-run2", gate=False, phase="Running"))
    assert not view.turn(0.0).go
    view.saw("DELETED", _pod("cg-run2", gate=False))
    assert view.turn(0.0).go


def test_a_pod_that_stays_gated_when_its_turn_has_come_stalls_after_the_time_and_only_then():
    view = _view("cg-me", 3, 1, _pod("cg-me", 3), _pod("cg-dead", 2, version="7"))
    assert view.turn(100.0) .stalled == () and not view.turn(100.0).go
    assert view.next_check(100.0) == STALL
    assert view.turn(100.0 + STALL - 1).stalled == ()
    turn = view.turn(100.0 + STALL)
    assert turn.go and [(entry.name, entry.uid, entry.version) for entry in turn.stalled] == [("cg-dead", "uid-cg-dead", "7")]


def test_a_pod_whose_turn_has_not_come_never_stalls():
    view = _view("cg-me", 3, 1, _pod("cg-me", 3), _pod("cg-next", 2), _pod("cg-run", gate=False, phase="Running"))
    assert view.turn(0.0).stalled == () and view.turn(10 * STALL).stalled == ()
    assert view.next_check(0.0) is None


def test_a_new_list_starts_the_stalled_time_over():
    view = _view("cg-me", 3, 1, _pod("cg-me", 3), _pod("cg-slow", 2))
    view.turn(0.0)
    view.reset([_pod("cg-me", 3), _pod("cg-slow", 2)])  # the watch was lost and listed again
    assert view.turn(STALL).stalled == ()


def test_two_stalled_pods_ahead_are_both_removed_by_one_behind_them():
    view = _view("cg-me", 9, 1, _pod("cg-me", 9), _pod("cg-a", 1), _pod("cg-b", 2))
    view.turn(0.0)
    first = view.turn(STALL)
    assert [entry.name for entry in first.stalled] == ["cg-a"] and not first.go
    view.saw("DELETED", _pod("cg-a", 1))
    view.turn(STALL)
    assert not view.turn(STALL).go
    second = view.turn(2 * STALL)
    assert [entry.name for entry in second.stalled] == ["cg-b"] and second.go


@pytest.mark.parametrize("version", ["", "abc", "0", "012", "-3"])
def test_only_a_positive_integer_resource_version_is_a_ticket(version):
    assert ticket_of(version) is None


def test_the_gate_is_added_once_beside_other_gates_and_removed_alone():
    pod = {"spec": {"schedulingGates": [{"name": "example.com/theirs"}]}}
    gated(gated(pod))
    assert pod["spec"]["schedulingGates"] == [{"name": "example.com/theirs"}, {"name": QUEUE_GATE}]
    assert ungate_patch() == {"spec": {"schedulingGates": [{"$patch": "delete", "name": QUEUE_GATE}]}}
    assert queued_pod({"metadata": ticket_patch(12)["metadata"], "spec": pod["spec"]}).ticket == 12


# -- the protocol, run by many jobs at once ----------------------------------------------------


class _Cluster:
    """Pods of one group, with a resourceVersion per write and the log of watch events."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.pods: dict[str, dict] = {}
        self.log: list[tuple[str, dict]] = []
        self.version = 0
        self.starts: list[str] = []
        self.created: dict[str, int] = {}  # the resourceVersion each Pod was created with

    def write(self, kind: str, pod: dict) -> dict:
        self.version += 1
        pod["metadata"]["resourceVersion"] = str(self.version)
        self.created.setdefault(pod["metadata"]["name"], self.version)
        if kind == "DELETED":
            del self.pods[pod["metadata"]["name"]]
        else:
            self.pods[pod["metadata"]["name"]] = pod
        self.log.append((kind, copy.deepcopy(pod)))
        holders = sum(queued_pod(p).holds_slot for p in self.pods.values())
        assert holders <= self.cap, f"{holders} Pods hold slots of {self.cap}"
        return pod


class _Job:
    """One job's controller: create, ticket, watch (lagging), take its turn, run, delete. A dead
    one stops after its create."""

    def __init__(self, name: str, cluster: _Cluster, run_steps: int, dies: bool = False) -> None:
        self.name, self.cluster, self.run_steps, self.dies = name, cluster, run_steps, dies
        self.state, self.view, self.cursor, self.ticket = "new", None, 0, 0

    def step(self, now: float, rng: random.Random) -> None:
        cluster = self.cluster
        if self.state == "new":
            pod = cluster.write("ADDED", _pod(self.name, gate=True))
            self.ticket = int(pod["metadata"]["resourceVersion"])
            self.state = "dead" if self.dies else "ticket"
        elif self.state == "ticket":
            if self.name not in cluster.pods:
                self.state = "gone"
                return
            pod = copy.deepcopy(cluster.pods[self.name])
            pod["metadata"]["annotations"][ANNOTATION_TICKET] = str(self.ticket)
            cluster.write("MODIFIED", pod)
            self.view = QueueView(self.name, self.ticket, cluster.cap, STALL)
            self.view.reset(copy.deepcopy(list(cluster.pods.values())))
            self.cursor = len(cluster.log)
            self.state = "waiting"
        elif self.state == "waiting":
            self._wait(now, rng)
        elif self.state == "running":
            self.run_steps -= 1
            if self.run_steps <= 0:
                cluster.write("DELETED", copy.deepcopy(cluster.pods[self.name]))
                self.state = "done"

    def _wait(self, now: float, rng: random.Random) -> None:
        cluster = self.cluster
        upto = rng.randint(self.cursor, len(cluster.log))  # the watch lags by a random number of events
        for kind, pod in cluster.log[self.cursor:upto]:
            self.view.saw(kind, copy.deepcopy(pod))
        self.cursor = upto
        if self.name not in cluster.pods:
            self.state = "gone"
            return
        turn = self.view.turn(now)
        removed = True
        for entry in turn.stalled:
            stored = cluster.pods.get(entry.name)
            if stored is not None and stored["metadata"]["resourceVersion"] == entry.version:
                cluster.write("DELETED", copy.deepcopy(stored))
            elif stored is not None:
                removed = False  # the precondition failed: it changed since
        if removed and turn.go:
            ahead = [name for name, pod in cluster.pods.items() if queued_pod(pod).gated and cluster.created[name] < self.ticket]
            assert len(ahead) < cluster.cap, f"{self.name} went before {ahead}, which arrived first"
            pod = copy.deepcopy(cluster.pods[self.name])
            pod["spec"]["schedulingGates"] = []
            cluster.write("MODIFIED", pod)
            cluster.starts.append(self.name)
            self.state = "running"


@pytest.mark.parametrize("seed", range(60))
def test_many_jobs_with_lagging_views_never_exceed_the_cap_and_all_run(seed):
    rng = random.Random(seed)
    cap = rng.randint(1, 4)
    cluster = _Cluster(cap)
    jobs = [_Job(f"cg-j{i:02d}", cluster, run_steps=rng.randint(1, 30), dies=rng.random() < 0.1) for i in range(rng.randint(5, 25))]
    now = 0.0
    for dummy_step in range(40000):
        live = [job for job in jobs if job.state not in ("done", "dead", "gone")]
        if not live:
            break
        rng.choice(live).step(now, rng)
        now += 0.05
    assert all(job.state == "done" for job in jobs if not job.dies), [(job.name, job.state) for job in jobs]
    # A dead job's Pod is removed by a job waiting behind it; one with no job behind it stays,
    # gated, holding no slot, until the group's next job comes.
    dead = {job.name for job in jobs if job.dies}
    assert set(cluster.pods) <= dead and all(queued_pod(pod).gated for pod in cluster.pods.values())
    assert len(cluster.starts) == len(jobs) - len(dead)


def test_a_pod_kept_for_inspection_after_its_job_holds_no_slot():
    kept = _pod("cg-kept", gate=False, phase="Running")
    kept["metadata"]["annotations"]["container-groups.ephemeral.io/kept-until"] = "2000000000"
    assert _view("cg-me", 9, 1, _pod("cg-me", 9), kept).turn(0.0).go
