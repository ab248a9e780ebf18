#!/usr/bin/env python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Times a one-task job through the wrapper against the same target run directly (part of tools/bench/job.sh).

    python job_measure.py WORK GROUP RUNS

WORK holds what job.sh wrote: inventory.ini, project/target.yml and the state file
state/container_groups.yml that defines the container group GROUP. After one unmeasured
warm-up of each, RUNS times, alternating: the target run directly with ansible-playbook (the
floor), then through ephemeral.container_groups.run, whose phases are read from the summary
the job role prints. Prints each run, then p50 and max of the wall time, the overhead and the
phases, each also as a ratio to the p50 floor. Asserts no timing; exits with a message (and
the run's output) when a run fails. ansible-playbook comes from PATH; the job's Pod is looked
for in $CG_TEST_NAMESPACE.
"""

from __future__ import annotations

import ast
import os
import re
import statistics
import subprocess
import sys
import time

# The job role's summary: "exit status: 0", "timings (s): {'create_to_running': 1.2, ...}".
SUMMARY = re.compile(r'"exit status: (?P<rc>\S+)",\s*"recap: .*",\s*(?:"stats: .*",\s*)?"timings \(s\): (?P<timings>\{[^}]*\})",'
                     r'\s*"API requests: (?P<requests>\d+)')
PHASES = ("create_to_running", "copy", "run", "delete")


def _timed(argv: list[str], log: str) -> float:
    """Seconds ARGV took, its output in LOG; exits (printing that output) if it fails."""
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        rc = subprocess.call(argv, stdout=out, stderr=subprocess.STDOUT)
    elapsed = time.monotonic() - started
    if rc != 0:
        with open(log, encoding="utf-8") as handle:
            sys.stdout.write(handle.read())
        sys.exit(f"{argv[0]} failed (exit status {rc}); output above")
    return elapsed


def _inventory_and_target(work: str) -> tuple[str, str]:
    """The paths job.sh wrote the inventory and the target playbook to."""
    return os.path.join(work, "inventory.ini"), os.path.join(work, "project", "target.yml")


def _direct(work: str) -> float:
    """Seconds of the target run directly on this machine: the floor."""
    inventory, target = _inventory_and_target(work)
    return _timed(["ansible-playbook", "-i", inventory, target], os.path.join(work, "direct.log"))


def _wrapper(work: str, group: str) -> tuple[float, dict[str, float], int]:
    """Wall seconds of the target run through the wrapper, the job's timings and its API requests."""
    inventory, target = _inventory_and_target(work)
    log = os.path.join(work, "wrapper.log")
    wall = _timed(["ansible-playbook", "-i", inventory, "ephemeral.container_groups.run",
                   "-e", f"container_group={group}", "-e", f"playbook={target}",
                   "-e", f"state_file={work}/state/container_groups.yml"], log)
    with open(log, encoding="utf-8") as handle:
        output = handle.read()
    match = SUMMARY.search(output)
    if not match or match["rc"] != "0" or f"Pod {os.environ['CG_TEST_NAMESPACE']}/cg-" not in output:
        sys.stdout.write(output)
        sys.exit("no successful job summary (exit status 0, timings) in the wrapper's output above")
    return wall, ast.literal_eval(match["timings"]), int(match["requests"])


def main() -> None:
    work, group, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])

    print("warm-up (not counted) ...", flush=True)
    _direct(work)
    _wrapper(work, group)
    floors: list[float] = []
    walls: list[float] = []
    requests: list[int] = []
    phases: dict[str, list[float]] = {key: [] for key in PHASES}
    for number in range(1, runs + 1):
        floors.append(_direct(work))
        wall, timings, made = _wrapper(work, group)
        walls.append(wall)
        requests.append(made)
        for key, values in phases.items():
            values.append(timings[key])
        print(f"run {number:2}: floor {floors[-1]:6.2f} s   wrapper {wall:6.2f} s   "
              + "  ".join(f"{key} {timings[key]:.2f}" for key in phases), flush=True)

    floor = statistics.median(floors)
    overheads = [w - f for w, f in zip(walls, floors)]
    rest = [w - sum(values[i] for values in phases.values()) for i, w in enumerate(walls)]
    in_pod_extra = [r - f for r, f in zip(phases["run"], floors)]
    rows = [
        ("floor: target run directly", floors),
        ("wrapper: wall time", walls),
        ("overhead: wall - floor", overheads),
        ("  create -> Running", phases["create_to_running"]),
        ("  copy", phases["copy"]),
        ("  run (in the Pod)", phases["run"]),
        ("    of which beyond the floor", in_pod_extra),
        ("  delete", phases["delete"]),
        ("  rest (wrapper's own ansible-playbook)", rest),
    ]
    print()
    print(f"{'':42} {'p50 s':>8} {'max s':>8} {'p50/floor':>10} {'max/floor':>10}")
    for name, values in rows:
        p50, top = statistics.median(values), max(values)
        print(f"{name:42} {p50:8.2f} {top:8.2f} {p50 / floor:10.2f} {top / floor:10.2f}")
    p50_overhead = statistics.median(overheads)
    print()
    print(f"p50 overhead {p50_overhead:.2f} s (goal: 2.5 s or less with the image present: "
          f"{'met' if p50_overhead <= 2.5 else 'NOT met'} in this run)")
    print(f"API requests per one-task job (HTTP requests and exec connections): p50 {statistics.median(requests):.0f}, "
          f"max {max(requests)}")


if __name__ == "__main__":
    main()
