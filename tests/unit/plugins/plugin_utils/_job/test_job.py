# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job lifecycle: the whole job's steps and clean-up, against an in-memory API."""

from __future__ import annotations

import base64
import json
import os
import tarfile
import time

import pytest

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import LABEL_GROUP
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job import admission as _admission
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job import namespace as _namespace
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job import pull_secret as _pull_secret
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod import runner
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s import retry as _retry
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s import watch as _watch
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.choice import run_in_first_with_room
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.job import ContainerGroupJob
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.manifests import pull_secret_manifest
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import ANNOTATION_KEPT_UNTIL
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import JobSpec
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.queue import ANNOTATION_TICKET, QUEUE_GATE, ungate_patch
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.outputs import JobOutputs
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import JobSecrets
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.slices import SlicedJob
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import ExecError, K8sApiError, K8sConnectionError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.stop_guard import Interrupted


# -- the whole job against an in-memory Pods API ---------------------------------------------


class FakeExec:
    """Stands in for exec_in_pod, speaking the runner's protocol (its own constants): the copy
    and the start succeed; follow sends the output from the offset asked, then the job events
    and the DONE_LINE. cuts lists byte counts after which a follow stream breaks (as an API
    server restart would)."""

    OUTPUT = b"PLAY RECAP ***\nlocalhost : ok=1 changed=0 failed=0\n\n"
    EVENTS = (b'{"counter": 1, "event": "playbook_on_start", "event_data": {}}\n'
              b'{"counter": 2, "event": "playbook_on_stats", "event_data": {"ok": {"localhost": 1}, "changed": {},'
              b' "processed": {"localhost": 1}}}\n')

    def __init__(self, rc: int = 0, raises: BaseException | None = None, cuts: tuple[int, ...] = (),
                 timed_out: bool = False, oom_kills: int = 0, facts: dict | None = None) -> None:
        self.rc = rc
        self.facts = facts or {}
        self.timed_out = timed_out
        self.oom_kills = oom_kills
        self.raises = raises
        self.cuts = list(cuts)
        self.commands: list[list[str]] = []

    def __call__(self, endpoint, namespace, pod, container, argv, stdin=None, **kwargs) -> int:
        self.commands.append(argv)
        if "tar" in argv[-1]:
            for dummy_chunk in stdin:
                pass
            return 0
        if argv[2:3] == [runner.STOP]:
            kwargs["on_stdout"](runner.STOPPED.encode() + b"\n")
            return 0
        if argv[2:3] == [runner.FACTS]:
            kwargs["on_stdout"](json.dumps({name: base64.b64encode(data).decode() for name, data in self.facts.items()}).encode())
            return 0
        if f" {runner.START} " in argv[2]:
            return 0
        assert argv[2] == runner.FOLLOW
        if self.raises is not None:
            raise self.raises
        offset = int(argv[4])
        if self.cuts:
            cut = self.cuts.pop(0)
            kwargs["on_stdout"](self.OUTPUT[offset:cut])
            raise ExecError("the exec stream broke: connection reset")
        kwargs["on_stdout"](self.OUTPUT[offset:])
        events = b"".join(f"{runner.EVENT_LINE} ".encode() + line + b"\n" for line in self.EVENTS.split(b"\n") if line.endswith(b"}"))
        done = f"{runner.DONE_LINE} {len(self.OUTPUT)} {self.rc} {int(self.timed_out)} {self.oom_kills} 67108864 -\n"
        kwargs["on_stderr"](b"\n" + events + done.encode())
        return 0


def _job(endpoint, monkeypatch, tmp_path, fake_exec, group=None, secrets=None, **fields):
    (tmp_path / "site.yml").write_text("- hosts: all\n")
    monkeypatch.setattr(_namespace, "exec_in_pod", fake_exec)
    monkeypatch.setattr(_retry, "FIRST_DELAY_SECONDS", 0.01)
    lines: list[tuple[str, bool]] = []
    notices: list[tuple[str, bool]] = []
    spec = JobSpec(group_name="g", playbook="site.yml", project_dir=str(tmp_path), extra_vars={},
                   limit=None, tags=None, forks=5, verbosity=0, job_timeout=60, pending_timeout=5, reconnect_timeout=2,
                   **fields)
    job = ContainerGroupJob(spec, group or {"pod_spec_override": {}}, endpoint, secrets=secrets,
                            on_line=lambda line, err: lines.append((line, err)),
                            notice=lambda message, problem: notices.append((message, problem)))
    return job, lines, notices


