#!/usr/bin/env python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""N jobs at once on a capped group, watched from the API (part of tools/bench/burst.sh).

    python burst_measure.py WORK CAPPED_GROUP FREE_GROUP N CAP

WORK holds what burst.sh wrote (inventory.ini, project/target.yml, the state file). Prints:
one job's wall time alone (after a warm-up); for the N jobs on CAPPED_GROUP, how many
succeeded, the most Pods of the group admitted (past the queue's gate, not being deleted)
and Running at once as a watch of the API saw them, whether they were admitted in the order
they arrived (their tickets), the hand-off (from a slot freed while Pods waited to the next
admission; median and worst), the wall time against the ideal (waves x one job alone), and
API requests per job (median, max, from each job's summary); then the same N jobs' wall
time on FREE_GROUP, which has no cap. Asserts no timing.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

GATE = "container-groups.ephemeral.io/queue"
TICKET = "container-groups.ephemeral.io/ticket"
GROUP = "container-groups.ephemeral.io/group"
REQUESTS = re.compile(r'"API requests: (\d+)')


class GroupWatch(threading.Thread):
    """Watches the group's Pods; records, by the local clock, when each was first seen admitted
    (no queue gate, not being deleted), Running, and freed (being deleted, ended or gone)."""

    def __init__(self, group: str) -> None:
        super().__init__(daemon=True)
        self.group = group
        self.lock = threading.Lock()
        self.tickets: dict[str, int] = {}
        self.admitted: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.freed: dict[str, float] = {}
        self.waiting_at_free: dict[str, int] = {}
        self.most_admitted = self.most_running = 0
        self.ready = threading.Event()

    def _connection(self) -> http.client.HTTPSConnection:
        url = urllib.parse.urlsplit(os.environ["CG_TEST_HOST"])
        context = ssl.create_default_context(cafile=os.environ["CG_TEST_CA_FILE"])
        return http.client.HTTPSConnection(url.hostname, url.port or 443, context=context, timeout=600)

    def _get(self, query: dict) -> http.client.HTTPResponse:
        conn = self._connection()
        path = f"/api/v1/namespaces/{os.environ['CG_TEST_NAMESPACE']}/pods?" + urllib.parse.urlencode(
            {"labelSelector": f"{GROUP}={self.group}", **query})
        conn.request("GET", path, headers={"Authorization": f"Bearer {os.environ['CG_TEST_TOKEN']}"})
        response = conn.getresponse()
        if response.status != 200:
            sys.exit(f"the watch of group {self.group} got {response.status} {response.reason}")
        return response

    def run(self) -> None:
        while True:  # a list, then watches from its version until one is refused (410 Gone)
            listing = json.load(self._get({}))
            now = time.monotonic()
            for pod in listing["items"]:
                self._saw("MODIFIED", pod, now)
            version = listing["metadata"]["resourceVersion"]
            self.ready.set()
            while version:
                for line in self._get({"watch": "1", "resourceVersion": version, "timeoutSeconds": "300"}):
                    event = json.loads(line)
                    if event["type"] == "ERROR":
                        version = ""
                        break
                    version = event["object"]["metadata"]["resourceVersion"]
                    self._saw(event["type"], event["object"], time.monotonic())

    def _saw(self, kind: str, pod: dict, now: float) -> None:
        meta = pod["metadata"]
        name = meta["name"]
        gated = GATE in [gate["name"] for gate in (pod.get("spec") or {}).get("schedulingGates") or []]
        gone = kind == "DELETED" or bool(meta.get("deletionTimestamp")) or pod["status"].get("phase") in ("Succeeded", "Failed")
        with self.lock:
            if TICKET in (meta.get("annotations") or {}):
                self.tickets[name] = int(meta["annotations"][TICKET])
            if gone:
                if name in self.admitted and name not in self.freed:
                    self.freed[name] = now
                    self.waiting_at_free[name] = self._waiting()
            elif not gated:
                self.admitted.setdefault(name, now)
                if pod["status"].get("phase") == "Running":
                    self.running.setdefault(name, now)
            live = [n for n in self.admitted if n not in self.freed]
            self.most_admitted = max(self.most_admitted, len(live))
            self.most_running = max(self.most_running, sum(n in self.running for n in live))

    def _waiting(self) -> int:
        return sum(1 for name in self.tickets if name not in self.admitted)


def _run_jobs(work: str, group: str, count: int, tag: str) -> tuple[float, list[int], list[int]]:
    """count jobs of group at once: the wall time, each one's exit status and API requests."""
    argv = ["ansible-playbook", "-i", os.path.join(work, "inventory.ini"), "ephemeral.container_groups.run",
            "-e", f"container_group={group}", "-e", f"playbook={os.path.join(work, 'project', 'target.yml')}",
            "-e", f"state_file={work}/state/container_groups.yml"]
    logs = [os.path.join(work, "logs", f"{tag}-{i:03d}.log") for i in range(count)]
    started = time.monotonic()
    procs = []
    for log in logs:
        with open(log, "w", encoding="utf-8") as out:
            procs.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT))
    codes = [proc.wait() for proc in procs]
    wall = time.monotonic() - started
    made = []
    for log in logs:
        with open(log, encoding="utf-8") as handle:
            found = REQUESTS.search(handle.read())
        if found:
            made.append(int(found.group(1)))
    return wall, codes, made


