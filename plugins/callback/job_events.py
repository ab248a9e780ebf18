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
    (UTC, ISO 8601), C(parent_uuid) (a host's event -> its task, a task -> its play, a play ->
    the playbook), C(runner_ident) (the O(ident) option), C(pid), C(verbosity) and C(event_data)
    (C(playbook), C(playbook_uuid), C(play), C(play_uuid), C(play_pattern), C(task),
    C(task_uuid), C(task_action), C(task_path), C(role), C(event_loop), C(host), C(remote_addr),
    C(res), C(start), C(end), C(duration), as they apply; a play's start also its C(name),
    C(pattern) and C(uuid)). Results are those callbacks get, so a C(no_log) task's result is
    already censored by Ansible; keys Ansible keeps for itself (C(_ansible_*)) are left out, and
    so is a host's environment (C(ansible_env)) in the facts gathering's results, as
    ansible-runner does.
  - With O(output) set, each event also carries C(stdout), the text the run printed for it (what
    was written to O(output) since the event before), and C(start_line) and C(end_line), its
    place in that file (0-based, the end excluded). What was printed before the playbook
    started is a C(verbose) event.
  - C(playbook_on_stats) carries the per-host counters under C(ok), C(changed), C(dark)
    (unreachable), C(failures), C(skipped), C(rescued), C(ignored) and C(processed), as
    ansible-runner names them, and C(artifact_data), what C(ansible.builtin.set_stats) set for
    the whole run.
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
  output:
    description:
      - The file the run's stdout goes to (as C(ansible-playbook > FILE) makes it), read to give
        each event its C(stdout). Without it, events carry no C(stdout).
    type: path
    env:
      - name: ANSIBLE_JOB_EVENTS_OUTPUT
    ini:
      - section: callback_job_events
        key: output
  ident:
    description: The C(runner_ident) of every event, the job's id.
    type: str
    default: ""
    env:
      - name: ANSIBLE_JOB_EVENTS_IDENT
    ini:
      - section: callback_job_events
        key: ident
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
import sys
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


#: The actions whose facts hold the host's environment (left out of the events).
_FACT_ACTIONS = ("setup", "gather_facts", "ansible.builtin.setup", "ansible.builtin.gather_facts")


def _clean(res: t.Any) -> dict:
    return {key: value for key, value in dict(res).items() if not str(key).startswith("_ansible_")}


