# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job as ansible-navigator's playbook artifact."""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.playbook_artifact import (
    playbook_artifact,
    write_playbook_artifact,
)

PLAY = {"play": "Configure", "play_uuid": "p1", "name": "Configure", "pattern": "web", "uuid": "p1"}


def _events() -> list[dict]:
    task = dict(PLAY, task="Install", task_uuid="t1", task_action="ansible.builtin.package")
    return [
        {"event": "verbose", "stdout": "Using /etc/ansible.cfg", "start_line": 0, "end_line": 1, "event_data": {}},
        {"event": "playbook_on_start", "stdout": "", "start_line": 1, "end_line": 1, "event_data": {}},
        {"event": "playbook_on_play_start", "stdout": "\nPLAY [Configure] ***", "start_line": 1, "end_line": 3,
         "event_data": PLAY},
        {"event": "playbook_on_task_start", "stdout": "\nTASK [Install] ***", "start_line": 3, "end_line": 5,
         "event_data": task},
        {"event": "runner_on_start", "event_data": dict(task, host="web1")},
        {"event": "runner_on_start", "event_data": dict(task, host="web2")},
        {"event": "runner_on_start", "event_data": dict(task, host="web3")},
        {"event": "runner_on_ok", "stdout": "changed: [web1]", "start_line": 5, "end_line": 6,
         "event_data": dict(task, host="web1", duration=75.4, res={"changed": True})},
        {"event": "runner_on_failed", "stdout": "fatal: [web2]: FAILED!", "start_line": 6, "end_line": 7,
         "event_data": dict(task, host="web2", duration=1, ignore_errors=True, res={"msg": "no"})},
        {"event": "playbook_on_stats", "stdout": "\nPLAY RECAP ***\nweb1 : ok=1", "start_line": 7, "end_line": 10,
         "event_data": {}},
    ]


def test_the_artifact_holds_the_output_and_each_play_with_a_row_per_task_and_host():
    artifact = playbook_artifact(_events(), "failed")
    assert (artifact["version"], artifact["status"], artifact["status_color"]) == ("2.0.0", "failed", 9)
    assert artifact["stdout"] == ["Using /etc/ansible.cfg", "", "PLAY [Configure] ***", "", "TASK [Install] ***",
                                  "changed: [web1]", "fatal: [web2]: FAILED!", "", "PLAY RECAP ***", "web1 : ok=1"]
    (play,) = artifact["plays"]
    assert (play["__play_name"], play["uuid"]) == ("Configure", "p1")
    rows = {task["__host"]: task for task in play["tasks"]}
    assert (rows["web1"]["__result"], rows["web1"]["__changed"], rows["web1"]["__duration"]) == ("Ok", True, "1m15s")
    assert (rows["web2"]["__result"], rows["web2"]["__duration"]) == ("Ignored", "1s")
    assert (rows["web3"]["__result"], rows["web3"]["__duration"]) == ("In progress", "Pending")
    assert [task["__number"] for task in play["tasks"]] == [0, 1, 2]
    assert (play["__ok"], play["__ignored"], play["__in progress"], play["__changed"], play["__task_count"]) == (1, 1, 1, 1, 3)
    assert (play["__percent_complete"], play["__progress"]) == (66, "66%")


def test_a_successful_job_is_green_and_a_job_without_events_is_empty(tmp_path):
    assert playbook_artifact([], "successful") == {"version": "2.0.0", "status": "successful", "status_color": 10,
                                                   "stdout": [], "plays": []}
    path = tmp_path / "site-artifact.json"
    write_playbook_artifact(str(path), _events(), "successful")
    assert json.loads(path.read_text())["plays"][0]["__play_name"] == "Configure"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
