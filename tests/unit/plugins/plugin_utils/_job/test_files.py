# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a job puts into its Pod and reads back: the commands, the output lines."""

from __future__ import annotations

import json

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job import files as _files
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod import runner
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import (
    LineSplitter,
    follow_argv,
    job_copies,
    job_files,
    playbook_args,
    recap_of,
    in_pod_source,
    slice_plan,
    start_argv,
    state_argv,
    stop_argv,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import CONTROLLER, PROJECT, JobSpec
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import JobSecrets


def spec(**fields) -> JobSpec:
    values = {"group_name": "g", "playbook": "site.yml", "project_dir": "/p", "extra_vars": {},
              "limit": None, "tags": None, "forks": 5, "verbosity": 0, "job_timeout": 3600, "pending_timeout": 300, "reconnect_timeout": 300}
    values.update(fields)
    return JobSpec(**values)


def test_the_playbook_starts_detached_under_the_runner_with_every_option():
    job = spec(inventories=((PROJECT, "inv/hosts"), (CONTROLLER, "/home/me/inventories/prod/")), limit="web",
               tags="deploy", skip_tags="slow", start_at_task="Deploy it", check=True, diff=True, remote_user="ops",
               become_method="sudo", become_user="admin", forks=3, verbosity=2, job_timeout=90)
    secrets = JobSecrets(vault_passwords=[("prod", b"v1"), (None, b"v2")], become_password="become-pw")
    argv = start_argv(job, secrets)
    assert argv[:2] == ["/bin/sh", "-c"]
    assert argv[2].startswith("cd /tmp/cg-job/project && export ")
    assert argv[2].endswith('exec python3 /tmp/cg-job/meta/runner.py start /tmp/cg-job "$@"')
    assert argv[3:] == [
        "sh", "90", "ansible-playbook", "-i", "inv/hosts", "-i", "/tmp/cg-job/meta/inventory/1/prod",
        "-e", "@/tmp/cg-job/secrets/credential_vars.json", "-e", "@/tmp/cg-job/secrets/extra_vars.json",
        "--vault-id", "prod@/tmp/cg-job/secrets/vault-0", "--vault-password-file", "/tmp/cg-job/secrets/vault-1",
        "--limit", "web", "--tags", "deploy", "--skip-tags", "slow", "--start-at-task", "Deploy it", "--user", "ops",
        "--become-method", "sudo", "--become-user", "admin", "--forks", "3", "--check", "--diff", "-vv", "site.yml"]
    assert not any(value in " ".join(argv) for value in ("v1", "v2", "become-pw"))


def test_the_playbook_defaults_to_localhost_inventory():
    assert playbook_args(spec(forks=0), JobSecrets()) == [
        "ansible-playbook", "-i", "/tmp/cg-job/meta/inventory.ini", "-e", "@/tmp/cg-job/secrets/extra_vars.json", "site.yml"]
    assert "meta/inventory.ini" in job_files(spec(), {})
    assert "meta/inventory.ini" not in job_files(spec(inventories=((PROJECT, "hosts"),)), {})


def test_the_job_files_are_the_runner_the_callback_and_the_secrets_by_their_path_in_the_job_directory():
    files = job_files(spec(), {"env.json": b"{}"})
    assert sorted(files) == ["meta/callback_plugins/job_events.py", "meta/inventory.ini", "meta/processes.py", "meta/runner.py",
                             "meta/slicing.py", "secrets/env.json"]
    assert files["meta/runner.py"] == in_pod_source("runner.py") and b"def follow(" in files["meta/runner.py"]
    assert b"def stop_everything(" in files["meta/processes.py"]
    assert b"def limited_argv(" in files["meta/slicing.py"]


def test_controller_inventories_are_copied_under_their_own_names():
    job = spec(inventories=((PROJECT, "hosts"), (CONTROLLER, "/srv/inv/prod"), (CONTROLLER, "/srv/hosts.yml")))
    assert job_copies(job) == {"meta/inventory/1/prod": "/srv/inv/prod", "meta/inventory/2/hosts.yml": "/srv/hosts.yml"}


def test_follow_and_stop_commands():
    assert follow_argv(1234) == ["python3", "/tmp/cg-job/meta/runner.py", "follow", "/tmp/cg-job", "1234"]
    assert stop_argv(3.0) == ["python3", "/tmp/cg-job/meta/runner.py", "stop", "/tmp/cg-job", "3"]
    assert b"def follow(" in in_pod_source("runner.py")


def test_recap_of_finds_the_last_recap():
    lines = ["PLAY RECAP ***", "old : ok=1", "", "PLAY [x]", "PLAY RECAP *****",
             "localhost : ok=2 failed=0", "other : ok=1 failed=1", "", "trailing"]
    assert recap_of(lines) == ["localhost : ok=2 failed=0", "other : ok=1 failed=1"]
    assert recap_of(["no recap here"]) == []


def test_line_splitter_joins_partial_chunks_and_keeps_stdout_tail():
    seen = []
    splitter = LineSplitter(lambda line, err: seen.append((line, err)))
    for chunk in (b"TASK [a]\nok: [loc", b"alhost]\r\n", b"\xff broken utf8 \n", b"tail without newline"):
        splitter.feed(chunk)
    assert seen == [("TASK [a]", False), ("ok: [localhost]", False), ("\ufffd broken utf8 ", False)]
    splitter.flush()
    assert seen[-1] == ("tail without newline", False)
    assert splitter.kept == [line for line, _stderr in seen]


def test_a_line_in_many_chunks_is_whole_and_a_line_past_the_cap_says_what_it_left_out(monkeypatch):
    seen: list[str] = []
    splitter = LineSplitter(lambda line, err: seen.append(line))
    for piece in (b"ab", b"c", b"d\nef", b"", b"g\n\nh"):
        splitter.feed(piece)
    splitter.flush()
    assert seen == ["abcd", "efg", "", "h"]
    monkeypatch.setattr(_files, "MAX_LINE_BYTES", 10)
    monkeypatch.setattr(_files, "_MASK_MARGIN_BYTES", 8)
    long: list[str] = []
    splitter = LineSplitter(lambda line, err: long.append(line), mask=lambda text: text.replace("SECRET99", "********"))
    splitter.feed(b"0123456SEC")
    splitter.feed(b"RET99" + b"x" * 100 + b"\nnext\n")
    assert long == ["0123456***" + " [... 105 more bytes of this line not shown]", "next"]


def test_a_job_that_keeps_facts_ships_its_cache_and_points_the_run_at_it(tmp_path):
    (tmp_path / "facts").mkdir()
    job = spec(fact_cache_dir=str(tmp_path / "facts"))
    script = start_argv(job, JobSecrets(), "j1")[2]
    assert "ANSIBLE_CACHE_PLUGIN=jsonfile" in script and "ANSIBLE_CACHE_PLUGIN_CONNECTION=/tmp/cg-job/fact_cache" in script
    assert "ANSIBLE_JOB_EVENTS_IDENT=j1" in script
    assert job_copies(job) == {"fact_cache": str(tmp_path / "facts")}
    assert job_copies(spec(fact_cache_dir=str(tmp_path / "none-yet"))) == {}, "a cache that does not exist yet ships nothing"
    assert "ANSIBLE_CACHE_PLUGIN" not in start_argv(spec(), JobSecrets())[2]


def test_a_slice_lists_the_inventory_as_the_playbook_sees_it_and_leaves_the_limit_to_its_runner():
    job = spec(limit="web", inventories=((PROJECT, "hosts.ini"),), vault_password_files=((None, "/v"),))
    secrets = JobSecrets(vault_passwords=[(None, b"pw")])
    plan = json.loads(slice_plan(job, secrets, 2, 3))
    assert plan["index"] == 2 and plan["count"] == 3
    assert plan["hosts_argv"][:3] == ["ansible", "all", "--list-hosts"]
    assert plan["hosts_argv"][3:] == playbook_args(job, secrets, sliced=True)[1:-3], "the same inventories and vault"
    assert plan["limited_hosts_argv"] == [*plan["hosts_argv"], "--limit", "web"]
    assert "--limit" not in playbook_args(job, secrets, sliced=True)
    assert "--limit" in playbook_args(job, secrets)
    assert json.loads(slice_plan(spec(), JobSecrets(), 1, 2))["limited_hosts_argv"] is None
    files = job_files(job, {}, slice_plan(job, secrets, 2, 3))
    assert json.loads(files[runner.SLICE]) == plan


def test_a_cancel_names_who_asks_and_the_state_command():
    assert stop_argv(3.0, "host/boot/ns/1/2")[-2:] == ["3", "host/boot/ns/1/2"]
    assert state_argv() == ["python3", "/tmp/cg-job/meta/runner.py", "state", "/tmp/cg-job"]
