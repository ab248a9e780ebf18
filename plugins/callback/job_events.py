# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# This file imports ansible-core only: container_group_job copies it into the job's Pod and
# enables it there by path, so it runs with whatever ansible-core the image has.

from __future__ import annotations

DOCUMENTATION = r"""
name: job_events
type: notification
short_description: Writes a playbook's job events to a file, one JSON object per line
description:
  - Writes the events of a playbook run to a file as they happen, one JSON object per line,
    in the form ansible-runner (and so AWX) gives them. M(ephemeral.container_groups.container_group_job)
    enables it inside the job's Pod and hands the events back to the controller.
  - The events are C(playbook_on_start), C(playbook_on_play_start), C(playbook_on_task_start),
    C(playbook_on_handler_task_start), C(playbook_on_no_hosts_matched), C(runner_on_start),
    C(runner_on_ok), C(runner_on_failed), C(runner_on_unreachable), C(runner_on_skipped),
    C(runner_item_on_ok), C(runner_item_on_failed), C(runner_item_on_skipped),
    C(runner_retry) and C(playbook_on_stats).
  - Each carries C(uuid), C(counter) (1, 2, ... in the order written), C(event), C(created)
    (UTC, ISO 8601) and C(event_data) (C(playbook), C(play), C(play_uuid), C(task),
    C(task_uuid), C(task_action), C(task_path), C(role), C(host), C(res), C(start), C(end),
    C(duration), as they apply). Results are those callbacks get, so a C(no_log) task's result is
    already censored by Ansible; keys Ansible keeps for itself (C(_ansible_*)) are left out.
  - C(playbook_on_stats) carries the per-host counters under C(ok), C(changed), C(dark)
    (unreachable), C(failures), C(skipped), C(rescued), C(ignored) and C(processed), as
    ansible-runner names them.
version_added: 0.1.0
requirements:
  - enable in configuration (C(callbacks_enabled)) when used from the collection
options:
  path:
    description: File the events are appended to. Nothing is written when unset.
    type: path
    env:
      - name: ANSIBLE_JOB_EVENTS_PATH
    ini:
      - section: callback_job_events
        key: path
"""

EXAMPLES = r"""
# ansible.cfg
# [defaults]
# callbacks_enabled = ephemeral.container_groups.job_events
# [callback_job_events]
# path = /tmp/events.jsonl
"""

import datetime
import json
import os
import time
import typing as t
import uuid

from ansible.plugins.callback import CallbackBase


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _part(result: t.Any, name: str) -> t.Any:
    # ansible-core 2.19 added public host/task/result; older cores only have the _ names.
    value = getattr(result, name, None)
    return value if value is not None else getattr(result, "_" + name)


def _clean(res: t.Any) -> dict:
    return {key: value for key, value in dict(res).items() if not str(key).startswith("_ansible_")}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "ephemeral.container_groups.job_events"
    # Found in a callback path (as the job puts it), it loads without enabling, leaving the
    # project's callbacks_enabled alone; as a collection plugin it still needs enabling.
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._file: t.TextIO | None = None
        self._counter = 0
        self._common: dict[str, t.Any] = {}
        self._task_started: dict[tuple[str, str], tuple[float, str]] = {}

    def set_options(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().set_options(*args, **kwargs)
        path = self.get_option("path")
        if path:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._file = os.fdopen(descriptor, "a", encoding="utf-8")

    def _event(self, name: str, **data: t.Any) -> None:
        if self._file is None:
            return
        self._counter += 1
        event_data = dict(self._common)
        event_data.update(data)
        record = {"uuid": str(uuid.uuid4()), "counter": self._counter, "event": name, "created": _now(),
                  "event_data": event_data}
        self._file.write(json.dumps(record, default=str, sort_keys=True) + "\n")
        self._file.flush()

    def _task_data(self, task: t.Any) -> dict:
        role = getattr(task, "_role", None)
        return {"task": task.get_name().strip(), "task_uuid": str(task._uuid), "task_action": task.action,
                "task_path": task.get_path() or "", "role": role.get_name() if role else ""}

    def _host_event(self, name: str, result: t.Any, **extra: t.Any) -> None:
        task, host = _part(result, "task"), _part(result, "host")
        data = self._task_data(task)
        started = self._task_started.get((str(task._uuid), host.get_name()))
        ended = time.time()
        data.update(host=host.get_name(), res=_clean(_part(result, "result")), end=_now(), **extra)
        if started is not None:
            data.update(start=started[1], duration=round(ended - started[0], 3))
        self._event(name, **data)

    # -- the playbook, its plays and tasks --------------------------------------------------

    def v2_playbook_on_start(self, playbook: t.Any) -> None:
        self._common = {"playbook": os.path.basename(playbook._file_name), "playbook_uuid": str(uuid.uuid4())}
        self._event("playbook_on_start")

    def v2_playbook_on_play_start(self, play: t.Any) -> None:
        self._common.update(play=play.get_name().strip(), play_uuid=str(play._uuid),
                            play_pattern=", ".join(play.hosts) if isinstance(play.hosts, list) else str(play.hosts))
        self._event("playbook_on_play_start")

    def v2_playbook_on_no_hosts_matched(self) -> None:
        self._event("playbook_on_no_hosts_matched")

    def v2_playbook_on_task_start(self, task: t.Any, is_conditional: bool) -> None:
        self._event("playbook_on_task_start", is_conditional=is_conditional, **self._task_data(task))

    def v2_playbook_on_handler_task_start(self, task: t.Any) -> None:
        self._event("playbook_on_handler_task_start", **self._task_data(task))

    def v2_runner_on_start(self, host: t.Any, task: t.Any) -> None:
        self._task_started[(str(task._uuid), host.get_name())] = (time.time(), _now())
        self._event("runner_on_start", host=host.get_name(), **self._task_data(task))

    # -- results ----------------------------------------------------------------------------

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._host_event("runner_on_ok", result)

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._host_event("runner_on_failed", result, ignore_errors=bool(ignore_errors))

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        self._host_event("runner_on_unreachable", result)

    def v2_runner_on_skipped(self, result: t.Any) -> None:
        self._host_event("runner_on_skipped", result)

    def v2_runner_item_on_ok(self, result: t.Any) -> None:
        self._host_event("runner_item_on_ok", result)

    def v2_runner_item_on_failed(self, result: t.Any) -> None:
        self._host_event("runner_item_on_failed", result)

    def v2_runner_item_on_skipped(self, result: t.Any) -> None:
        self._host_event("runner_item_on_skipped", result)

    def v2_runner_retry(self, result: t.Any) -> None:
        self._host_event("runner_retry", result)

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        counters = {name: dict(getattr(stats, name, {}) or {})
                    for name in ("ok", "changed", "dark", "failures", "skipped", "rescued", "ignored", "processed")}
        self._event("playbook_on_stats", **counters)
        if self._file is not None:
            self._file.close()
            self._file = None