def test_a_job_runs_every_step_in_order_and_deletes_its_pod(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, lines, notices = _job(api, monkeypatch, tmp_path, FakeExec(rc=0))
    outcome = job.run()
    assert notices[0] == (f"Pod default/{job.pod_name} created for container group 'g' (job {job.job_id}); "
                          "waiting for it to run", False), "the job id is said first"
    assert outcome.failure is None and outcome.rc == 0 and outcome.changed and outcome.pod_deleted is True
    assert outcome.recap == ["localhost : ok=1 changed=0 failed=0"]
    assert ("localhost : ok=1 changed=0 failed=0", False) in lines
    methods = [method for method, dummy_path in api.calls]
    assert methods[:3] == ["GET", "POST", "GET"]  # leftovers, create, wait Running
    assert methods[-2:] == ["DELETE", "GET"]  # delete, confirmed gone (404)
    assert api.pods == {}
    assert notices[-1] == (f"Pod default/{job.pod_name} deleted", False)


def test_the_job_reads_back_its_events_and_stats_with_every_secret_masked(fake_api, monkeypatch, tmp_path):
    fake = FakeExec(rc=0)
    fake.OUTPUT = b"ok: [localhost] => {\"msg\": \"s3cret-value\"}\nPLAY RECAP ***\nlocalhost : ok=1\n\n"
    fake.EVENTS = FakeExec.EVENTS + b'{"counter": 3, "event": "x", "event_data": {"res": {"msg": "s3cret-value"}}}\n'
    events_file = tmp_path / "events.jsonl"
    job, lines, dummy_notices = _job(fake_api(), monkeypatch, tmp_path, fake, events_file=str(events_file),
                                     secrets=JobSecrets(env={"TOKEN": "s3cret-value"}))
    outcome = job.run()
    assert outcome.failure is None
    assert outcome.stats == {"localhost": {"ok": 1, "changed": 0, "failed": 0, "unreachable": 0, "skipped": 0,
                                           "rescued": 0, "ignored": 0}}
    assert outcome.events == 3
    written = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert [event["counter"] for event in written] == [1, 2, 3]
    assert written[2]["event_data"]["res"]["msg"] == "********"
    assert ('ok: [localhost] => {"msg": "********"}', False) in lines
    assert "s3cret-value" not in events_file.read_text() + repr(lines) + repr(outcome)
    assert "s3cret-value" not in repr(fake.commands)


def test_a_playbook_stopped_at_job_timeout_fails_the_job_and_its_events_are_kept(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    events_file = tmp_path / "events.jsonl"
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec(rc=143, timed_out=True),
                                           events_file=str(events_file))
    outcome = job.run()
    assert outcome.failure == f"the playbook in Pod default/{job.pod_name} ran past job_timeout (60s) and was stopped"
    assert outcome.rc is None and outcome.pod_deleted is True
    assert outcome.events == 2 and len(events_file.read_text().splitlines()) == 2, "what ran before the timeout is kept"


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
    assert outcome.failure.startswith(f"Pod default/{job.pod_name} cannot start: ErrImagePull for image my/ee:1 "
                                      "(container worker): pull access denied; the registry refused the pull")
    assert outcome.rc is None and outcome.pod_deleted is True and api.pods == {}


def job_exec(job) -> FakeExec:
    return _namespace.exec_in_pod


def test_an_interrupted_job_stops_the_target_then_deletes_its_pod(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec(raises=KeyboardInterrupt()))
    fake_exec = job_exec(job)
    outcome = job.run()
    assert outcome.failure == "interrupted by SIGINT; the job was stopped"
    assert outcome.pod_deleted is True and api.pods == {}
    assert fake_exec.commands[-1][2:] == ["stop", "/tmp/cg-job", "3"], "the target is stopped before the Pod goes"
    said = [message for message, dummy_problem in notices]
    assert f"the playbook in Pod default/{job.pod_name} stopped by SIGTERM; its processes are gone" in said
    assert said.index(f"Pod default/{job.pod_name} deleted") > said.index(
        f"the playbook in Pod default/{job.pod_name} stopped by SIGTERM; its processes are gone")


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


def _queued(name: str, ticket: int | None, gate: bool = True, group: str = "g") -> dict:
    annotations = {ANNOTATION_TICKET: str(ticket)} if ticket is not None else {}
    return {"metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "1", "labels": {LABEL_GROUP: group},
                         "annotations": annotations},
            "spec": {"schedulingGates": [{"name": QUEUE_GATE}] if gate else []}, "status": {"phase": "Pending" if gate else "Running"}}


def test_a_capped_group_with_room_creates_the_pod_gated_then_ungates_it(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    api.pods["cg-g-other"] = _queued("cg-g-other", None, gate=False)
    created = []
    real_request = api.request

    def request(method, path, **kwargs):
        if method == "POST" and path.endswith("/pods"):
            created.append(kwargs["body"])
        return real_request(method, path, **kwargs)

    api.request = request
    job, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec(), group={"pod_spec_override": {}, "max_concurrent_jobs": 2})
    outcome = job.run()
    assert outcome.failure is None and job.pod_name == f"cg-g-{job.job_id}"
    assert created[0]["spec"]["schedulingGates"] == [{"name": QUEUE_GATE}]
    ticket = created and api.patches[0]
    assert api.patches == [(job.pod_name, {"metadata": {"annotations": {ANNOTATION_TICKET: "1"}}}, "merge"),
                           (job.pod_name, ungate_patch(), "strategic-merge")], ticket
    assert not [message for message, dummy in notices if "in line" in message]
    assert list(api.pods) == ["cg-g-other"]


def test_a_full_group_waits_in_line_and_goes_when_its_turn_comes(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    api.version = 10
    api.pods["cg-g-run"] = _queued("cg-g-run", 2, gate=False)
    api.pods["cg-g-first"] = _queued("cg-g-first", 5)

    def group_events(watches: int, dummy_selector: str) -> list[dict]:
        if watches > 1:
            return []
        first_goes = _queued("cg-g-first", 5, gate=False)
        return [{"type": "DELETED", "object": api.pods["cg-g-run"]}, {"type": "MODIFIED", "object": first_goes},
                {"type": "DELETED", "object": first_goes}]

    api.group_watch_events = group_events
    job, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec(), group={"pod_spec_override": {}, "max_concurrent_jobs": 1})
    outcome = job.run()
    assert outcome.failure is None, outcome.failure
    said = [message for message, dummy in notices if "in line" in message]
    assert said == [f"waiting for a slot of container group 'g': 2nd in line (1 of max_concurrent_jobs 1 running); "
                    f"Pod default/{job.pod_name} (job {job.job_id}) waits SchedulingGated"]
    assert any("took its turn" in message for message, dummy in notices)
    assert [patch for dummy, patch, dummy_type in api.patches][-1] == ungate_patch()
    assert outcome.timings["queue"] >= 0
    assert api.pods == {}


def test_a_job_still_in_line_at_pending_timeout_fails_and_leaves_nothing(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    api.pods["cg-g-run"] = _queued("cg-g-run", None, gate=False)
    monkeypatch.setattr(_watch, "WATCH_SECONDS", 1)
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec(), group={"pod_spec_override": {}, "max_concurrent_jobs": 1},
                                           )
    api.group_watch_events = lambda watches, selector: time.sleep(0.5) or []
    outcome = job.run()
    assert outcome.failure.startswith(f"Pod default/{job.pod_name} waited 5s (pending_timeout 5s) in the queue of "
                                      "container group 'g', still 1st in line (max_concurrent_jobs 1); try again later")
    assert list(api.pods) == ["cg-g-run"]
    assert outcome.api_requests <= 20, "a waiting job watches, it does not poll"


