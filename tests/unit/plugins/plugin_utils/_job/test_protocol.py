# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The protocol between the controller and the runner in the Pod, spelled once (in the runner):
the controller's commands, paths and readers agree with what the runner does."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import JOB_DIR, SECRETS_DIR
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import (
    META_DIR,
    RUNNER,
    follow_argv,
    in_pod_source,
    start_argv,
    stop_argv,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job import follow as _follow
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.follow import _Trailer
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod import runner
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import JobSpec
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import JobSecrets
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.stop import STOPPED_SAID


def test_the_pod_spec_mounts_the_secrets_where_the_runner_reads_them():
    # module_utils cannot import plugin_utils, so the Pod spec spells the directory; it must agree.
    assert SECRETS_DIR == f"{JOB_DIR}/{runner.SECRETS}"
    assert RUNNER == f"{JOB_DIR}/{runner.RUNNER}" and META_DIR == f"{JOB_DIR}/{runner.META}"


def test_the_commands_the_controller_sends_are_the_runners():
    spec = JobSpec(group_name="g", playbook="site.yml", project_dir="/p", extra_vars={}, limit=None, tags=None,
                   forks=5, verbosity=0, job_timeout=60, pending_timeout=5, reconnect_timeout=5)
    assert f"{RUNNER} {runner.START} {JOB_DIR} " in start_argv(spec, JobSecrets())[2]
    assert follow_argv(7)[1:4] == [RUNNER, runner.FOLLOW, JOB_DIR]
    assert stop_argv(3)[1:4] == [RUNNER, runner.STOP, JOB_DIR]


def test_the_runner_copied_into_the_pod_is_this_one():
    with open(runner.__file__, "rb") as handle:
        assert in_pod_source("runner.py") == handle.read()


def test_every_stop_answer_has_words_on_the_controller():
    assert set(STOPPED_SAID) == {runner.STOPPED, runner.KILLED, runner.STILL_RUNNING, runner.NOT_RUNNING}


def test_what_the_runner_follows_with_the_controller_reads(tmp_path):
    job = tmp_path
    (job / runner.OUTPUT).write_bytes(b"hello\nworld\n")
    (job / runner.EVENTS).write_text('{"counter": 1}\n{"counter": 2}\n{"counter": 3, "cut sh')
    (job / runner.STATUS).write_text(json.dumps({"rc": 4, "timed_out": True}))
    followed = subprocess.run([sys.executable, runner.__file__, runner.FOLLOW, str(job), "6"], capture_output=True,
                              timeout=30, check=True)
    assert followed.stdout == b"world\n"
    trailer = _Trailer()
    for byte in range(len(followed.stderr)):  # in the smallest pieces a stream can bring
        trailer.feed(followed.stderr[byte:byte + 1])
    assert (trailer.size, trailer.rc, trailer.timed_out, trailer.lost) == (12, 4, True, False)
    assert [json.loads(event) for event in trailer.events] == [{"counter": 1}, {"counter": 2}]
    assert not trailer.other


def test_a_supervisor_that_died_reads_as_lost(tmp_path):
    (tmp_path / runner.OUTPUT).write_bytes(b"partial")
    (tmp_path / runner._SUPERVISOR).write_text("999999999")  # no such process, and no status
    followed = subprocess.run([sys.executable, runner.__file__, runner.FOLLOW, str(tmp_path), "0"], capture_output=True,
                              timeout=30, check=True)
    trailer = _Trailer()
    trailer.feed(followed.stderr)
    assert trailer.lost and trailer.size == len(b"partial")
    assert not os.path.exists(tmp_path / runner.STATUS)


def test_a_job_event_longer_than_the_cap_is_left_out_and_counted(monkeypatch):
    monkeypatch.setattr(_follow, "MAX_EVENT_BYTES", 64)
    trailer = _Trailer()
    big = runner.EVENT_LINE.encode() + b' {"counter": 1, "stdout": "' + b"x" * 100 + b'"}\n'
    small = runner.EVENT_LINE.encode() + b' {"counter": 2}\n'
    trailer.feed(big[:50] + big[50:] + small + runner.DONE_LINE.encode() + b" 0 0 0 0 0 -\n")
    assert [json.loads(event) for event in trailer.events] == [{"counter": 2}]
    assert trailer.left_out == [len(big) - 1] and trailer.rc == 0
