#!/usr/bin/env python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seconds to put and fetch a 200 MB file through put_file/fetch_file of the pod connection
and of kubernetes.core's kubectl connection (part of tools/bench/connection.sh).

Both plugins are loaded by Ansible's plugin loader, as a playbook would; the fetched copy is
checked against the original by sha256. The token comes from $CG_TEST_TOKEN.
"""

from __future__ import annotations

import hashlib
import os
import time

from _connections import connect, parse_args, plugins

SIZE = 200 * 1024 * 1024


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
    best: dict[str, dict[str, float]] = {name: {"put": float("inf"), "fetch": float("inf")} for name in compared}
    conns = {name: connect(plugin, variables) for name, (plugin, variables) in compared.items()}
    remote = f"/tmp/bench-{os.getpid()}"
    fetched = os.path.join(args.work, "big.back")
    for dummy_run in range(args.runs):
        for name, conn in conns.items():  # alternating, so a busy moment hits both
            times = best[name]
            started = time.monotonic()
            conn.put_file(source, remote)
            times["put"] = min(times["put"], time.monotonic() - started)
            started = time.monotonic()
            conn.fetch_file(remote, fetched)
            times["fetch"] = min(times["fetch"], time.monotonic() - started)
            if sha256(fetched) != expected:
                raise SystemExit(f"{name}: the fetched file differs from the original")
            os.unlink(fetched)
            conn.exec_command(f"rm -f {remote}")
    for conn in conns.values():
        conn.close()
    os.unlink(source)

    print(f"{'200 MB file':20} {'put s':>8} {'fetch s':>8}")
    for name, times in best.items():
        print(f"{name:20} {times['put']:8.2f} {times['fetch']:8.2f}")
    ours, theirs = best["pod (token)"], best["kubectl"]
    print(f"\nput: kubectl / pod = {theirs['put'] / ours['put']:.2f}x, fetch: kubectl / pod = {theirs['fetch'] / ours['fetch']:.2f}x"
          " (above 1: the pod connection is faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
