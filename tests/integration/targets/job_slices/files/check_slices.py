"""check_slices.py RESULT_JSON LOG EVENTS_JSONL ARTIFACTS_DIR SLICE_HOSTS...

The saved result, output and events of a successful job of len(SLICE_HOSTS) slices, each
SLICE_HOSTS a comma-separated list of the hosts slice i must have run: every host ran once,
in its own slice; stats merged; lines prefixed; events of every slice in one record with
counters 1..N and runner_ident JOB_ID-I.
"""

from __future__ import annotations

import json
import os
import re
import sys


def main() -> int:
    result_file, log_file, events_file, artifacts_dir, *slices = sys.argv[1:]
    with open(result_file, encoding="utf-8") as handle:
        result = json.load(handle)
    with open(log_file, encoding="utf-8") as handle:
        log = handle.read()
    count = len(slices)
    expected = {number: set(hosts.split(",")) for number, hosts in enumerate(slices, start=1)}
    every = set().union(*expected.values())
    problems = []
    if result.get("rc") != 0 or result.get("status") != "successful":
        problems.append(f"rc {result.get('rc')}, status {result.get('status')}")
    if set(result["stats"]) != every:
        problems.append(f"merged stats cover {sorted(result['stats'])}, want {sorted(every)}")
    for host, counts in result["stats"].items():
        if counts.get("ok") != 2 or counts.get("failures"):
            problems.append(f"{host}: stats {counts} (want ok 2: each host once)")
    reported = result.get("slices") or []
    if [one["slice"] for one in reported] != list(range(1, count + 1)):
        problems.append(f"slices reported: {reported}")
    for one in reported:
        if set(one["stats"]) != expected[one["slice"]]:
            problems.append(f"slice {one['slice']} ran {sorted(one['stats'])}, want {sorted(expected[one['slice']])}")
    if len({one["pod_name"] for one in reported}) != count:
        problems.append("the slices did not run in Pods of their own")
    for number, hosts in expected.items():
        for host in hosts:
            said = re.findall(rf"^\[(\d+)/{count}\] .*\"msg\": \"MARKER-HOST {re.escape(host)}\"", log, re.M)
            if said != [str(number)]:
                problems.append(f"{host}: said by slices {said}, want [{number}]")
    with open(events_file, encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle if line.strip()]
    job_id = result["job_id"]
    idents = {event.get("runner_ident") for event in events}
    if idents != {f"{job_id}-{number}" for number in expected}:
        problems.append(f"runner_ident of the events: {sorted(map(str, idents))}")
    if [event["counter"] for event in events] != list(range(1, len(events) + 1)):
        problems.append("the events' counters are not 1..N")
    record = os.path.join(artifacts_dir, job_id)
    with open(os.path.join(record, "status"), encoding="utf-8") as handle:
        status = handle.read().strip()
    recorded = {}
    for name in os.listdir(os.path.join(record, "job_events")):
        with open(os.path.join(record, "job_events", name), encoding="utf-8") as handle:
            event = json.load(handle)
        recorded[event["uuid"]] = event
    missing = {event["uuid"] for event in events} - set(recorded)
    more = [event["event"] for uuid, event in recorded.items() if uuid not in {e["uuid"] for e in events}]
    if status != "successful" or missing or set(more) - {"verbose"}:
        problems.append(f"record: status {status}, {len(missing)} events missing, more: {more}")
    with open(os.path.join(record, "stdout"), encoding="utf-8") as handle:
        stdout = handle.read()
    for number in expected:
        if f"[{number}/{count}] " not in stdout:
            problems.append(f"the record's stdout has no line of slice {number}")
    for problem in problems:
        print("FAILED:", problem, file=sys.stderr)
    print(f"{count} slices, {len(every)} hosts, {len(events)} events" if not problems else "")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
