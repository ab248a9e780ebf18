# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The job as ansible-navigator's playbook artifact, for ``ansible-navigator replay FILE``.

The artifact is one JSON object: ``version``, ``status`` and ``status_color``, ``stdout``
(the output's lines, which ``--mode stdout`` prints) and ``plays``, each play's start event
with its ``tasks`` (one per task and host, with the ``__``-prefixed fields the navigator's
play and task views show) and its counters. It is built from the job's events (masked), as
the navigator builds it from ansible-runner's.
"""

from __future__ import annotations

import json
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.artifacts import replace_file
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.events import as_mapping

#: The artifact format the navigator replays (it takes 1.y.z and 2.y.z).
VERSION = "2.0.0"
#: The curses colours of the navigator's status line: green for success, red otherwise.
_STATUS_COLOR = {"successful": 10}
_FAILED_COLOR = 9
_RESULTS = ("ok", "failed", "skipped", "unreachable")


def playbook_artifact(events: t.Sequence[dict], status: str) -> dict[str, t.Any]:
    """The artifact of a job that ended with status (successful, failed, timeout, canceled)."""
    plays: list[dict[str, t.Any]] = []
    task_names: dict[str, str] = {}
    stdout: list[str] = []
    for event in events:
        if isinstance(event.get("stdout"), str) and _lines(event):
            stdout += event["stdout"].split("\n")
        data = as_mapping(event.get("event_data"))
        name = event.get("event")
        if name == "playbook_on_play_start":
            plays.append(dict(data, __play_name=data.get("name") or data.get("play", ""),
                              uuid=data.get("play_uuid", ""), tasks=[]))
        elif name == "playbook_on_task_start":
            task_names[str(data.get("task_uuid"))] = str(data.get("task", ""))
        elif isinstance(name, str) and name.startswith("runner_on_"):
            play = next((play for play in plays if play["uuid"] == data.get("play_uuid")), None)
            if play is not None:
                _task_event(play, name[len("runner_on_"):], data, task_names)
    for play in plays:
        _count(play)
    return {"version": VERSION, "status": status, "status_color": _STATUS_COLOR.get(status, _FAILED_COLOR),
            "stdout": stdout, "plays": plays}


def write_playbook_artifact(path: str, events: t.Sequence[dict], status: str) -> None:
    """Write the artifact to path whole (0600)."""
    replace_file(path, [json.dumps(playbook_artifact(events, status), sort_keys=True).encode("utf-8")])


def _lines(event: dict) -> int:
    start, end = event.get("start_line"), event.get("end_line")
    return end - start if isinstance(start, int) and isinstance(end, int) else 0


def _task_event(play: dict[str, t.Any], result: str, data: dict[str, t.Any], task_names: dict[str, str]) -> None:
    """A host's task starting (a new row of the play) or ending (its row updated)."""
    key = (data.get("task_uuid"), data.get("host"))
    if result == "start":
        play["tasks"].append(dict(data, __changed="unknown", __duration="Pending", __host=data.get("host", ""),
                                  __number=len(play["tasks"]), __result="In progress",
                                  __task_action=data.get("task_action", ""),
                                  __task=task_names.get(str(data.get("task_uuid")), data.get("task", ""))))
        return
    if result not in _RESULTS:
        return
    task = next((task for task in play["tasks"] if (task.get("task_uuid"), task.get("host")) == key), None)
    if task is None:
        return
    duration = data.get("duration")
    task.update(data, __changed=bool(as_mapping(data.get("res")).get("changed", False)),
                __duration=_human_time(duration if isinstance(duration, (int, float)) else 0),
                __result="Ignored" if result == "failed" and data.get("ignore_errors") else result.capitalize())


def _count(play: dict[str, t.Any]) -> None:
    """The play's counters, as the navigator's play view shows them."""
    tasks = play["tasks"]
    for result in (*_RESULTS, "ignored", "in progress"):
        play[f"__{result}"] = sum(1 for task in tasks if task["__result"].lower() == result)
    play["__changed"] = sum(1 for task in tasks if task["__changed"] is True)
    play["__task_count"] = len(tasks)
    done = len(tasks) - play["__in progress"]
    percent = done * 100 // len(tasks) if tasks else 0
    play["__percent_complete"] = percent
    play["__progress"] = f"{percent}%"


def _human_time(seconds: float) -> str:
    """1d2h3m4s, 3m4s or 4s, as the navigator shows durations."""
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m")]
    while parts and parts[0][0] == 0:
        parts.pop(0)
    return "".join(f"{value}{unit}" for value, unit in parts) + f"{seconds}s"