def _handoffs(watch: GroupWatch) -> list[float]:
    """Seconds from each slot freed while Pods waited to the next admission not yet paired."""
    frees = sorted(t for name, t in watch.freed.items() if watch.waiting_at_free.get(name))
    admissions = sorted(watch.admitted.values())
    gaps = []
    for freed in frees:
        later = [t for t in admissions if t >= freed]
        if later:
            gaps.append(later[0] - freed)
            admissions.remove(later[0])
    return gaps


def _order(watch: GroupWatch) -> tuple[int, float]:
    """Pairs admitted against their tickets' order, and by how much the worst was late."""
    by_ticket = sorted((ticket, watch.admitted[name]) for name, ticket in watch.tickets.items() if name in watch.admitted)
    inversions, worst = 0, 0.0
    for i, (dummy, first) in enumerate(by_ticket):
        for dummy_later, second in by_ticket[i + 1:]:
            if second < first:
                inversions += 1
                worst = max(worst, first - second)
    return inversions, worst


def main() -> None:
    work, capped, free, count, cap = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    print("one job alone (after a warm-up) ...", flush=True)
    _run_jobs(work, capped, 1, "warmup")
    alone, codes, dummy_made = _run_jobs(work, capped, 1, "alone")
    if codes != [0]:
        sys.exit(f"the job alone failed; see {work}/logs/alone-000.log")
    print(f"one job alone: {alone:.1f} s", flush=True)

    watch = GroupWatch(capped)
    watch.start()
    watch.ready.wait(30)
    print(f"{count} jobs at once on {capped} (max_concurrent_jobs {cap}) ...", flush=True)
    wall, codes, made = _run_jobs(work, capped, count, "capped")
    time.sleep(2)  # the watch's last events
    waves = math.ceil(count / cap)
    gaps = _handoffs(watch)
    inversions, worst = _order(watch)
    with watch.lock:
        most_admitted, most_running, admitted = watch.most_admitted, watch.most_running, len(watch.admitted)
    print(f"succeeded: {codes.count(0)} of {count}")
    print(f"most Pods admitted at once (watched): {most_admitted} (goal: at most {cap}); most Running at once: {most_running}")
    print(f"Pods admitted: {admitted}; pairs admitted against arrival order: {inversions}"
          + (f" (the worst {worst:.2f} s early)" if inversions else " (all in arrival order)"))
    if gaps:
        print(f"hand-off, slot freed to the next admission: median {statistics.median(gaps):.2f} s, worst {max(gaps):.2f} s "
              f"over {len(gaps)} (goal: within 1 s)")
    print(f"wall time: {wall:.1f} s; ideal {waves} waves x {alone:.1f} s = {waves * alone:.1f} s ({wall / (waves * alone):.2f}x)")
    if made:
        print(f"API requests per job: median {statistics.median(made):.0f}, max {max(made)} (goal: median <= 15, max <= 30)")
    print(f"{count} jobs at once on {free} (no cap) ...", flush=True)
    free_wall, free_codes, free_made = _run_jobs(work, free, count, "free")
    print(f"no cap: succeeded {free_codes.count(0)} of {count}, wall time {free_wall:.1f} s "
          f"({free_wall / alone:.2f}x one job alone); API requests per job: median "
          f"{statistics.median(free_made) if free_made else 0:.0f}")


if __name__ == "__main__":
    main()
