# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin is a thin adapter: options in, a job, a result out."""

from __future__ import annotations

import os
import typing as t

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.ephemeral.container_groups.plugins.action import container_group_job as action_module
from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import StateStore
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.outcome import JobOutcome

TOKEN = "action-test-token"


class _Shell:
    tmpdir = "/nonexistent"  # set, so the base class never makes a remote tmp dir


class _Connection:
    _shell = _Shell()


class _Task:
    action = "ephemeral.container_groups.container_group_job"
    async_val = 0

    def __init__(self, args: dict, check_mode: bool) -> None:
        self.args = args
        self.check_mode = check_mode


@pytest.fixture()
def project(tmp_path):
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "site.yml").write_text("- hosts: all\n")
    state_file = str(tmp_path / "state.yml")

    def fill(state: dict) -> None:
        state["credentials"]["lab"] = {"host": "https://lab.example:6443", "bearer_token": TOKEN, "verify_ssl": True,
                                       "ssl_ca_cert": None}
        state["container_groups"]["builds"] = {"credential": "lab", "max_concurrent_jobs": 0, "max_forks": 3,
                                               "pod_spec_override": {"metadata": {"namespace": "jobs"}}}
        state["container_groups"]["local"] = {"credential": None, "max_concurrent_jobs": 0, "max_forks": 0,
                                              "pod_spec_override": {}}
        state["container_groups"]["big"] = {"credential": "lab", "max_concurrent_jobs": 2, "max_forks": 0,
                                            "pod_spec_override": {"metadata": {"namespace": "batch"}}}

    StateStore(state_file).update(fill)
    return {"playbook": str(tmp_path / "project" / "site.yml"), "state_file": state_file}


def run_action(args: dict, check_mode: bool = False) -> dict:
    action = action_module.ActionModule(_Task(args, check_mode), _Connection(), None, None, None, None)
    return action.run(task_vars={})


def test_check_mode_names_the_pod_it_would_create_and_calls_no_api(project, monkeypatch):
    monkeypatch.setattr(action_module.ContainerGroupJob, "run", lambda job: pytest.fail("check mode ran the job"))
    result = run_action({"container_group": "builds", **project}, check_mode=True)
    assert result["changed"] is False and result["namespace"] == "jobs"
    assert result["pod_name"].startswith("cg-builds-") and len(result["job_id"]) == 12
    assert result["msg"] == ("check mode: would run site.yml in a new Pod of container group 'builds' in namespace jobs; "
                             f"project copy of {os.path.dirname(project['playbook'])}: 1 file, 13 bytes")
    assert result["project_copy"] == {"files": 1, "bytes": 13, "left_out": {}}


def test_the_outcome_of_the_job_becomes_the_result(project, monkeypatch):
    seen: dict[str, t.Any] = {}

    def run(job):
        seen["forks"] = job.spec.forks
        return JobOutcome(changed=True, rc=0, pod_deleted=True, recap=["localhost : ok=1"], timings={"run": 1.0})

    monkeypatch.setattr(action_module.ContainerGroupJob, "run", run)
    result = run_action({"container_group": "builds", "forks": 10, **project})
    assert seen["forks"] == 3, "max_forks of the group caps forks"
    assert result["changed"] is True and result["rc"] == 0 and result["pod_deleted"] is True
    assert result["recap"] == ["localhost : ok=1"] and "failed" not in result
    assert result["msg"].startswith("the playbook site.yml succeeded in Pod jobs/cg-builds-")


def test_check_mode_with_a_list_of_groups_names_each(project, monkeypatch):
    monkeypatch.setattr(action_module.ContainerGroupJob, "run", lambda job: pytest.fail("check mode ran the job"))
    result = run_action({"container_group": "builds,big", **project}, check_mode=True)
    assert result["msg"] == ("check mode: would run site.yml in a new Pod of the first with room of: container group "
                             "'builds' in namespace jobs; container group 'big' in namespace batch; project copy of "
                             f"{os.path.dirname(project['playbook'])}: 1 file, 13 bytes")
    assert result["container_group"] == "builds"


