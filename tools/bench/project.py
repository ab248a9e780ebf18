#!/usr/bin/env python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time to choose what of a project to ship (a benchmark that prints figures; it asserts no
timing).

    tools/bench/project.sh

A project of 10,000 small files in 200 directories, with a .git of 2,000 files and a
.containergroupignore of four patterns: the seconds select_project takes (the walk, the rules,
the ignore patterns), as a ratio to the anchor measured in the same run, the gzip'd tar
stream of the chosen files that the job sends after it (which the choice adds a walk to).
"""

from __future__ import annotations

import os
import tempfile
import time

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.project import (
    IGNORE_FILE,
    project_tar_stream,
    select_project,
)


def _project(root: str) -> None:
    for directory in range(200):
        os.makedirs(os.path.join(root, f"roles/r{directory}/tasks"))
        for name in range(50):
            with open(os.path.join(root, f"roles/r{directory}/tasks/t{name}.yml"), "w", encoding="utf-8") as handle:
                handle.write("- ansible.builtin.debug: {msg: hello}\n" * 3)
    for name in range(2000):
        os.makedirs(os.path.join(root, ".git/objects", f"{name % 256:02x}"), exist_ok=True)
        with open(os.path.join(root, ".git/objects", f"{name % 256:02x}", f"o{name}"), "wb") as handle:
            handle.write(os.urandom(200))
    with open(os.path.join(root, IGNORE_FILE), "w", encoding="utf-8") as handle:
        handle.write("*.retry\n/build/\n**/cache/\n!keep.retry\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        _project(root)
        chosen, seconds = None, []
        for dummy in range(3):
            started = time.perf_counter()
            chosen = select_project(root)
            seconds.append(time.perf_counter() - started)
        assert chosen is not None
        tar = []
        for dummy in range(3):
            started = time.perf_counter()
            sent = sum(len(chunk) for chunk in project_tar_stream(chosen, {}))
            tar.append(time.perf_counter() - started)
        print(f"project: {chosen.files:,} files shipped, {len(chosen.left_out.get('git', []))} .git left out; "
              f"tar stream {sent:,} bytes")
        print(f"tar stream of the chosen files (the anchor): {min(tar) * 1000:7.1f} ms")
        print(f"select_project (walk, rules, ignore file):  {min(seconds) * 1000:7.1f} ms "
              f"({min(seconds) / min(tar):.2f}x the anchor)")


if __name__ == "__main__":
    main()