def test_a_pod_that_stays_gated_when_its_turn_came_is_removed_and_the_next_goes(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    api.version = 10
    api.pods["cg-g-dead"] = _queued("cg-g-dead", 3)
    monkeypatch.setattr(_admission, "STALLED_SECONDS", 0.2)
    api.group_watch_events = lambda watches, selector: time.sleep(0.1) or []
    job, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec(), group={"pod_spec_override": {}, "max_concurrent_jobs": 1})
    outcome = job.run()
    assert outcome.failure is None
    assert ("removed Pod default/cg-g-dead from the queue of container group 'g': it stayed gated 0s after its turn came "
            "(its controller is gone or cut off)", True) in notices
    assert api.pods == {}


def test_a_pod_deleted_while_it_waits_fails_its_job_with_the_reason(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    api.pods["cg-g-run"] = _queued("cg-g-run", None, gate=False)
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec(), group={"pod_spec_override": {}, "max_concurrent_jobs": 1})
    api.group_watch_events = lambda watches, selector: [{"type": "DELETED", "object": api.pods[job.pod_name]}]
    outcome = job.run()
    assert outcome.failure.startswith(f"Pod default/{job.pod_name} was deleted while it waited in the queue of container group 'g'")
    assert list(api.pods) == ["cg-g-run"]


def test_a_lost_stream_is_taken_up_again_at_its_byte_with_nothing_lost_or_repeated(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, lines, notices = _job(api, monkeypatch, tmp_path, FakeExec(cuts=(5, 20)))
    outcome = job.run()
    assert outcome.failure is None and outcome.rc == 0 and outcome.reconnects == 2
    assert [line for line, dummy_err in lines] == ["PLAY RECAP ***", "localhost : ok=1 changed=0 failed=0", ""]
    said = [message for message, dummy_problem in notices]
    assert any(m.startswith(f"lost the stream to Pod default/{job.pod_name} (the exec stream broke") and
               m.endswith("reconnecting (attempt 1)") for m in said)
    assert f"reattached to Pod default/{job.pod_name} at byte 5" in said
    assert f"reattached to Pod default/{job.pod_name} at byte 20" in said


def test_a_stream_lost_for_longer_than_reconnect_timeout_fails_and_says_what_became_of_the_pod(
        fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec(cuts=(0,) * 1000))
    outcome = job.run()
    assert outcome.failure.startswith(f"lost the stream to Pod default/{job.pod_name} for ")
    assert "(reconnect_timeout 2s)" in outcome.failure
    assert "The playbook may still be running in the Pod: it stops there at job_timeout (60s)" in outcome.failure
    assert f"kubectl get pod -n default {job.pod_name}" in outcome.failure
    assert outcome.pod_deleted is True


def test_transient_api_errors_are_retried_and_counted(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec())
    api.fail_next["DELETE"] = K8sApiError(503, "Service Unavailable", '{"message": "etcd is down"}')
    outcome = job.run()
    assert outcome.failure is None and outcome.pod_deleted is True and outcome.api_retries == 1
    assert any(message.startswith(f"cannot DELETE /api/v1/namespaces/default/pods/{job.pod_name} on the API server yet")
               for message, dummy_problem in notices)


def test_a_pending_pod_is_watched_until_it_runs(fake_api, monkeypatch, tmp_path):
    api = fake_api(phase="Pending")
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec())

    def running_soon(pod: dict) -> list[dict]:
        return [{"type": "MODIFIED", "object": {**pod, "status": {"phase": "Pending"}}},
                {"type": "MODIFIED", "object": {**pod, "status": {"phase": "Running"}}}]

    api.watch_events = running_soon
    outcome = job.run()
    assert outcome.failure is None and outcome.rc == 0
    watched = [path for method, path in api.calls if method == "WATCH"]
    assert watched == ["/api/v1/namespaces/default/pods"], "one watch, no polling"
    assert api.watch_queries[0][:2] == [("fieldSelector", f"metadata.name={job.pod_name}"), ("resourceVersion", "1")]


_QUOTA_FULL = ('{"kind": "Status", "code": 403, "message": "pods \\"p\\" is forbidden: exceeded quota: one-pod, '
               'requested: pods=1, used: pods=1, limited: pods=1"}')


def test_a_full_quota_makes_the_job_wait_for_room_then_run(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    monkeypatch.setattr(_admission, "QUOTA_POLL_SECONDS", 0.01)
    posts = []
    real_request = api.request

    def request(method, path, **kwargs):
        if method == "POST":
            posts.append(path)
            if len(posts) <= 2:  # full twice, then a Pod ends and there is room
                raise K8sApiError(403, "Forbidden", _QUOTA_FULL)
        return real_request(method, path, **kwargs)

    api.request = request
    job, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec(rc=0))
    outcome = job.run()
    assert outcome.failure is None and outcome.rc == 0 and len(posts) == 3
    waiting = [message for message, dummy in notices if "no room" in message]
    assert waiting == ['no room for the job\'s Pod in namespace default: ResourceQuota "one-pod" (requested: pods=1, '
                       'used: pods=1, limited: pods=1) is full; waiting for room, up to pending_timeout (5s)']


def test_a_quota_that_stays_full_fails_the_job_at_pending_timeout(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    monkeypatch.setattr(_admission, "QUOTA_POLL_SECONDS", 0.01)
    clock = iter(range(0, 10_000, 2))
    monkeypatch.setattr(time, "monotonic", lambda: float(next(clock)))

    def request(method, path, **kwargs):
        if method == "POST":
            raise K8sApiError(403, "Forbidden", _QUOTA_FULL)
        return {"items": []}

    api.request = request
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec(rc=0))
    outcome = job.run()
    assert "stayed full; try again later or ask for a larger quota" in outcome.failure
    assert outcome.pod_deleted is None, "no Pod was created"