def test_a_list_of_groups_runs_one_job_per_group_with_one_id_and_reports_the_group_that_ran(project, monkeypatch):
    seen: dict[str, t.Any] = {}

    def run_in_first_with_room(jobs, notice):
        seen.update(groups=[job.spec.group_name for job in jobs], ids={job.job_id for job in jobs},
                    forks=[job.spec.forks for job in jobs])
        return jobs[1], JobOutcome(changed=True, rc=0, pod_deleted=True, pod_name=jobs[1].pod_name)

    monkeypatch.setattr(action_module, "run_in_first_with_room", run_in_first_with_room)
    result = run_action({"container_group": ["builds", "big"], "forks": 10, **project})
    assert seen["groups"] == ["builds", "big"] and len(seen["ids"]) == 1 and seen["forks"] == [3, 10]
    assert result["container_group"] == "big" and result["namespace"] == "batch"
    assert result["pod_name"].startswith("cg-big-") and result["msg"].startswith("the playbook site.yml succeeded in Pod batch/cg-big-")


def test_a_failed_job_fails_the_task_with_its_message(project, monkeypatch):
    monkeypatch.setattr(action_module.ContainerGroupJob, "run",
                        lambda job: JobOutcome(changed=True, rc=2, failure="the playbook failed", pod_deleted=True))
    result = run_action({"container_group": "builds", **project})
    assert result["failed"] is True and result["msg"] == "the playbook failed" and result["rc"] == 2


def test_a_job_that_never_made_a_pod_reports_no_deletion(project, monkeypatch):
    monkeypatch.setattr(action_module.ContainerGroupJob, "run", lambda job: JobOutcome(failure="cannot create Pod"))
    result = run_action({"container_group": "builds", **project})
    assert result["failed"] is True and "pod_deleted" not in result and result["changed"] is False


@pytest.mark.parametrize(
    "args, message",
    [
        ({"container_group": "nope"}, "container group 'nope' is not defined in state file"),
        ({"container_group": "builds,nope"}, "container group 'nope' is not defined in state file"),
        ({"container_group": " , "}, "container_group: no group named"),
        ({"container_group": "local"}, "container group 'local' has no credential (kubernetes: false)"),
        ({"container_group": "builds", "playbook": "/nonexistent/site.yml"}, "playbook /nonexistent/site.yml does not exist"),
        ({"container_group": "builds", "job_timeout": 0}, "job_timeout must be at least 1 second, got 0"),
        ({"container_group": "builds", "inventory": "../hosts"}, "inventory '../hosts' is neither in the project directory"),
        ({"container_group": "builds", "vault_password_file": "prod@prompt"}, "a job cannot prompt"),
        ({"container_group": "builds", "private_key_file": "/nonexistent/key"}, "private_key_file: /nonexistent/key is not a readable file"),
        ({"container_group": "builds", "job_env": {"NOT-A-NAME": "x"}}, "job_env: 'NOT-A-NAME' is not an environment variable name"),
    ],
)
def test_bad_inputs_fail_before_any_api_call(project, args, message):
    with pytest.raises(AnsibleActionFail) as info:
        run_action({**project, **args})
    assert message in str(info.value)
    assert TOKEN not in str(info.value)


def test_the_project_is_chosen_before_any_job_and_withheld_credentials_are_said(project, monkeypatch):
    said = []
    monkeypatch.setattr(action_module, "say", lambda message, stderr=False: said.append(message))
    monkeypatch.setattr(action_module.ContainerGroupJob, "__init__", lambda *args, **kwargs: pytest.fail("a job was made"))
    project_dir = os.path.dirname(project["playbook"])
    os.symlink("/etc/hostname", os.path.join(project_dir, "leak"))
    with pytest.raises(AnsibleActionFail, match=f"^{project_dir}/leak is a symbolic link to /etc/hostname, outside "):
        run_action({"container_group": "builds", **project}, check_mode=True)
    os.remove(os.path.join(project_dir, "leak"))
    os.mkdir(os.path.join(project_dir, ".ssh"))
    monkeypatch.undo()
    monkeypatch.setattr(action_module, "say", lambda message, stderr=False: said.append(message))
    result = run_action({"container_group": "builds", **project}, check_mode=True)
    assert result["project_copy"]["left_out"] == {"credentials": [".ssh/"]}
    assert said == [f"project copy of {project_dir}: left out .ssh/: credentials and the state file are never shipped "
                    "(a job's secrets travel as its credentials, job_env and secret_vars)"]
