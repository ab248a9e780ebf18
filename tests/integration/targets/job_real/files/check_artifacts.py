"""Reads a job's record with ansible-runner's own reader, as a user's tools would.

check_artifacts.py ARTIFACTS_DIR RESULT_JSON STATUS RC HOST...
  the record of the job whose result is RESULT_JSON: ansible_runner's Runner reads its events
  in order (each with stdout and parent_uuid), its stats equal the job's, each HOST has events,
  the events' output is the stdout file, whose end is the job's stdout_tail; status and rc as
  given. Exit 1, saying what differs, if not.
  RESULT_JSON "-" (a failed wrapper saves no result): the one record in ARTIFACTS_DIR, whose
  stats must have each HOST.
"""

import json
import os
import sys
import tempfile

from ansible_runner.config.runner import RunnerConfig
from ansible_runner.runner import Runner


def main(artifacts_dir, result_file, status, rc, hosts):
    if result_file == "-":
        (job_id,) = os.listdir(artifacts_dir)
        result = None
    else:
        with open(result_file, encoding="utf-8") as handle:
            result = json.load(handle)
        job_id = result["job_id"]
    problems = []
    if result is not None and result.get("artifact_dir") != os.path.join(artifacts_dir, job_id):
        problems.append(f"the result's artifact_dir is {result.get('artifact_dir')!r}")
    with tempfile.TemporaryDirectory() as private_data_dir:
        runner = Runner(RunnerConfig(private_data_dir=private_data_dir, artifact_dir=artifacts_dir, ident=job_id))
        events = list(runner.events)
        stats = runner.stats
        host_events = {host: list(runner.host_events(host)) for host in hosts}
        with runner.stdout as handle:
            stdout = handle.read()
    counters = [event["counter"] for event in events]
    if counters != list(range(1, len(events) + 1)):
        problems.append(f"the events' counters are not 1..{len(events)} in order: {counters[:20]}")
    if not all("stdout" in event and "parent_uuid" in event and event.get("runner_ident") == job_id for event in events):
        problems.append("an event has no stdout, parent_uuid or runner_ident")
    parents = {event["uuid"] for event in events}
    orphans = [event["event"] for event in events if event["parent_uuid"] and event["parent_uuid"] not in parents]
    if orphans:
        problems.append(f"events whose parent is not among the events: {orphans[:5]}")
    if result is not None:
        ours = {host: {name: counts[name] for name in ("ok", "changed", "failed", "unreachable")}
                for host, counts in result["stats"].items()}
        theirs = {host: {"ok": stats["ok"].get(host, 0), "changed": stats["changed"].get(host, 0),
                         "failed": stats["failures"].get(host, 0), "unreachable": stats["dark"].get(host, 0)}
                  for host in result["stats"]} if stats else None
        if ours != theirs or not ours:
            problems.append(f"Runner.stats {theirs} differ from the job's stats {ours}")
    elif not stats or sorted(stats["processed"]) != sorted(hosts):
        problems.append(f"Runner.stats {stats} are not of the hosts {hosts}")
    problems += [f"no host_events for {host}" for host, found in host_events.items() if not found]
    lines = stdout.split("\n")[:-1]  # each line ends with a newline
    from_events = "\n".join(event["stdout"] for event in events if event["end_line"] > event["start_line"])
    if from_events != "\n".join(lines):
        problems.append(f"the events' output ({len(from_events)} characters) is not the stdout file ({len(stdout)})")
    if result is not None and lines[-len(result["stdout_tail"]):] != result["stdout_tail"]:
        problems.append("the stdout file does not end with the job's stdout_tail")
    for name, want in (("status", status), ("rc", rc)):
        with open(os.path.join(artifacts_dir, job_id, name), encoding="utf-8") as handle:
            got = handle.read()
        if got != want:
            problems.append(f"{name} is {got!r}, not {want!r}")
    for problem in problems:
        print(f"artifacts: {problem}")
    print(f"artifacts: {len(events)} events, {len(stdout.splitlines())} lines of stdout, status {status}, "
          f"{'ok' if not problems else 'WRONG'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]))