# -- the image pull Secret beside the Pod ------------------------------------------------------

PULL_RECORD = {"host": "registry.example:5000", "username": "robot", "password": "pa55-w0rd"}


def _pull_job(api, monkeypatch, tmp_path, fake_exec=None):
    (tmp_path / "site.yml").write_text("- hosts: all\n")
    monkeypatch.setattr(_namespace, "exec_in_pod", fake_exec or FakeExec())
    monkeypatch.setattr(_retry, "FIRST_DELAY_SECONDS", 0.01)
    notices: list[tuple[str, bool]] = []
    spec = JobSpec(group_name="g", playbook="site.yml", project_dir=str(tmp_path), extra_vars={}, limit=None, tags=None,
                   forks=5, verbosity=0, job_timeout=60, pending_timeout=5, reconnect_timeout=2)
    group = {"pod_spec_override": {"spec": {"imagePullSecrets": [{"name": "theirs"}]}}, "image_pull_credential": "r"}
    job = ContainerGroupJob(spec, group, api, on_line=lambda line, err: None,
                            notice=lambda message, problem: notices.append((message, problem)), pull_credential=PULL_RECORD)
    return job, notices


def test_the_secret_comes_before_the_pod_is_owned_by_it_and_goes_after_it(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    seen: dict = {}
    original = api.request

    def request(method, path, **kwargs):
        if method == "PATCH":
            seen["pod_at_patch"] = dict(api.pods)
        if method == "DELETE" and "/secrets/" in path:
            seen["pods_at_secret_delete"] = dict(api.pods)
        return original(method, path, **kwargs)

    api.request = request
    job, dummy_notices = _pull_job(api, monkeypatch, tmp_path)
    secret = f"{job.pod_name}-pull"
    assert job.pod_manifest["spec"]["imagePullSecrets"] == [{"name": "theirs"}, {"name": secret}]
    outcome = job.run()
    assert outcome.failure is None and outcome.pod_deleted is True
    calls = [(method, path.rsplit("/", 2)[-2] if path.count("/") > 5 else path.rsplit("/", 1)[-1]) for method, path in api.calls]
    assert calls.index(("POST", "secrets")) < calls.index(("POST", "pods")) < calls.index(("PATCH", "secrets"))
    owner = seen["pod_at_patch"][job.pod_name]["metadata"]["uid"]
    assert owner == f"uid-{job.pod_name}"
    assert seen["pods_at_secret_delete"] == {}, "the Secret is deleted after the Pod"
    assert api.secrets == {} and api.pods == {}


def test_a_pod_that_cannot_be_created_still_takes_its_secret_away(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_notices = _pull_job(api, monkeypatch, tmp_path)
    api.refusals.append(("POST", "/pods", K8sApiError(422, "Unprocessable Entity", '{"message": "Pod is invalid"}')))
    outcome = job.run()
    assert "cannot create Pod" in outcome.failure and outcome.pod_deleted is None
    assert api.secrets == {}


def test_a_secret_that_cannot_be_created_says_what_rbac_it_needs_and_no_pod_is_made(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_notices = _pull_job(api, monkeypatch, tmp_path)
    forbidden = 'secrets is forbidden: User "x" cannot create resource "secrets" in API group "" in the namespace "default"'
    api.refusals.append(("POST", "/secrets", K8sApiError(403, "Forbidden", json.dumps(
        {"kind": "Status", "reason": "Forbidden", "message": forbidden}))))
    outcome = job.run()
    assert outcome.failure.startswith(f"cannot create the image pull Secret default/{job.pod_name}-pull: ")
    assert "needs create, patch, list and delete on secrets" in outcome.failure
    assert not any(method == "POST" and path.endswith("/pods") for method, path in api.calls)
    assert outcome.pod_deleted is None


def test_a_leftover_secret_of_a_dead_job_is_removed(fake_api, monkeypatch, tmp_path, dead_owner):
    api = fake_api()
    dead = pull_secret_manifest("cg-g-old-pull", "default", "g", "old", dead_owner, PULL_RECORD)
    api.secrets[dead["metadata"]["name"]] = dead
    job, notices = _pull_job(api, monkeypatch, tmp_path)
    assert job.run().failure is None
    assert api.secrets == {}
    assert ("removed leftover image pull Secret default/cg-g-old-pull (its controller process is gone)", False) in notices
    assert api.secret_lists == [True], "the list brings no Secret's data"


REFUSED_PULL = {"phase": "Pending", "containerStatuses": [{"name": "worker", "image": "registry.example:5000/ee:1", "state": {
    "waiting": {"reason": "ErrImagePull", "message": "failed to resolve reference: 401 Unauthorized"}}}]}


def test_a_refused_first_pull_is_waited_out_when_the_job_brought_a_pull_secret(fake_api, monkeypatch, tmp_path):
    # The kubelet's first pull may come before the node authorizer lets it read the new Secret.
    api = fake_api(phase="Pending")
    job, notices = _pull_job(api, monkeypatch, tmp_path)
    api.watch_events = lambda pod: [{"type": "MODIFIED", "object": {**pod, "status": REFUSED_PULL}},
                                    {"type": "MODIFIED", "object": {**pod, "status": {"phase": "Running"}}}]
    outcome = job.run()
    assert outcome.failure is None and outcome.rc == 0
    assert [message for message, problem in notices if problem] == [
        f"the registry refused the first pull for Pod default/{job.pod_name}; the kubelet may not have had its pull "
        "Secret yet, so the job waits up to 30s for its next pull"]


def test_a_refused_pull_stays_fatal_after_the_grace(fake_api, monkeypatch, tmp_path):
    api = fake_api(phase="Pending")
    job, dummy_notices = _pull_job(api, monkeypatch, tmp_path)
    monkeypatch.setattr(_pull_secret, "GRACE_SECONDS", 0.0)
    api.watch_events = lambda pod: [{"type": "MODIFIED", "object": {**pod, "status": REFUSED_PULL}}]
    outcome = job.run()
    assert outcome.failure.startswith(f"Pod default/{job.pod_name} cannot start: ErrImagePull for image registry.example:5000/ee:1")
    assert "401 Unauthorized; the registry refused the pull" in outcome.failure
    assert api.secrets == {} and api.pods == {}


def test_a_refusal_names_the_pod_once_then_the_cause(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec())
    refusal = f'pods "{job.pod_name}" is forbidden: violates PodSecurity "restricted:latest": privileged'
    api.fail_next["POST"] = K8sApiError(403, "Forbidden", json.dumps({"message": refusal}))
    failure = job.run().failure
    assert failure.startswith(f"cannot create Pod default/{job.pod_name}: Pod Security admission refused the Pod: ")
    assert failure.count(job.pod_name) == 2, "once by the job, once in the API server's own words"


def test_a_leftover_is_deleted_by_its_uid_and_a_pod_that_took_its_name_since_is_left_alone(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    api.pods["cg-g-old"] = {"metadata": {"name": "cg-g-old", "uid": "uid-ended", "labels": {}}, "status": {"phase": "Succeeded"}}
    real_request = api.request

    def request(method, path, **kwargs):
        if method == "DELETE" and path.endswith("/cg-g-old"):
            # Between the sweep's list and its delete, another job's Pod took the name.
            api.pods["cg-g-old"] = {"metadata": {"name": "cg-g-old", "uid": "uid-new", "labels": {}}, "status": {"phase": "Running"}}
            assert kwargs["body"]["preconditions"] == {"uid": "uid-ended"}
        return real_request(method, path, **kwargs)

    api.request = request
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec())
    outcome = job.run()
    assert outcome.failure is None and outcome.rc == 0
    assert api.pods == {"cg-g-old": api.pods["cg-g-old"]} and api.pods["cg-g-old"]["metadata"]["uid"] == "uid-new"


_NO_NODE = {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                               "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."}]}


def test_a_pod_no_node_fits_is_waited_for_until_a_node_comes(fake_api, monkeypatch, tmp_path):
    # As an autoscaler adds a node: Unschedulable first, then scheduled and running.
    api = fake_api(phase="Pending", status=_NO_NODE)
    api.watch_events = lambda pod: [{"type": "MODIFIED", "object": {**pod, "status": _NO_NODE}},
                                    {"type": "MODIFIED", "object": {**pod, "status": {"phase": "Running"}}}]
    job, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec())
    outcome = job.run()
    assert outcome.failure is None and outcome.rc == 0
    said = [message for message, problem in notices if problem]
    assert len(said) == 1 and said[0].startswith(
        f"Pod default/{job.pod_name} is Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node "
        "affinity/selector. (no autoscaler has said anything of it yet). Waiting up to ")
    assert [method for method, path in api.calls if path.endswith("/events")] == ["GET"], "the events read once"


