#!/usr/bin/env python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time to reassemble one long line of the target's output from 64 KiB chunks (a benchmark
that prints figures; it asserts no timing).

    tools/bench/lines.sh

For lines of 1, 4 and 16 MiB: the seconds the job's LineSplitter takes (its line cap is
1 MiB; the rest is counted) and the job event reader's LineAssembler (no cap below 64 MiB),
each also as a ratio to the 1 MiB time of the same reader: linear means 4x and 16x. The
anchor, measured in the same run: the join-and-split that both replaced (the partial line
joined to each chunk and split again), which is quadratic.
"""

from __future__ import annotations

import time

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import LineSplitter
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.lines import LineAssembler

CHUNK = b"x" * (64 << 10)


def _splitter(mib: int) -> float:
    started = time.perf_counter()
    splitter = LineSplitter(lambda line, err: None)
    for dummy in range(mib * 16):
        splitter.feed(CHUNK)
    splitter.feed(b"\n")
    return time.perf_counter() - started


def _join_and_split(mib: int) -> float:
    started = time.perf_counter()
    partial = b""
    for dummy in range(mib * 16):
        *dummy_lines, partial = (partial + CHUNK).split(b"\n")
    return time.perf_counter() - started


def _assembler(mib: int) -> float:
    started = time.perf_counter()
    assembler = LineAssembler(64 << 20)
    for dummy in range(mib * 16):
        list(assembler.feed(CHUNK))
    assert [len(line) for line, dummy_dropped in assembler.feed(b"\n")] == [mib << 20]
    return time.perf_counter() - started


def main() -> None:
    for name, measure in (("join and split (the anchor)", _join_and_split), ("LineSplitter (output lines)", _splitter),
                          ("LineAssembler (job events)", _assembler)):
        times = {mib: min(measure(mib) for dummy in range(3)) for mib in (1, 4, 16)}
        figures = [f"{mib:2} MiB {seconds * 1000:7.2f} ms ({seconds / times[1]:5.1f}x)" for mib, seconds in times.items()]
        print(f"{name:30} " + "   ".join(figures))


if __name__ == "__main__":
    main()
