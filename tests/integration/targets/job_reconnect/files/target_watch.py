"""Watches a job's target from inside its Pod: ``kubectl exec -i POD -- python3 - < this``.

Prints ``watching N`` (the target's processes now), then ``gone <epoch seconds>`` as soon as
none is left, polling every 10 ms. If the Pod is deleted first, ``gone`` never comes.
The target's processes are every live process but PID 1 (the container's own command), the
job's runner (its supervisor and execs) and this watcher.
"""

import os
import sys
import time

ME = os.getpid()


def target_processes() -> list:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, ME):
            continue
        try:
            with open(f"/proc/{name}/stat") as stat, open(f"/proc/{name}/cmdline", "rb") as cmdline:
                state = stat.read().rsplit(")", 1)[1].split()[0]
                argv = cmdline.read()
        except (OSError, IndexError):
            continue
        if state != "Z" and b"runner.py" not in argv:
            found.append(int(name))
    return found


count = len(target_processes())
print("watching", count, flush=True)
if not count:
    sys.exit("no process of the target to watch")
while target_processes():
    time.sleep(0.01)
print("gone", time.time(), flush=True)