class _PrintedSince:
    """The whole lines the run printed to its output file since the last read, and where they
    are, in lines.

    The stdout callback prints an event before the other callbacks get it, so what was
    printed since the event before is this event's text. A line not ended yet waits for the
    next read.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._offset = 0
        self._lines = 0

    def read(self) -> tuple[str, int, int]:
        """(the lines, the first one's number, the number after the last), counted from 0."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        try:
            with open(self._path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except OSError:
            data = b""
        data = data[:data.rfind(b"\n") + 1]
        self._offset += len(data)
        start = self._lines
        self._lines += data.count(b"\n")
        # As ansible-runner gives it: the lines without the newline that ends the last.
        return data[:-1].decode("utf-8", errors="replace"), start, self._lines


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
        self._output: _PrintedSince | None = None
        self._ident = ""
        self._counter = 0
        self._common: dict[str, t.Any] = {}
        self._task_started: dict[tuple[str, str], tuple[float, str]] = {}

    def set_options(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().set_options(*args, **kwargs)
        path = self.get_option("path")
        if path:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._file = os.fdopen(descriptor, "a", encoding="utf-8")
        output = self.get_option("output")
        if output and os.path.isfile(output):
            self._output = _PrintedSince(output)
        self._ident = self.get_option("ident") or ""

    def _event(self, event_name: str, event_uuid: str | None = None, parent_uuid: str = "", **data: t.Any) -> None:
        if self._file is None:
            return
        record: dict[str, t.Any] = {"runner_ident": self._ident, "pid": os.getpid(),
                                    "verbosity": getattr(self._display, "verbosity", 0)}
        if self._output is not None:
            stdout, start_line, end_line = self._output.read()
            if event_name == "playbook_on_start" and stdout:
                # What came before the playbook (-v's "Using ... as config file") is no part of it.
                self._write(dict(record, event="verbose", uuid=str(uuid.uuid4()), parent_uuid="", stdout=stdout,
                                 start_line=start_line, end_line=end_line, event_data={}))
                stdout, start_line = "", end_line
            record.update(stdout=stdout, start_line=start_line, end_line=end_line)
        event_data = dict(self._common)
        event_data.update(data)
        record.update(event=event_name, uuid=event_uuid or str(uuid.uuid4()), parent_uuid=parent_uuid, event_data=event_data)
        self._write(record)

    def _write(self, record: dict[str, t.Any]) -> None:
        if self._file is None:
            return
        self._counter += 1
        record.update(counter=self._counter, created=_now())
        self._file.write(json.dumps(record, default=str, sort_keys=True) + "\n")
        self._file.flush()

    def _task_data(self, task: t.Any) -> dict:
        role = getattr(task, "_role", None)
        return {"task": task.get_name().strip(), "task_uuid": str(task._uuid), "task_action": task.action,
                "task_path": task.get_path() or "", "role": role.get_name() if role else "",
                "event_loop": getattr(task, "loop_with", None)}

    def _host_event(self, name: str, result: t.Any, **extra: t.Any) -> None:
        task, host = _part(result, "task"), _part(result, "host")
        data = self._task_data(task)
        started = self._task_started.get((str(task._uuid), host.get_name()))
        ended = time.time()
        res = _clean(_part(result, "result"))
        if task.action in _FACT_ACTIONS and isinstance(res.get("ansible_facts"), dict):
            # As ansible-runner: the environment of a host is no part of its events.
            res["ansible_facts"] = {key: value for key, value in res["ansible_facts"].items() if key != "ansible_env"}
        data.update(host=host.get_name(), remote_addr=getattr(host, "address", None), res=res, end=_now(), **extra)
        if started is not None:
            data.update(start=started[1], duration=round(ended - started[0], 3))
        self._event(name, parent_uuid=str(task._uuid), **data)

    # -- the playbook, its plays and tasks: each event's uuid is its object's, the parent of
    # -- what happens within it, as ansible-runner gives them ------------------------------

    def v2_playbook_on_start(self, playbook: t.Any) -> None:
        self._common = {"playbook": os.path.basename(playbook._file_name), "playbook_uuid": str(uuid.uuid4())}
        self._event("playbook_on_start", event_uuid=self._common["playbook_uuid"])

    def v2_playbook_on_play_start(self, play: t.Any) -> None:
        pattern = ",".join(play.hosts) if isinstance(play.hosts, list) else str(play.hosts)
        self._common.update(play=play.get_name().strip(), play_uuid=str(play._uuid), play_pattern=pattern)
        # name, pattern and uuid: the play's own fields, which ansible-navigator's play view reads.
        self._event("playbook_on_play_start", event_uuid=self._common["play_uuid"],
                    parent_uuid=self._common["playbook_uuid"], name=self._common["play"] or pattern, pattern=pattern,
                    uuid=self._common["play_uuid"])

    def v2_playbook_on_no_hosts_matched(self) -> None:
        self._event("playbook_on_no_hosts_matched", parent_uuid=self._common.get("play_uuid", ""))

    def v2_playbook_on_task_start(self, task: t.Any, is_conditional: bool) -> None:
        self._event("playbook_on_task_start", event_uuid=str(task._uuid), parent_uuid=self._common.get("play_uuid", ""),
                    is_conditional=is_conditional, **self._task_data(task))

    def v2_playbook_on_handler_task_start(self, task: t.Any) -> None:
        self._event("playbook_on_handler_task_start", event_uuid=str(task._uuid),
                    parent_uuid=self._common.get("play_uuid", ""), **self._task_data(task))

    def v2_runner_on_start(self, host: t.Any, task: t.Any) -> None:
        self._task_started[(str(task._uuid), host.get_name())] = (time.time(), _now())
        self._event("runner_on_start", parent_uuid=str(task._uuid), host=host.get_name(), **self._task_data(task))

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
        names = ("ok", "changed", "dark", "failures", "skipped", "rescued", "ignored", "processed")
        counters: dict[str, t.Any] = {name: dict(getattr(stats, name, {}) or {}) for name in names}
        # set_stats for the whole run (per_host: false) lands under "_run", as ansible-runner reads it.
        custom = getattr(stats, "custom", None) or {}
        self._event("playbook_on_stats", parent_uuid=self._common.get("playbook_uuid", ""),
                    artifact_data=dict(custom.get("_run") or {}), **counters)
        if self._file is not None:
            self._file.close()
            self._file = None
