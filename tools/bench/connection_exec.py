#!/usr/bin/env python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Milliseconds per command the way a task pays them (part of tools/bench/connection.sh).

Ansible runs every task in a freshly forked worker, which makes a connection (importing what
the plugin imports), sets its options and runs the module. Here each sample forks a child
from a process that has resolved the plugins, as a worker is forked, and the child makes the
connection and runs ``/bin/true`` once through exec_command: the pod connection (token, kubeconfig) and
kubernetes.core's kubectl connection (one kubectl process: what each pipelined task costs).
The anchor is the same command on an already open pod connection: the API server, kubelet
and container runtime's share, which every transport pays.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from ansible.plugins.loader import connection_loader

from _connections import connect, parse_args, plugins


def _run_true(conn: object) -> None:
    rc, out, err = conn.exec_command("/bin/true")
    if rc != 0:
        raise SystemExit(f"/bin/true failed: {rc} {out!r} {err!r}")


def _in_a_fresh_worker(name: str, options: dict) -> float:
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            _run_true(connect(name, options))
        except BaseException as exc:  # pylint: disable=broad-except
            print(f"{name}: {exc}", file=sys.stderr)
            os._exit(1)
        os._exit(0)
    dummy_pid, status = os.waitpid(pid, 0)
    if status != 0:
        raise SystemExit(f"{name}: the worker failed")
    return time.perf_counter() - started


def _anchor(options: dict, count: int) -> list[float]:
    """Seconds per /bin/true on one open pod connection (in a child, so that the workers'
    parent never holds a connection or the modules a connection imports)."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        conn = connect("ephemeral.container_groups.pod", options)
        _run_true(conn)
        times = []
        for dummy_index in range(count):
            started = time.perf_counter()
            _run_true(conn)
            times.append(time.perf_counter() - started)
        os.write(writer, " ".join(map(str, times)).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as handle:
        data = handle.read()
    os.waitpid(pid, 0)
    return [float(value) for value in data.split()]


def main() -> int:
    args = parse_args(__doc__, samples={"type": int, "default": 20})
    compared = plugins(args)
    token = compared["pod (token)"][1]
    # ansible-playbook's main process has resolved the plugins (collection metadata, plugin
    # class, option definitions) before it forks the workers of the tasks; so does this one.
    for plugin, dummy_options in compared.values():
        connection_loader.get(plugin, class_only=True)
    samples: dict[str, list[float]] = {name: [] for name in compared}
    anchor: list[float] = []
    for dummy_sample in range(args.samples):  # taking turns, so a busy moment hits all
        for name, (plugin, options) in compared.items():
            samples[name].append(_in_a_fresh_worker(plugin, options))
        anchor += _anchor(token, 3)
    base = statistics.median(anchor)
    print(f"{'/bin/true, fresh worker':24} {'median ms':>9} {'x anchor':>9}   ({args.samples} samples each)")
    print(f"{'anchor: open pod conn.':24} {base * 1000:9.1f} {1:9.2f}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:24} {median * 1000:9.1f} {median / base:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
