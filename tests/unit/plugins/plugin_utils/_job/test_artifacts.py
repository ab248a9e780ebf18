# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A job's record on the controller: the events file and the artifact directory."""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.artifacts import (
    CANCELED,
    FAILED,
    RUNNING,
    SUCCESSFUL,
    JobRecord,
    write_events,
)


def test_the_events_file_is_replaced_whole_and_private(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("old\n")
    write_events(str(path), [{"counter": 1}, {"counter": 2}])
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"counter": 1}, {"counter": 2}]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path) == ["events.jsonl"]


def test_an_open_events_file_or_a_link_in_its_place_is_replaced_never_written_through(tmp_path):
    open_file = tmp_path / "open.jsonl"
    open_file.write_text("old\n")
    os.chmod(open_file, 0o666)
    write_events(str(open_file), [{"counter": 1}])
    assert stat.S_IMODE(os.stat(open_file).st_mode) == 0o600
    target = tmp_path / "target.txt"
    target.write_text("keep me\n")
    (tmp_path / "linked.jsonl").symlink_to(target)
    write_events(str(tmp_path / "linked.jsonl"), [{"counter": 1}])
    assert target.read_text() == "keep me\n" and not os.path.islink(tmp_path / "linked.jsonl")
    # The old temporary name (PATH.tmp-PID) was predictable: a link there was written through.
    trap = tmp_path / f"open.jsonl.tmp-{os.getpid()}"
    trap.symlink_to(target)
    write_events(str(open_file), [{"counter": 2}])
    assert target.read_text() == "keep me\n"


def _events() -> list[dict]:
    return [
        {"counter": 1, "uuid": "u1", "event": "playbook_on_start", "stdout": "", "start_line": 0, "end_line": 0,
         "runner_ident": "j1", "event_data": {}},
        {"counter": 2, "uuid": "u2", "event": "runner_on_ok", "stdout": "ok: [web1]", "start_line": 0, "end_line": 1,
         "runner_ident": "j1", "event_data": {"host": "web1"}},
    ]


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_record_is_ansible_runners_layout_private_and_says_running_until_the_end(tmp_path):
    record = JobRecord(str(tmp_path / "artifacts"), "j1")
    record.open()
    job = tmp_path / "artifacts" / "j1"
    assert (job / "status").read_text() == RUNNING and not (job / "rc").exists()
    record.command(["ansible-playbook", "-e", "@/tmp/cg-job/secrets/extra_vars.json", "site.yml"], "/tmp/cg-job/project")
    assert json.loads((job / "command").read_text()) == {
        "command": ["ansible-playbook", "-e", "@/tmp/cg-job/secrets/extra_vars.json", "site.yml"], "cwd": "/tmp/cg-job/project"}
    record.line("ok: [web1]")
    assert (job / "stdout").read_text() == "ok: [web1]\n", "written as it comes"
    record.finish(_events(), SUCCESSFUL, 0)
    assert sorted(os.listdir(job / "job_events")) == ["1-u1.json", "2-u2.json"]
    assert json.loads((job / "job_events" / "2-u2.json").read_text())["stdout"] == "ok: [web1]"
    assert (job / "status").read_text() == SUCCESSFUL and (job / "rc").read_text() == "0"
    assert _mode(job) == 0o700 and _mode(job / "job_events") == 0o700
    assert {_mode(job / name) for name in ("stdout", "command", "status", "rc", "job_events/1-u1.json")} == {0o600}
    assert not [name for name in os.listdir(job) if name.startswith(".")], "no temporary file is left"


def test_output_after_the_last_event_is_a_verbose_event(tmp_path):
    record = JobRecord(str(tmp_path), "j1")
    record.open()
    for line in ("ok: [web1]", "[WARNING]: at exit", "bye"):
        record.line(line)
    record.finish(_events(), FAILED, 2)
    names = sorted(os.listdir(tmp_path / "j1" / "job_events"), key=lambda name: int(name.split("-")[0]))
    trailing = json.loads((tmp_path / "j1" / "job_events" / names[-1]).read_text())
    assert names[-1].startswith("3-") and trailing["event"] == "verbose"
    assert (trailing["stdout"], trailing["start_line"], trailing["end_line"]) == ("[WARNING]: at exit\nbye", 1, 3)


def test_a_canceled_run_says_so_with_ansible_runners_rc_and_a_job_whose_playbook_never_ran_has_no_rc(tmp_path):
    record = JobRecord(str(tmp_path), "j1")
    record.open()
    record.finish([], CANCELED, None)
    assert (tmp_path / "j1" / "status").read_text() == CANCELED and (tmp_path / "j1" / "rc").read_text() == "254"
    record = JobRecord(str(tmp_path), "j2")
    record.open()
    record.finish([], FAILED, None)
    assert (tmp_path / "j2" / "status").read_text() == FAILED and not (tmp_path / "j2" / "rc").exists()
    assert not (tmp_path / "j2" / "command").exists()


def test_a_job_that_keeps_facts_records_each_hosts_facts_from_its_events_as_plain_json(tmp_path):
    events = [
        {"counter": 1, "uuid": "u1", "event": "runner_on_ok", "event_data": {"host": "web1", "res": {
            "ansible_facts": {"ansible_hostname": "web1", "ansible_os_family": "Debian"}}}},
        {"counter": 2, "uuid": "u2", "event": "runner_on_ok", "event_data": {"host": "web1", "res": {
            "ansible_facts": {"release": "1.4"}}}},
        {"counter": 3, "uuid": "u3", "event": "runner_on_ok", "event_data": {"host": "web2", "res": {"changed": False}}},
    ]
    record = JobRecord(str(tmp_path), "j1", facts=True)
    record.open()
    record.finish(events, SUCCESSFUL, 0)
    assert os.listdir(tmp_path / "j1" / "fact_cache") == ["web1"]
    assert json.loads((tmp_path / "j1" / "fact_cache" / "web1").read_text()) == {
        "ansible_hostname": "web1", "ansible_os_family": "Debian", "release": "1.4"}
    record = JobRecord(str(tmp_path), "j2")
    record.open()
    record.finish(events, SUCCESSFUL, 0)
    assert not (tmp_path / "j2" / "fact_cache").exists(), "only a job that keeps facts records them"
