#!/usr/bin/env python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Median seconds per task of each host and its overhead over the floor (part of tools/bench/connection.sh).

    python connection_tasks.py WORK RUNS HOST...

Reads WORK/times-RUN-HOST.json, which the bench_task_timer callback wrote for every run
1..RUNS and HOST ({HOST: [seconds of each task, in order]}), leaves out the first task of
each run (interpreter start, caches) and prints each host's median and its overhead over the
floor (host local_pipelining: the same module on this machine with pipelining), then the
ratio of the kubectl connection's overhead to the pod connection's. Asserts nothing.
"""

from __future__ import annotations

import json
import statistics
import sys

FLOOR = "local_pipelining"


def main() -> None:
    work, runs, hosts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    samples: dict[str, list[float]] = {host: [] for host in hosts}
    for run in range(1, runs + 1):
        for host in hosts:
            with open(f"{work}/times-{run}-{host}.json", encoding="utf-8") as handle:
                samples[host] += json.load(handle)[host][1:]
    median = {host: statistics.median(values) for host, values in samples.items()}
    # The floor: the same module run on this machine with pipelining, as the pod connection
    # runs it by default - what a task costs with a transport that costs nothing.
    floor = median[FLOOR]
    print(f"\n{'50 x command':22} {'s/task':>8} {'overhead':>9}   (median of {len(samples['local'])} tasks per host)")
    for host in hosts:
        print(f"{host:22} {median[host]:8.3f} {median[host] - floor:9.3f}")
    print()
    for ours in ("pod_token", "pod_kubeconfig"):
        for other in ("kubectl", "kubectl_pipelining"):
            if median[ours] - floor <= 0:
                print(f"overhead {other} / {ours}: -- ({ours} is not above the floor)")
                continue
            print(f"overhead {other} / {ours}: {(median[other] - floor) / (median[ours] - floor):5.1f}x")


if __name__ == "__main__":
    main()