def test_a_pod_no_node_fits_fails_at_pending_timeout_with_the_schedulers_and_the_autoscalers_words(
        fake_api, monkeypatch, tmp_path):
    api = fake_api(phase="Pending", status=_NO_NODE)
    api.events = [{"reason": "TriggeredScaleUp", "message": "pod triggered scale-up: [{pool 1->2 (max: 3)}]",
                   "source": {"component": "cluster-autoscaler"}}]
    clock = iter(range(0, 100_000, 1))
    monkeypatch.setattr(time, "monotonic", lambda: float(next(clock)))
    job, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec())
    outcome = job.run()
    assert outcome.failure.startswith(f"Pod default/{job.pod_name} stuck Pending for ")
    assert outcome.failure.endswith("(pending_timeout 5s), last state: Unschedulable: 0/1 nodes are available: 1 node(s) "
                                    "didn't match Pod's node affinity/selector.; a scale-up was triggered (cluster-autoscaler: "
                                    "pod triggered scale-up: [{pool 1->2 (max: 3)}])")
    assert outcome.pod_deleted is True and api.pods == {}
    assert "a scale-up was triggered" in [m for m, problem in notices if problem][0]


def test_events_that_cannot_be_read_only_leave_the_autoscaler_out(fake_api, monkeypatch, tmp_path):
    api = fake_api(phase="Pending", status=_NO_NODE)
    api.events_error = K8sApiError(403, "Forbidden", '{"message": "events is forbidden"}')
    api.watch_events = lambda pod: [{"type": "MODIFIED", "object": {**pod, "status": {"phase": "Running"}}}]
    job, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec())
    assert job.run().failure is None
    assert "(its events cannot be read (RBAC: events list)" in [m for m, problem in notices if problem][0]


def test_a_target_the_oom_killer_struck_in_a_container_that_lived_on_fails_saying_so(fake_api, monkeypatch, tmp_path):
    job, dummy_lines, dummy_notices = _job(fake_api(), monkeypatch, tmp_path, FakeExec(rc=2, oom_kills=1))
    outcome = job.run()
    assert outcome.pod_reason == "OOMKilled" and outcome.pod_deleted is True
    assert outcome.failure == (f"the playbook site.yml failed in Pod default/{job.pod_name} (exit status 2): the OOM killer "
                               f"killed 1 process(es) of the playbook in Pod default/{job.pod_name}, which reached its "
                               "memory limit, 64 MiB (OOMKilled); give the container more memory "
                               "(resources.limits.memory in the group's pod_spec_override) or the playbook less to hold")


