#!/usr/bin/env python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seconds to put and fetch a 100 MB file through put_file/fetch_file of the pod connection
and of kubernetes.core's kubectl connection (part of tools/bench/connection.sh).

Both plugins are loaded by Ansible's plugin loader, as a playbook would; the fetched copy is
checked against the original by sha256. The token comes from $CG_TEST_TOKEN. Each run puts
and fetches with both, alternating, and prints its own figures and ratios (the machine is
noisy: a ratio within one run is the figure to compare); the best and the median of the runs
come last.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time

from _connections import connect, parse_args, plugins

SIZE = 100 * 1024 * 1024


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    args = parse_args(__doc__, work={"required": True}, runs={"type": int, "default": 3})

    source = os.path.join(args.work, "big")
    with open(source, "wb") as handle:
        for dummy_index in range(SIZE // (1 << 20)):
            handle.write(os.urandom(1 << 20))
    expected = sha256(source)

    compared = {name: plugin for name, plugin in plugins(args).items() if name in ("pod (token)", "kubectl")}
    every: dict[str, dict[str, list[float]]] = {name: {"put": [], "fetch": []} for name in compared}
    conns = {name: connect(plugin, variables) for name, (plugin, variables) in compared.items()}
    remote = f"/tmp/bench-{os.getpid()}"
    fetched = os.path.join(args.work, "big.back")
    print(f"{SIZE >> 20} MB file, put and fetch in seconds; kubectl/pod above 1: the pod connection is faster")
    for run in range(1, args.runs + 1):
        this_run: dict[str, dict[str, float]] = {}
        # The two alternate, and so does who goes first, so that neither always follows the
        # other's checksum and clean-up.
        for name, conn in (conns.items() if run % 2 else reversed(conns.items())):
            times = this_run[name] = {}
            started = time.monotonic()
            conn.put_file(source, remote)
            times["put"] = time.monotonic() - started
            started = time.monotonic()
            conn.fetch_file(remote, fetched)
            times["fetch"] = time.monotonic() - started
            if sha256(fetched) != expected:
                raise SystemExit(f"{name}: the fetched file differs from the original")
            os.unlink(fetched)
            conn.exec_command(f"rm -f {remote}")
            for what in ("put", "fetch"):
                every[name][what].append(times[what])
        _report(f"run {run}", this_run)
    for conn in conns.values():
        conn.close()
    os.unlink(source)
    _report("best", {name: {what: min(seconds) for what, seconds in kinds.items()} for name, kinds in every.items()})
    _report("median", {name: {what: statistics.median(seconds) for what, seconds in kinds.items()} for name, kinds in every.items()})
    return 0


def _report(label: str, times: dict[str, dict[str, float]]) -> None:
    ours, theirs = times["pod (token)"], times["kubectl"]
    print(f"{label:6} put: pod {ours['put']:5.2f} kubectl {theirs['put']:5.2f} (kubectl/pod {theirs['put'] / ours['put']:.2f}x)  "
          f"fetch: pod {ours['fetch']:5.2f} kubectl {theirs['fetch']:5.2f} (kubectl/pod {theirs['fetch'] / ours['fetch']:.2f}x)",
          flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
