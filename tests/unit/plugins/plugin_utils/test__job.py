# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of the job lifecycle: start problems, the command, the tar stream, output."""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job import (
    JobSpec,
    _LineSplitter,
    owner_id,
    owner_is_alive,
    playbook_argv,
    project_tar_stream,
    recap_of,
    waiting_problem,
)


def _pod(phase="Pending", conditions=None, statuses=None):
    return {
        "spec": {"containers": [{"name": "worker", "image": "my/ee:1"}]},
        "status": {"phase": phase, "conditions": conditions or [], "containerStatuses": statuses or []},
    }


def _waiting(reason, message=""):
    return [{"name": "worker", "image": "my/ee:1", "state": {"waiting": {"reason": reason, "message": message}}}]


@pytest.mark.parametrize(
    "pod, expected",
    [
        (_pod(), None),
        (_pod(statuses=_waiting("ContainerCreating")), None),
        (_pod(statuses=_waiting("ErrImagePull", "pull access denied")),
         "ErrImagePull for image my/ee:1 (container worker): pull access denied"),
        (_pod(statuses=_waiting("ImagePullBackOff")), "ImagePullBackOff for image my/ee:1 (container worker)"),
        (_pod(statuses=_waiting("CreateContainerConfigError", 'secret "x" not found')),
         'CreateContainerConfigError for image my/ee:1 (container worker): secret "x" not found'),
        (_pod(conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                           "message": "0/1 nodes are available: 1 Insufficient cpu."}]),
         "Unschedulable: 0/1 nodes are available: 1 Insufficient cpu."),
        (_pod(conditions=[{"type": "PodScheduled", "status": "True"}]), None),
        (_pod(phase="Failed"), "the Pod ended (Failed) before the job started:"),
    ],
)
def test_waiting_problem(pod, expected):
    assert waiting_problem(pod) == expected


def test_playbook_argv_runs_in_the_project_with_every_option():
    spec = JobSpec(group_name="g", playbook="site.yml", project_dir="/p", inventory="inv/hosts",
                   limit="web", tags="deploy", forks=3, verbosity=2)
    argv = playbook_argv(spec)
    assert argv[:2] == ["/bin/sh", "-c"]
    assert argv[2].startswith("cd /tmp/cg-job/project && export ")
    assert argv[2].endswith('exec ansible-playbook "$@"')
    assert argv[3:] == ["ansible-playbook", "-i", "inv/hosts", "-e", "@/tmp/cg-job/meta/extra_vars.json",
                        "--limit", "web", "--tags", "deploy", "--forks", "3", "-vv", "site.yml"]


def test_playbook_argv_defaults_to_localhost_inventory():
    argv = playbook_argv(JobSpec(group_name="g", playbook="site.yml", project_dir="/p"))
    assert argv[3:] == ["ansible-playbook", "-i", "/tmp/cg-job/meta/inventory.ini", "-e",
                        "@/tmp/cg-job/meta/extra_vars.json", "site.yml"]


def test_project_tar_stream_round_trip(tmp_path):
    project = tmp_path / "project"
    (project / "roles" / "r").mkdir(parents=True)
    (project / "site.yml").write_text("- hosts: all\n")
    (project / "roles" / "r" / "empty").write_bytes(b"")
    script = project / "run.sh"
    script.write_bytes(os.urandom(300_000))
    script.chmod(0o755)
    chunks = list(project_tar_stream(str(project), {"extra_vars.json": json.dumps({"a": 1}).encode()}))
    assert len(chunks) > 1, "the tar is sent as it is built, not in one piece"
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("project/run.sh").read() == script.read_bytes()
        assert members["project/run.sh"].mode & 0o777 == 0o755
        assert tar.extractfile("project/roles/r/empty").read() == b""
        assert json.load(tar.extractfile("meta/extra_vars.json")) == {"a": 1}
        assert members["meta/extra_vars.json"].mode == 0o600
        assert "project/site.yml" in members


def test_recap_of_finds_the_last_recap():
    lines = ["PLAY RECAP ***", "old : ok=1", "", "PLAY [x]", "PLAY RECAP *****",
             "localhost : ok=2 failed=0", "other : ok=1 failed=1", "", "trailing"]
    assert recap_of(lines) == ["localhost : ok=2 failed=0", "other : ok=1 failed=1"]
    assert recap_of(["no recap here"]) == []


def test_line_splitter_joins_partial_chunks_and_keeps_stdout_tail():
    seen, kept = [], []
    splitter = _LineSplitter(lambda line, err: seen.append((line, err)), False, kept)
    for chunk in (b"TASK [a]\nok: [loc", b"alhost]\r\n", b"\xff broken utf8 \n", b"tail without newline"):
        splitter.feed(chunk)
    assert seen == [("TASK [a]", False), ("ok: [localhost]", False), ("\ufffd broken utf8 ", False)]
    splitter.flush()
    assert seen[-1] == ("tail without newline", False)
    assert kept == [line for line, _stderr in seen]


def test_owner_of_this_process_is_alive_and_a_dead_one_is_not():
    assert owner_is_alive(owner_id()) is True
    host = socket.gethostname()
    assert owner_is_alive(f"{host}/{os.getpid()}/1") is False, "same pid, other start time: a reused pid"
    assert owner_is_alive(f"{host}/999999999/5") is False
    assert owner_is_alive("another-host/1/1") is None
    assert owner_is_alive("garbage") is None