def test_a_container_that_ends_under_the_job_fails_it_at_once_with_kubernetes_reason(fake_api, monkeypatch, tmp_path):
    killed = {"containerStatuses": [{"name": "worker", "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}
    fake = FakeExec(raises=ExecError("the exec stream broke: connection reset"))
    job, dummy_lines, notices = _job(fake_api(status=killed), monkeypatch, tmp_path, fake)
    outcome = job.run()
    assert outcome.pod_reason == "OOMKilled"
    assert outcome.failure == (f"Pod default/{job.pod_name} ended before the playbook did: container worker was killed by "
                               "the OOM killer (exit code 137) (OOMKilled)")
    assert not [message for message, dummy in notices if "reconnecting" in message]


class EvictedOnFollow(FakeExec):
    """The node evicts the Pod while the playbook runs: the follow stream breaks."""

    def __call__(self, endpoint, namespace, pod, container, argv, stdin=None, **kwargs) -> int:
        if argv[2:3] == [runner.FOLLOW]:
            endpoint.pods[pod]["status"] = {"phase": "Failed", "reason": "Evicted",
                                            "message": "The node was low on resource: memory."}
        return super().__call__(endpoint, namespace, pod, container, argv, stdin, **kwargs)


def test_an_evicted_pod_fails_the_job_at_once_with_the_eviction_message(fake_api, monkeypatch, tmp_path):
    job, dummy_lines, dummy_notices = _job(fake_api(), monkeypatch, tmp_path, EvictedOnFollow(raises=ExecError("the exec stream broke")))
    outcome = job.run()
    assert outcome.pod_reason == "Evicted"
    assert outcome.failure == (f"Pod default/{job.pod_name} ended before the playbook did: the Pod failed: "
                               "The node was low on resource: memory. (Evicted)")


def test_keep_pod_on_failure_leaves_a_failed_job_s_pod_marked_and_says_how_to_remove_it(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec(rc=2), keep_pod="on_failure")
    outcome = job.run()
    assert outcome.pod_kept is True and outcome.pod_deleted is False
    assert outcome.failure == f"the playbook site.yml failed in Pod default/{job.pod_name} (exit status 2)"
    kept = api.pods[job.pod_name]["metadata"]["annotations"][ANNOTATION_KEPT_UNTIL]
    assert int(kept) > time.time() + 60
    said = notices[-1][0]
    assert said.startswith(f"Pod default/{job.pod_name} kept for inspection (keep_pod: on_failure) until its deadline")
    assert f"kubectl -n default describe pod {job.pod_name}" in said and f"kubectl -n default delete pod {job.pod_name}" in said


def test_keep_pod_on_failure_deletes_a_successful_job_s_pod(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec(rc=0), keep_pod="on_failure")
    outcome = job.run()
    assert outcome.pod_kept is False and outcome.pod_deleted is True and api.pods == {}


# -- a list of groups: the first with room ----------------------------------------------------


def _jobs(api, monkeypatch, tmp_path, groups: dict[str, int]) -> tuple[list[ContainerGroupJob], list[tuple[str, bool]]]:
    """One job per group (name: max_concurrent_jobs), all with one job id, as the action builds them."""
    first, dummy_lines, notices = _job(api, monkeypatch, tmp_path, FakeExec())
    jobs = [ContainerGroupJob(first.spec._replace(group_name=name), {"pod_spec_override": {}, "max_concurrent_jobs": cap},
                              api, on_line=lambda line, err: None, notice=lambda message, problem: notices.append((message, problem)),
                              job_id="j1") for name, cap in groups.items()]
    return jobs, notices


def test_a_list_of_groups_runs_in_the_first_with_room_and_leaves_the_full_one_s_queue(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    api.pods["cg-a-run"] = _queued("cg-a-run", None, gate=False, group="a")
    jobs, notices = _jobs(api, monkeypatch, tmp_path, {"a": 1, "b": 0})
    job, outcome = run_in_first_with_room(jobs, lambda message, problem: notices.append((message, problem)))
    assert outcome.failure is None and job.spec.group_name == "b" and outcome.pod_name == "cg-b-j1"
    assert ("Pod default/cg-a-j1 leaves the queue of container group 'a': the job runs in container group 'b'", False) in notices
    assert list(api.pods) == ["cg-a-run"]
    assert outcome.api_requests == api.requests


def test_a_list_of_groups_takes_the_first_group_with_room_without_touching_the_others(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    jobs, notices = _jobs(api, monkeypatch, tmp_path, {"a": 2, "b": 0})
    job, outcome = run_in_first_with_room(jobs, lambda message, problem: notices.append((message, problem)))
    assert outcome.failure is None and job.spec.group_name == "a"
    assert not [call for call in api.calls if "cg-b" in call[1]]


def test_when_every_group_is_full_the_job_waits_in_each_queue_and_takes_the_first_turn(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    api.pods["cg-a-run"] = _queued("cg-a-run", None, gate=False, group="a")
    api.pods["cg-b-run"] = _queued("cg-b-run", None, gate=False, group="b")

    def group_events(watches: int, selector: str) -> list[dict]:
        time.sleep(0.2)
        if selector.endswith("=b") and "cg-b-run" in api.pods:
            return [{"type": "DELETED", "object": api.pods["cg-b-run"]}]
        return []

    api.group_watch_events = group_events
    jobs, notices = _jobs(api, monkeypatch, tmp_path, {"a": 1, "b": 1})
    job, outcome = run_in_first_with_room(jobs, lambda message, problem: notices.append((message, problem)))
    assert outcome.failure is None and job.spec.group_name == "b"
    said = [message for message, dummy in notices if "in line" in message]
    assert [message.split(":")[0] for message in said] == [
        "waiting for a slot of container group 'a'", "waiting for a slot of container group 'b'"]
    assert list(api.pods) == ["cg-a-run"]


def test_a_list_of_full_groups_fails_at_pending_timeout_naming_each_queue(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    api.pods["cg-a-run"] = _queued("cg-a-run", None, gate=False, group="a")
    api.pods["cg-b-run"] = _queued("cg-b-run", None, gate=False, group="b")
    api.group_watch_events = lambda watches, selector: time.sleep(0.5) or []
    jobs, dummy_notices = _jobs(api, monkeypatch, tmp_path, {"a": 1, "b": 1})
    job, outcome = run_in_first_with_room(jobs, lambda message, problem: None)
    assert outcome.failure.startswith("Pod default/cg-a-j1 waited 5s (pending_timeout 5s) in the queue of container group 'a'")
    assert "; Pod default/cg-b-j1 waited 5s (pending_timeout 5s) in the queue of container group 'b'" in outcome.failure
    assert sorted(api.pods) == ["cg-a-run", "cg-b-run"] and job is jobs[0]


def test_an_unreadable_project_file_fails_the_job_at_once_naming_it(fake_api, monkeypatch, tmp_path):
    (tmp_path / "secret.txt").write_text("x")
    real_add = tarfile.TarFile.add

    def add(tar, name, *args, **kwargs):
        if name.endswith("secret.txt"):
            raise PermissionError(13, "Permission denied", name)
        return real_add(tar, name, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "add", add)
    job, dummy_lines, dummy_notices = _job(fake_api(), monkeypatch, tmp_path, FakeExec())
    outcome = job.run()
    assert outcome.failure == (f"the project could not be copied into Pod default/{job.pod_name}: cannot read "
                               f"{tmp_path}/secret.txt: Permission denied; the job ships every file of the project, so "
                               "make it readable, move it out of the project or list it in .containergroupignore")
    assert outcome.api_retries == 0 and outcome.pod_deleted is True


@pytest.mark.parametrize(("fake_exec", "status", "rc"), [
    (dict(rc=0), "successful", "0"),
    (dict(rc=2), "failed", "2"),
    (dict(rc=143, timed_out=True), "timeout", "254"),
    (dict(raises=KeyboardInterrupt()), "canceled", "254"),
], ids=["success", "failure", "timeout", "interrupted"])
def test_the_job_s_record_says_how_it_ended(fake_api, monkeypatch, tmp_path, fake_exec, status, rc):
    job, lines, dummy_notices = _job(fake_api(), monkeypatch, tmp_path, FakeExec(**fake_exec),
                                     artifacts_dir=str(tmp_path / "artifacts"), playbook_artifact=str(tmp_path / "replay.json"))
    outcome = job.run()
    record = tmp_path / "artifacts" / job.job_id
    assert outcome.artifact_dir == str(record)
    assert (record / "status").read_text() == status and (record / "rc").read_text() == rc
    assert (record / "stdout").read_text() == "".join(line + "\n" for line, dummy_stderr in lines), "as the terminal showed it"
    assert json.loads((record / "command").read_text())["command"][0] == "ansible-playbook"
    assert json.loads((tmp_path / "replay.json").read_text())["status"] == status, "the navigator's artifact too"
    if status != "canceled":
        assert len(os.listdir(record / "job_events")) == outcome.events > 0


def test_a_job_that_never_got_its_pod_leaves_a_failed_record_without_rc(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    api.fail_next["POST"] = K8sApiError(403, "Forbidden", '{"message": "pods is forbidden"}')
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec(), artifacts_dir=str(tmp_path / "a"))
    job.run()
    assert (tmp_path / "a" / job.job_id / "status").read_text() == "failed"
    assert sorted(os.listdir(tmp_path / "a" / job.job_id)) == ["job_events", "status", "stdout"]


def test_an_artifacts_dir_that_cannot_be_written_fails_the_job_before_any_pod(fake_api, monkeypatch, tmp_path):
    api = fake_api()
    (tmp_path / "file").write_text("")
    job, dummy_lines, dummy_notices = _job(api, monkeypatch, tmp_path, FakeExec(), artifacts_dir=str(tmp_path / "file"))
    outcome = job.run()
    assert outcome.failure.startswith(f"cannot write the job's record in {tmp_path}/file/{job.job_id}: ")
    assert not [method for method, dummy_path in api.calls if method == "POST"]


def test_the_fact_files_the_run_wrote_are_kept_as_they_are(fake_api, monkeypatch, tmp_path):
    (tmp_path / "facts").mkdir()
    (tmp_path / "facts" / "s1_web2").write_text('{"old": true}')
    facts = {"s1_web1": b'{"__payload__": {"ansible_hostname": "web1"}}'}
    job, dummy_lines, notices = _job(fake_api(), monkeypatch, tmp_path, FakeExec(facts=facts),
                                     fact_cache_dir=str(tmp_path / "facts"))
    assert job.run().failure is None
    assert (tmp_path / "facts" / "s1_web1").read_bytes() == facts["s1_web1"], "opaque: the run's own format and names"
    assert (tmp_path / "facts" / "s1_web2").read_text() == '{"old": true}'
    assert not [message for message, problem in notices if problem]


def test_facts_that_cannot_be_read_back_are_said_and_the_job_still_succeeds(fake_api, monkeypatch, tmp_path):
    fake_exec = FakeExec()
    fake_exec.facts = {"../escape": b"{}"}
    job, dummy_lines, notices = _job(fake_api(), monkeypatch, tmp_path, fake_exec, fact_cache_dir=str(tmp_path / "facts"))
    assert job.run().failure is None
    assert (f"the facts of this run in Pod default/{job.pod_name} were not kept in {tmp_path}/facts: the runner named "
            "a fact file '../escape', which is no file name", True) in notices
    assert not (tmp_path / "escape").exists()


# -- slices --------------------------------------------------------------------------------


class _SliceExec(FakeExec):
    """FakeExec whose follow fails (rc 2) in the Pods named in failing, each with its own host."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.failing = failing

    def __call__(self, endpoint, namespace, pod, container, argv, stdin=None, **kwargs) -> int:
        if argv[2:3] != [runner.FOLLOW]:
            return super().__call__(endpoint, namespace, pod, container, argv, stdin, **kwargs)
        # The slices follow at once, in threads: this answer is built for this Pod alone.
        host = f"host-{pod[-1]}".encode()
        output = b"PLAY RECAP ***\n%s : ok=1\n\n" % host
        events = (b'{"counter": 1, "event": "playbook_on_start", "event_data": {}, "start_line": 0, "end_line": 0}',
                  b'{"counter": 2, "event": "playbook_on_stats", "event_data": {"ok": {"%s": 1}, "processed": {"%s": 1}},'
                  b' "start_line": 0, "end_line": 2}' % (host, host))
        kwargs["on_stdout"](output[int(argv[4]):])
        trailer = b"".join(runner.EVENT_LINE.encode() + b" " + event + b"\n" for event in events)
        trailer += b"%s %d %d 0 0 0 -\n" % (runner.DONE_LINE.encode(), len(output), 2 if pod in self.failing else 0)
        kwargs["on_stderr"](trailer)
        return 0


def _sliced(fake_api, monkeypatch, tmp_path, fake_exec, count=2, **fields):
    (tmp_path / "site.yml").write_text("- hosts: all\n")
    monkeypatch.setattr(_namespace, "exec_in_pod", fake_exec)
    lines: list[tuple[str, bool]] = []
    notices: list[tuple[str, bool]] = []
    spec = JobSpec(group_name="g", playbook="site.yml", project_dir=str(tmp_path), extra_vars={}, limit=None, tags=None,
                   forks=5, verbosity=0, job_timeout=60, pending_timeout=5, reconnect_timeout=2, slices=count, **fields)
    sliced = SlicedJob(count, JobOutputs(spec, "abc", lambda *said: None), lambda line, err: lines.append((line, err)),
                       lambda message, problem: notices.append((message, problem)))
    api = fake_api()
    slices = [[ContainerGroupJob(spec, {"pod_spec_override": {}}, api, job_id="abc", slice_of=(number, count),
                                 on_line=sliced.on_line(number), notice=sliced.notice(number), outputs=sliced.outputs(number))]
              for number in range(1, count + 1)]
    return sliced, slices, api, lines, notices


def test_slices_run_in_pods_of_their_own_and_make_one_job_again(fake_api, monkeypatch, tmp_path):
    fake = _SliceExec()
    sliced, slices, api, lines, notices = _sliced(fake_api, monkeypatch, tmp_path, fake, artifacts_dir=str(tmp_path / "art"),
                                                  events_file=str(tmp_path / "events.jsonl"))
    ran, outcomes, whole = sliced.run(slices)
    assert [job.pod_name for job in ran] == ["cg-g-abc-1", "cg-g-abc-2"] and api.pods == {}
    assert whole.failure is None and whole.rc == 0 and whole.status == "successful"
    assert set(whole.stats) == {"host-1", "host-2"} and whole.stats["host-1"]["ok"] == 1
    assert [outcome.stats.keys() for outcome in outcomes] == [{"host-1"}, {"host-2"}]
    assert ("[1/2] host-1 : ok=1", False) in lines and ("[2/2] host-2 : ok=1", False) in lines
    assert any(message.startswith("[2/2] Pod default/cg-g-abc-2 created for container group 'g' (job abc, slice 2/2)")
               for message, dummy in notices)
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [event["counter"] for event in events] == [1, 2, 3, 4]
    record = tmp_path / "art" / "abc"
    assert (record / "status").read_text() == "successful"
    stdout = (record / "stdout").read_text().splitlines()
    for event in events[1::2]:  # each slice's stats event covers its own slice's lines of the job's stdout
        host = next(iter(event["event_data"]["ok"]))
        assert f"{host} : ok=1" in "\n".join(stdout[event["start_line"]:event["end_line"]])
    starts = [argv for argv in fake.commands if f" {runner.START} " in argv[2]]
    assert len(starts) == 2 and all("--limit" not in argv for argv in starts)
    assert {argv[2].split("ANSIBLE_JOB_EVENTS_IDENT=")[1].split()[0] for argv in starts} == {"abc-1", "abc-2"}


def test_a_failing_slice_fails_the_job_and_is_named(fake_api, monkeypatch, tmp_path):
    sliced, slices, dummy_api, dummy_lines, dummy_notices = _sliced(fake_api, monkeypatch, tmp_path, _SliceExec(("cg-g-abc-2",)))
    dummy_ran, outcomes, whole = sliced.run(slices)
    assert whole.rc == 2 and whole.status == "failed" and [outcome.rc for outcome in outcomes] == [0, 2]
    assert whole.failure.startswith("1 of 2 slices failed: slice 2/2 (Pod default/cg-g-abc-2): the playbook site.yml failed")


def test_a_slice_stopped_from_another_thread_before_its_pod_runs_is_canceled(fake_api, monkeypatch, tmp_path):
    job, dummy_lines, dummy_notices = _job(fake_api(), monkeypatch, tmp_path, FakeExec())
    job.stop_from_another_thread("interrupted by SIGINT")
    outcome = job.run()
    assert outcome.status == "canceled" and outcome.failure == "the job was canceled (interrupted by SIGINT)"
    assert outcome.pod_deleted is True, "the Pod created before the job saw the stop is deleted"


def test_a_job_canceled_from_another_process_says_by_whom(fake_api, monkeypatch, tmp_path):
    class Canceled(FakeExec):
        def __call__(self, endpoint, namespace, pod, container, argv, stdin=None, **kwargs) -> int:
            if argv[2:3] == [runner.FOLLOW]:
                done = f"{runner.DONE_LINE} {len(self.OUTPUT)} 143 0 0 0 ctl/boot/ns/4242/9\n"
                kwargs["on_stdout"](self.OUTPUT)
                kwargs["on_stderr"](done.encode())
                return 0
            return super().__call__(endpoint, namespace, pod, container, argv, stdin, **kwargs)

    job, dummy_lines, dummy_notices = _job(fake_api(), monkeypatch, tmp_path, Canceled(), artifacts_dir=str(tmp_path / "art"))
    outcome = job.run()
    assert outcome.status == "canceled" and outcome.rc is None
    assert outcome.failure == "the job was canceled by container_group_job_cancel from ctl (pid 4242)"
    assert (tmp_path / "art" / job.job_id / "status").read_text() == "canceled"
