"""check_events.py EVENTS_FILE RECORD_DIR COUNT: after a fault, the job's events are whole.

The events file's counters run 1, 2, ... with no gap, the record (artifacts_dir) holds the same
events, and the events' output holds each "seq-N" message (N = 1..COUNT) exactly once, as
the terminal did. Exit 1, saying what is wrong, if not.
"""

import json
import os
import re
import sys


def main(events_file, record_dir, count):
    with open(events_file, encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle]
    problems = []
    counters = [event["counter"] for event in events]
    if counters != list(range(1, len(events) + 1)):
        problems.append(f"the counters are not 1..{len(events)} without a gap: {counters}")
    recorded = sorted(int(name.split("-", 1)[0]) for name in os.listdir(os.path.join(record_dir, "job_events")))
    if recorded[:len(events)] != counters:
        problems.append(f"the record's events {recorded} are not the events file's {counters}")
    output = "\n".join(event.get("stdout", "") for event in events)
    for n in range(1, count + 1):
        seen = len(re.findall(rf'"msg": "seq-{n}"', output))
        if seen != 1:
            problems.append(f"seq-{n} is in the events' output {seen} times")
    for problem in problems[:10]:
        print(f"events: {problem}")
    print(f"events: {len(events)} events, {'whole' if not problems else 'NOT whole'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
