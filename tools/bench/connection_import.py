#!/usr/bin/env python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Milliseconds of import that the pod connection adds to every task (part of connection.sh).

Ansible loads a task's connection plugin in the freshly forked worker, so whatever the
plugin imports, and what its first exec imports (the websocket library), is paid per task.
Each sample is a new interpreter that first imports what a worker already has (the executor,
the plugin loader), then times loading the plugin and its exec transport. The anchor is the
same for ansible-core's own ssh connection plugin. Prints the medians; asserts nothing.
    python connection_import.py [SAMPLES]
"""

from __future__ import annotations

import statistics
import subprocess
import sys

_CHILD = r"""
import os, sys, time
import ansible.executor.task_executor, ansible.plugins.action, ansible.utils.display
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader, init_plugin_loader
init_plugin_loader()
started = time.perf_counter()
conn = connection_loader.get(sys.argv[1], PlayContext(), os.devnull)
if sys.argv[1].startswith("ephemeral."):
    from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec import channels, websocket
    websocket._import_websockets()
print((time.perf_counter() - started) * 1000)
"""


def _median_ms(plugin: str, samples: int) -> float:
    times = []
    for dummy in range(samples):
        out = subprocess.run([sys.executable, "-c", _CHILD, plugin], check=True, capture_output=True, text=True).stdout
        times.append(float(out.split()[-1]))
    return statistics.median(times)


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    anchor = _median_ms("ansible.builtin.ssh", samples)
    pod = _median_ms("ephemeral.container_groups.pod", samples)
    print(f"import per task, median of {samples}: pod connection + exec transport {pod:.1f} ms; "
          f"anchor (ansible.builtin.ssh) {anchor:.1f} ms; ratio {pod / anchor:.2f}")


if __name__ == "__main__":
    main()
