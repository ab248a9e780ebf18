# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Records how long each task took on each host (for tools/bench/connection.sh).

Writes {host: [seconds, ...]} as JSON to $BENCH_TASK_TIMES at the end of the playbook.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_task_timer
type: aggregate
short_description: Per-host task durations for the connection benchmark
description:
  - Writes the duration of every task on every host as JSON to E(BENCH_TASK_TIMES).
requirements:
  - enabled in callbacks_enabled
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.started: dict[tuple[str, str], float] = {}
        self.times: dict[str, list[float]] = {}

    def v2_runner_on_start(self, host, task) -> None:
        self.started[(host.get_name(), task._uuid)] = time.monotonic()

    def _done(self, result) -> None:
        key = (result._host.get_name(), result._task._uuid)
        began = self.started.pop(key, None)
        if began is not None:
            self.times.setdefault(key[0], []).append(time.monotonic() - began)

    v2_runner_on_ok = _done
    v2_runner_on_failed = _done
    v2_runner_on_unreachable = _done

    def v2_playbook_on_stats(self, stats) -> None:
        with open(os.environ["BENCH_TASK_TIMES"], "w", encoding="utf-8") as handle:
            json.dump(self.times, handle)
