"""Checks a job's result and events file: check_run.py RESULT EVENTS CHANGED HOST...

Every HOST is in the result's stats with changed == CHANGED, ok >= 1 and nothing failed or
unreachable; the events are in order (counters 1, 2, ...), from playbook_on_start to a
playbook_on_stats whose counters match the stats (output outside the playbook, such as -v's
first lines, is in "verbose" events, left aside here); each names its play, and each host
event its task and host.
"""

import json
import sys

result_path, events_path, changed, hosts = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
with open(result_path) as handle:
    result = json.load(handle)
with open(events_path) as handle:
    events = [json.loads(line) for line in handle]
stats = result["stats"]
problems = []
if sorted(stats) != sorted(hosts):
    problems.append(f"stats are for {sorted(stats)}, not {sorted(hosts)}")
for host in hosts:
    counts = stats.get(host, {})
    if counts.get("changed") != changed or counts.get("ok", 0) < 1 or counts.get("failed") or counts.get("unreachable"):
        problems.append(f"stats of {host}: {counts} (want changed={changed}, ok>=1, none failed or unreachable)")
if [event["counter"] for event in events] != list(range(1, len(events) + 1)):
    problems.append("event counters are not 1, 2, 3, ... in order")
playbook_events = [event for event in events if event["event"] != "verbose"]
names = [event["event"] for event in playbook_events]
if not names or names[0] != "playbook_on_start" or names[-1] != "playbook_on_stats":
    problems.append(f"events run from {names[:1]} to {names[-1:]}, not playbook_on_start to playbook_on_stats")
for wanted in ("playbook_on_play_start", "playbook_on_task_start", "runner_on_ok"):
    if wanted not in names:
        problems.append(f"no {wanted} event")
for event in playbook_events:
    data = event["event_data"]
    if event["event"] != "playbook_on_start" and not data.get("play"):
        problems.append(f"event {event['counter']} ({event['event']}) names no play")
    if event["event"].startswith("runner_on_") and not (data.get("task") and data.get("host") and event.get("created")):
        problems.append(f"event {event['counter']} ({event['event']}) lacks its task, host or time")
final = playbook_events[-1]["event_data"] if playbook_events else {}
theirs = {"ok": "ok", "changed": "changed", "failed": "failures", "unreachable": "dark", "skipped": "skipped",
          "rescued": "rescued", "ignored": "ignored"}
for host, counts in stats.items():
    for ours, name in theirs.items():
        if counts[ours] != (final.get(name) or {}).get(host, 0):
            problems.append(f"{host}: stats say {ours}={counts[ours]}, the final playbook_on_stats {final.get(name)}")
print(f"{len(events)} events; stats {stats}")
if problems:
    sys.exit("\n".join(problems))
