# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job_events callback in a real ansible-playbook run, started by the job's runner as in
a Pod: the events, their parents, their output lines and the set_stats artifacts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import ansible
import pytest

from ansible_collections.ephemeral.container_groups.plugins.callback import job_events
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod import runner as _runner

PLAYBOOK = """\
- name: A play
  hosts: all
  gather_facts: false
  tasks:
    - name: Say hello
      ansible.builtin.debug:
        msg: hello
    - name: Hand on an artifact
      ansible.builtin.set_stats:
        data: {release: "1.4"}
      run_once: true
    - name: Loop
      ansible.builtin.debug:
        msg: "item {{ item }}"
      loop: [1, 2]
    - name: Gather the environment
      ansible.builtin.setup:
        gather_subset: ["!all", "env"]
"""


@pytest.fixture(scope="module", name="run")
def _run(tmp_path_factory):
    """One run at -v of PLAYBOOK on two local hosts: (its events, its output)."""
    job = tmp_path_factory.mktemp("job")
    project = job / "project"
    project.mkdir()
    (project / "site.yml").write_text(PLAYBOOK)
    (project / "hosts").write_text("a ansible_connection=local\nb ansible_connection=local\n")
    (job / _runner.CALLBACK_PLUGINS).mkdir(parents=True)
    shutil.copy(job_events.__file__, job / _runner.CALLBACK_PLUGINS / "job_events.py")
    env = dict(os.environ, ANSIBLE_JOB_EVENTS_IDENT="job-1", ANSIBLE_NOCOLOR="1", PYTHONUNBUFFERED="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCAL_TEMP=str(job / "tmp"))
    # ansible-playbook of the ansible-core under test (ansible-test may hide its entry points).
    playbook_cli = os.path.join(os.path.dirname(ansible.__file__), "cli", "playbook.py")
    argv = [sys.executable, _runner.__file__, _runner.START, str(job), "60",
            sys.executable, playbook_cli, "-v", "-i", "hosts", "site.yml"]
    subprocess.run(argv, cwd=project, env=env, check=True, capture_output=True, timeout=30)
    deadline = time.monotonic() + 60
    while not (job / _runner.STATUS).exists():
        assert time.monotonic() < deadline, "the playbook did not end"
        time.sleep(0.1)
    assert json.loads((job / _runner.STATUS).read_text())["rc"] == 0, (job / _runner.OUTPUT).read_text()
    events = [json.loads(line) for line in (job / _runner.EVENTS).read_text().splitlines()]
    return events, (job / _runner.OUTPUT).read_text()


def test_counters_run_from_one_and_every_event_says_its_job_and_process(run):
    events, dummy_output = run
    assert [event["counter"] for event in events] == list(range(1, len(events) + 1))
    assert {event["runner_ident"] for event in events} == {"job-1"}
    assert len({event["pid"] for event in events}) == 1 and {event["verbosity"] for event in events} == {1}


def test_each_event_has_its_parent(run):
    events, dummy_output = run
    by_uuid = {event["uuid"]: event for event in events}
    names = [event["event"] for event in events]
    assert names[:3] == ["verbose", "playbook_on_start", "playbook_on_play_start"] and names[-1] == "playbook_on_stats"
    parents = {"playbook_on_play_start": "playbook_on_start", "playbook_on_task_start": "playbook_on_play_start",
               "runner_on_start": "playbook_on_task_start", "runner_on_ok": "playbook_on_task_start",
               "runner_item_on_ok": "playbook_on_task_start", "playbook_on_stats": "playbook_on_start"}
    for event in events:
        if event["event"] in parents:
            assert by_uuid[event["parent_uuid"]]["event"] == parents[event["event"]], event
    hosts = {event["event_data"]["host"] for event in events if event["event"] == "runner_on_ok"}
    assert hosts == {"a", "b"}


def test_the_events_output_is_the_runs_output_line_by_line(run):
    events, output = run
    lines = output.splitlines()
    assert "\n".join(event["stdout"] for event in events if event["stdout"] or event["end_line"] > event["start_line"]) \
        == "\n".join(lines)
    for event in events:
        assert event["stdout"].split("\n") == lines[event["start_line"]:event["end_line"]] or \
            (event["stdout"] == "" and event["start_line"] == event["end_line"]), event
    hello = next(event for event in events if event["event"] == "runner_on_ok" and event["event_data"]["task"] == "Say hello")
    assert '"msg": "hello"' in hello["stdout"] and hello["stdout"].startswith("ok: [")
    assert next(e for e in events if e["event"] == "verbose")["stdout"].startswith("Using ") or "config file" in output
    stats = events[-1]
    assert "PLAY RECAP" in stats["stdout"]


def test_set_stats_for_the_run_is_the_stats_events_artifact_data(run):
    events, dummy_output = run
    stats = events[-1]["event_data"]
    assert stats["artifact_data"] == {"release": "1.4"}
    assert stats["ok"] == {"a": 4, "b": 3} and stats["processed"] == {"a": 1, "b": 1}


def test_plays_carry_their_own_fields_and_results_their_host_address_but_no_environment(run):
    events, dummy_output = run
    play = next(event for event in events if event["event"] == "playbook_on_play_start")["event_data"]
    assert (play["name"], play["pattern"], play["uuid"]) == ("A play", "all", play["play_uuid"])
    gathered = [event for event in events if event["event"] == "runner_on_ok"
                and event["event_data"]["task"] == "Gather the environment"]
    assert len(gathered) == 2 and all(event["event_data"]["remote_addr"] in ("a", "b") for event in gathered)
    assert not [event for event in gathered if "ansible_env" in event["event_data"]["res"]["ansible_facts"]], \
        "a host's environment is no part of the events, as with ansible-runner"
