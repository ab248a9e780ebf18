# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job lifecycle: who owns a Pod, and the whole job's steps and clean-up."""

from __future__ import annotations

import os
import socket

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils import _job as _job_module
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job import ContainerGroupJob, owner_id, owner_is_alive
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job_inputs import JobSpec
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s_errors import K8sApiError, K8sConnectionError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._stop_guard import Interrupted


def test_owner_of_this_process_is_alive_and_a_dead_one_is_not():
    assert owner_is_alive(owner_id()) is True
    host = socket.gethostname()
    assert owner_is_alive(f"{host}/{os.getpid()}/1") is False, "same pid, other start time: a reused pid"
    assert owner_is_alive(f"{host}/999999999/5") is False
    assert owner_is_alive("another-host/1/1") is None
    assert owner_is_alive("garbage") is None


# -- the whole job against an in-memory Pods API ---------------------------------------------


class FakeExec:
    """Stands in for exec_in_pod: the copy succeeds, the playbook prints lines and exits rc."""

    def __init__(self, rc: int = 0, raises: BaseException | None = None) -> None:
        self.rc = rc
        self.raises = raises
        self.commands: list[list[str]] = []

    def __call__(self, endpoint, namespace, pod, container, argv, **kwargs) -> int:
        self.commands.append(argv)
        if "tar" in argv[-1]:
            for dummy_chunk in kwargs["stdin"]:
                pass
            return 0
        if self.raises is not None:
            raise self.raises
        kwargs["on_stdout"](b"PLAY RECAP ***\nlocalhost : ok=1 changed=0 failed=0\n\n")
        return self.rc


def _job(endpoint, monkeypatch, tmp_path, fake_exec, group=None):
    (tmp_path / "site.yml").write_text("- hosts: all\n")
    monkeypatch.setattr(_job_module, "exec_in_pod", fake_exec)
    monkeypatch.setattr(_job_module, "STATUS_POLL_SECONDS", 0.0)
    lines: list[tuple[str, bool]] = []
    notices: list[tuple[str, bool]] = []
    spec = JobSpec(group_name="g", playbook="site.yml", project_dir=str(tmp_path), inventory=None, extra_vars={},
                   limit=None, tags=None, forks=5, verbosity=0, job_timeout=60, pending_timeout=5)
    job = ContainerGroupJob(spec, group or {"pod_spec_override": {}}, endpoint,
                            on_line=lambda line, err: lines.append((line, err)),
                            notice=lambda message, problem: notices.append((message, problem)))
    return job, lines, notices


def test_a_job_runs_every_step_in_order_and_deletes_its_pod(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, lines, notices = _job(api, monkeypatch, tmp_path, FakeExec(rc=0))
    outcome = job.run()
    assert outcome.failure is None and outcome.rc == 0 and outcome.changed and outcome.pod_deleted is True
    assert outcome.recap == ["localhost : ok=1 changed=0 failed=0"]
    assert ("localhost : ok=1 changed=0 failed=0", False) in lines
    methods = [method for method, dummy_path in api.calls]
    assert methods[:3] == ["GET", "POST", "GET"]  # leftovers, create, wait Running
    assert methods[-2:] == ["DELETE", "GET"]  # delete, confirmed gone (404)
    assert api.pods == {}
    assert notices[-1] == (f"Pod default/{job.pod_name} deleted", False)


def test_a_failing_playbook_fails_the_job_and_still_deletes_the_pod(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec(rc=2))
    outcome = job.run()
    assert outcome.rc == 2 and outcome.failure == f"the playbook site.yml failed in Pod default/{job.pod_name} (exit status 2)"
    assert outcome.pod_deleted is True and api.pods == {}


def test_a_pod_that_cannot_start_fails_at_once_with_the_reason(fake_api, monkeypatch, tmp_path):
    waiting = {"containerStatuses": [{"name": "worker", "image": "my/ee:1",
                                      "state": {"waiting": {"reason": "ErrImagePull", "message": "pull access denied"}}}]}
    api = fake_api(phase="Pending", status=waiting)
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec())
    outcome = job.run()
    assert outcome.failure == (f"Pod default/{job.pod_name} cannot start: ErrImagePull for image my/ee:1 "
                               "(container worker): pull access denied")
    assert outcome.rc is None and outcome.pod_deleted is True and api.pods == {}


def test_an_interrupted_job_deletes_its_pod(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec(raises=KeyboardInterrupt()))
    outcome = job.run()
    assert outcome.failure == "interrupted by SIGINT; the job was stopped"
    assert outcome.pod_deleted is True and api.pods == {}


def test_a_delete_cut_short_by_a_signal_is_tried_again(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec())
    api.fail_next["DELETE"] = Interrupted("SIGTERM")
    outcome = job.run()
    assert outcome.failure is None and outcome.pod_deleted is True and api.pods == {}
    assert [m for m, dummy_path in api.calls].count("DELETE") == 2


def test_a_pod_that_cannot_be_deleted_is_reported(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec())
    api.fail_next["DELETE"] = K8sConnectionError("cannot reach the API server: connection refused")
    outcome = job.run()
    assert outcome.pod_deleted is False
    assert outcome.failure == (f"and the Pod could not be deleted: cannot delete Pod default/{job.pod_name}: "
                               "cannot reach the API server: connection refused")
    assert notices[-1] == (f"Pod default/{job.pod_name} NOT deleted", True)


def test_a_refused_create_leaves_nothing_to_delete(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec())
    api.fail_next["POST"] = K8sApiError(403, "Forbidden", '{"message": "pods is forbidden"}')
    outcome = job.run()
    assert outcome.failure.startswith(f"cannot create Pod default/{job.pod_name}: permission denied (403 Forbidden)")
    assert outcome.pod_deleted is None and not outcome.changed
    assert "DELETE" not in [m for m, dummy_path in api.calls]


def test_slots_name_the_pods_of_a_group_with_max_concurrent_jobs(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    api.pods["cg-g-s1"] = {"metadata": {"name": "cg-g-s1", "labels": {}}, "status": {"phase": "Running"}}
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec(),
                                           group={"pod_spec_override": {}, "max_concurrent_jobs": 2})
    outcome = job.run()
    assert outcome.failure is None and job.pod_name == "cg-g-s2"
    assert list(api.pods) == ["cg-g-s1"]
