# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner the job puts into its Pod, run here as real processes: start detached, follow
by byte offset, stop at the timeout, stop on request."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod import processes
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod import runner as _job_runner

RUNNER = _job_runner.__file__
DONE = _job_runner.DONE_LINE.encode()
EVENT = _job_runner.EVENT_LINE.encode()


def runner(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, RUNNER, *args], capture_output=True, timeout=timeout, check=False)


def wait_for_status(job_dir, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while not os.path.exists(os.path.join(job_dir, _job_runner.STATUS)):
        assert time.monotonic() < deadline, "the target did not end"
        time.sleep(0.05)
    with open(os.path.join(job_dir, _job_runner.STATUS)) as handle:
        status = json.load(handle)
    # The memory cgroup's figures are the container's in a Pod, this machine's here: checked apart.
    assert isinstance(status.pop("oom_kills", 0), int) and isinstance(status.pop("memory_limit", 0), int)
    return status


def done_line(stderr: bytes, canceled_by: bytes = b"-") -> bytes:
    """The runner's last stderr line without its two memory figures (OOM kills, limit) and
    who canceled the job (checked: nobody, unless said)."""
    words = stderr.rstrip(b"\n").split(b"\n")[-1].split(b" ")
    assert len(words) == 7 and words[4].isdigit() and words[5].isdigit() and words[6] == canceled_by, words
    return b" ".join(words[:4])


def test_the_target_runs_detached_and_its_output_is_followed_from_any_byte(tmp_path):
    job = str(tmp_path)
    script = "import sys, time\nfor i in range(5):\n    print('line', i, flush=True); time.sleep(0.1)\nsys.exit(3)\n"
    started = runner("start", job, "60", sys.executable, "-c", script)
    assert started.returncode == 0 and started.stdout == b"started\n"
    whole = runner("follow", job, "0")
    assert whole.returncode == 0
    assert whole.stdout == b"".join(b"line %d\n" % i for i in range(5))
    assert done_line(whole.stderr) == b"%s %d 3 0" % (DONE, len(whole.stdout))
    tail = runner("follow", job, "7")  # from the middle of the second line
    assert tail.stdout == whole.stdout[7:]
    assert wait_for_status(job) == {"rc": 3, "timed_out": False}
    again = runner("start", job, "60", sys.executable, "-c", script)
    assert again.stdout == b"already started\n"  # a retried start starts nothing


def test_stdout_and_stderr_are_interleaved_in_one_file(tmp_path):
    job = str(tmp_path)
    script = "import sys\nprint('out', flush=True)\nprint('err', file=sys.stderr, flush=True)\nprint('out2', flush=True)\n"
    runner("start", job, "60", sys.executable, "-c", script)
    assert runner("follow", job, "0").stdout == b"out\nerr\nout2\n"


def test_the_target_is_stopped_at_its_timeout_with_no_controller_left(tmp_path):
    job = str(tmp_path)
    runner("start", job, "1", "sleep", "30")
    assert wait_for_status(job, 15) == {"rc": 143, "timed_out": True}
    assert done_line(runner("follow", job, "0").stderr) == DONE + b" 0 143 1"


def test_stop_signals_the_targets_process_group(tmp_path):
    job = str(tmp_path)
    # A shell with a child: both are in the target's process group.
    runner("start", job, "60", "sh", "-c", "sleep 30 & echo child $!; wait")
    deadline = time.monotonic() + 10
    while b"child" not in open(os.path.join(job, _job_runner.OUTPUT), "rb").read():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int(open(os.path.join(job, _job_runner.OUTPUT), "rb").read().split()[1])
    stopped = runner("stop", job, "5")
    assert stopped.stdout == _job_runner.STOPPED.encode() + b"\n"
    assert wait_for_status(job)["rc"] == 143
    deadline = time.monotonic() + 5
    while processes.alive(child):
        assert time.monotonic() < deadline, "the target's child outlived the stop"
        time.sleep(0.05)
    assert runner("stop", job, "5").stdout == _job_runner.NOT_RUNNING.encode() + b"\n"


_DAEMONIZING_TARGET = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        print("daemon", os.getpid(), flush=True)
        time.sleep(60)
    os._exit(0)
os.wait()
time.sleep(60)
"""


def test_stop_reaches_what_left_the_targets_session(tmp_path):
    # A double-forked daemon in a session of its own, as ansible-core 2.21's forks and ssh's
    # ControlPersist master are: the process group misses it, the subreaper does not.
    job = str(tmp_path)
    runner("start", job, "60", sys.executable, "-c", _DAEMONIZING_TARGET)
    deadline = time.monotonic() + 10
    while b"daemon" not in open(os.path.join(job, _job_runner.OUTPUT), "rb").read():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    daemon = int(open(os.path.join(job, _job_runner.OUTPUT), "rb").read().split()[1])
    assert os.getpgid(daemon) != int(open(os.path.join(job, "pgid")).read())
    assert runner("stop", job, "5").stdout == _job_runner.STOPPED.encode() + b"\n"
    assert not processes.alive(daemon), "the daemon outlived the stop"
    assert wait_for_status(job)["rc"] == 143


def test_the_timeout_stops_what_left_the_targets_session(tmp_path):
    job = str(tmp_path)
    runner("start", job, "1", sys.executable, "-c", _DAEMONIZING_TARGET)
    assert wait_for_status(job, 15) == {"rc": 143, "timed_out": True}
    daemon = int(open(os.path.join(job, _job_runner.OUTPUT), "rb").read().split()[1])
    assert not processes.alive(daemon), "the daemon outlived the timeout"


def test_a_command_that_cannot_start_ends_with_127(tmp_path):
    job = str(tmp_path)
    started = runner("start", job, "60", "/nonexistent/ansible-playbook")
    assert started.returncode == 1
    assert b"cannot start /nonexistent/ansible-playbook" in started.stderr
    assert wait_for_status(job)["rc"] == 127
    followed = runner("follow", job, "0")
    assert b"cannot start /nonexistent/ansible-playbook" in followed.stdout


def _secrets(job_dir, **files: bytes) -> str:
    secrets = os.path.join(job_dir, "secrets")
    os.makedirs(secrets, mode=0o700, exist_ok=True)
    for name, data in files.items():
        with open(os.open(os.path.join(secrets, name), os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
            handle.write(data)
    return secrets


def test_the_target_gets_job_env_and_the_secrets_are_removed_when_it_ends(tmp_path):
    job = str(tmp_path)
    secrets = _secrets(job, **{"env.json": json.dumps({"CLOUD_TOKEN": "t0ken-value"}).encode(), "extra_vars.json": b"{}"})
    runner("start", job, "60", sys.executable, "-c", "import os; print(os.environ['CLOUD_TOKEN'])")
    assert wait_for_status(job)["rc"] == 0
    assert runner("follow", job, "0").stdout == b"t0ken-value\n"
    assert os.listdir(secrets) == []


def test_a_home_the_user_cannot_use_is_replaced_by_the_jobs_own(tmp_path):
    # An arbitrary UID in an image not made for one: HOME=/ or a home that is not there.
    job = str(tmp_path / "job")
    os.mkdir(job)
    env = dict(os.environ, HOME=str(tmp_path / "no-such-home"))
    subprocess.run([sys.executable, RUNNER, "start", job, "60", sys.executable, "-c",
                    "import os; print(os.environ['HOME']); open(os.path.expanduser('~/probe'), 'w').close()"],
                   env=env, capture_output=True, timeout=30, check=True)
    assert wait_for_status(job)["rc"] == 0
    home = os.path.join(job, "home")
    assert runner("follow", job, "0").stdout == (home + "\n").encode()
    assert os.path.exists(os.path.join(home, "probe"))
    assert os.stat(home).st_mode & 0o777 == 0o700


@pytest.mark.parametrize(("make", "kept"), [("dir", True), ("file", False), ("none", False), ("empty", False)])
def test_writable_home(tmp_path, make, kept):
    home = tmp_path / "home"
    if make == "dir":
        home.mkdir()
    elif make == "file":
        home.write_text("")
    given = "" if make == "empty" else str(home)
    job = tmp_path / "job"
    job.mkdir()
    assert _job_runner._writable_home(given, str(job)) == (str(home) if kept else str(job / "home"))


@pytest.mark.skipif(not shutil.which("ssh-agent"), reason="needs openssh-client")
def test_the_private_key_is_loaded_into_an_agent_and_its_file_removed(tmp_path):
    job = str(tmp_path)
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass-phrase", "-C", "cg-unit", "-f", str(key)], check=True)
    secrets = _secrets(job, private_key=key.read_bytes(), private_key_passphrase=b"pass-phrase")
    started = runner("start", job, "60", "sh", "-c", "ls \"$(dirname \"$SSH_AUTH_SOCK\")\"; ssh-add -l")
    assert started.returncode == 0, started.stderr
    assert wait_for_status(job)["rc"] == 0
    listed = runner("follow", job, "0").stdout.decode()
    assert "agent.sock" in listed and "private_key" not in listed and "askpass" not in listed
    assert "cg-unit (ED25519)" in listed
    assert os.listdir(secrets) == []


@pytest.mark.skipif(not shutil.which("ssh-agent"), reason="needs openssh-client")
def test_a_key_without_a_passphrase_is_loaded_too(tmp_path):
    job = str(tmp_path)
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cg-plain", "-f", str(key)], check=True)
    secrets = _secrets(job, private_key=key.read_bytes())
    started = runner("start", job, "60", "ssh-add", "-l")
    assert started.returncode == 0, started.stderr
    assert wait_for_status(job)["rc"] == 0
    assert "cg-plain (ED25519)" in runner("follow", job, "0").stdout.decode()
    assert os.listdir(secrets) == []


@pytest.mark.skipif(not shutil.which("ssh-agent"), reason="needs openssh-client")
def test_a_wrong_passphrase_fails_the_start_with_the_reason(tmp_path):
    job = str(tmp_path)
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass-phrase", "-f", str(key)], check=True)
    secrets = _secrets(job, private_key=key.read_bytes(), private_key_passphrase=b"wrong")
    started = runner("start", job, "60", "true")
    assert started.returncode == 1
    assert b"ssh-add refused private_key_file" in started.stderr
    assert os.listdir(secrets) == []


def test_an_image_without_ssh_agent_fails_the_start_saying_what_it_needs(tmp_path):
    job = str(tmp_path)
    secrets = _secrets(job, private_key=b"not used")
    started = subprocess.run([sys.executable, RUNNER, "start", job, "60", "true"], capture_output=True, timeout=60,
                             check=False, env={"PATH": str(tmp_path / "empty-path")})
    assert started.returncode == 1
    assert b"the image has no ssh-agent" in started.stderr and b"openssh-client" in started.stderr
    assert os.listdir(secrets) == []


def test_follow_sends_the_job_events_whole_after_the_output(tmp_path):
    job = str(tmp_path)
    runner("start", job, "60", sys.executable, "-c", "print('out')")
    assert wait_for_status(job)["rc"] == 0
    with open(os.path.join(job, _job_runner.EVENTS), "w") as handle:
        handle.write('{"counter": 1}\n{"counter": 2}\n{"counter": 3, "cu')
    followed = runner("follow", job, "0")
    assert followed.stdout == b"out\n"
    assert EVENT + b' {"counter": 1}\n' + EVENT + b' {"counter": 2}\n' + DONE + b" 4 0 0 " in followed.stderr
    assert done_line(followed.stderr) == DONE + b" 4 0 0"


@pytest.mark.parametrize(("files", "expected"), [
    ({"memory.events": "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n", "memory.max": "67108864\n"}, (2, 67108864)),
    ({"memory.events": "oom_kill 0\n", "memory.max": "max\n"}, (0, 0)),
    ({"memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
      "memory/memory.limit_in_bytes": "9223372036854771712\n"}, (1, 0)),
    ({"memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
      "memory/memory.limit_in_bytes": "67108864\n"}, (3, 67108864)),
    ({}, (0, 0)),
])
def test_the_oom_kills_and_the_limit_are_read_from_cgroup_v2_or_v1(tmp_path, monkeypatch, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(processes, "_MEMORY_CGROUPS", (
        (str(tmp_path / "memory.events"), str(tmp_path / "memory.max")),
        (str(tmp_path / "memory/memory.oom_control"), str(tmp_path / "memory/memory.limit_in_bytes"))))
    assert processes.oom_kills() == expected


def test_facts_are_the_fact_files_the_run_wrote_in_base64(tmp_path):
    job = str(tmp_path)
    cache = tmp_path / _job_runner.FACT_CACHE
    cache.mkdir()
    (cache / "shipped").write_text('{"old": 1}')
    os.utime(cache / "shipped", (1, 1))  # as the tar left it: older than the run
    write = "import sys; open(sys.argv[1] + '/web1', 'w').write('{\"new\": 1}')"
    runner("start", job, "60", sys.executable, "-c", write, str(cache))
    assert wait_for_status(job)["rc"] == 0
    said = runner("facts", job)
    assert said.returncode == 0
    assert {name: base64.b64decode(data) for name, data in json.loads(said.stdout).items()} == {"web1": b'{"new": 1}'}


def test_facts_of_a_job_without_a_fact_cache_are_none(tmp_path):
    runner("start", str(tmp_path), "60", sys.executable, "-c", "pass")
    wait_for_status(str(tmp_path))
    assert json.loads(runner("facts", str(tmp_path)).stdout) == {}


def test_a_canceled_job_says_so_in_its_status_its_state_and_its_follow(tmp_path):
    job = str(tmp_path)
    runner("start", job, "60", "sh", "-c", "echo begun; sleep 30")
    state = json.loads(runner("state", job).stdout)
    assert state["started"] and not state["ended"] and state["rc"] is None and state["canceled"] is None
    stopped = runner("stop", job, "5", "host/boot/ns/42/7")
    assert stopped.stdout == _job_runner.STOPPED.encode() + b"\n"
    assert wait_for_status(job) == {"rc": 143, "timed_out": False, "canceled": "host/boot/ns/42/7"}
    state = json.loads(runner("state", job).stdout)
    assert state["ended"] and state["rc"] == 143 and state["canceled"] == "host/boot/ns/42/7"
    assert state["output"] == len(b"begun\n") and isinstance(state["started_at"], float)
    followed = runner("follow", job, "0")
    assert followed.stdout == b"begun\n"
    assert done_line(followed.stderr, b"host/boot/ns/42/7") == b"%s 6 143 0" % DONE


def test_the_state_of_a_job_not_started_yet(tmp_path):
    state = json.loads(runner("state", str(tmp_path)).stdout)
    assert state == {"started": False, "ended": False, "rc": None, "timed_out": False, "canceled": None, "output": 0,
                     "started_at": None}


def test_the_mask_list_outlives_the_run_the_other_secrets_do_not(tmp_path):
    job = str(tmp_path)
    secrets = tmp_path / _job_runner.SECRETS
    secrets.mkdir()
    (secrets / _job_runner.MASK_FILE).write_text('["s3cret-value"]')
    (secrets / "vault-0").write_text("s3cret-value")
    runner("start", job, "60", "true")
    wait_for_status(job)
    assert sorted(os.listdir(secrets)) == [_job_runner.MASK_FILE]


_LIST_HOSTS = """
import sys
hosts = ["h1", "h2", "h3", "h4", "h5"]
if "--limit" in sys.argv:
    hosts = [host for host in hosts if host != "h3"]
print("  hosts (%d):" % len(hosts))
for host in hosts:
    print("    " + host)
"""


@pytest.mark.parametrize(("index", "count", "limit", "expected"), [
    (1, 2, False, ["h1", "h3", "h5"]),
    (2, 2, False, ["h2", "h4"]),
    (1, 2, True, ["h1", "h5"]),  # the job's limit applies within the slice
    (3, 3, False, ["h3"]),
])
def test_a_slice_runs_its_hosts_of_the_inventory(tmp_path, index, count, limit, expected):
    job = str(tmp_path)
    (tmp_path / _job_runner.META).mkdir()
    lister = tmp_path / "list_hosts.py"
    lister.write_text(_LIST_HOSTS)
    hosts_argv = [sys.executable, str(lister)]
    plan = {"index": index, "count": count, "hosts_argv": hosts_argv,
            "limited_hosts_argv": [*hosts_argv, "--limit", "x"] if limit else None}
    (tmp_path / _job_runner.SLICE).write_text(json.dumps(plan))
    runner("start", job, "60", sys.executable, "-c", "import sys; print(sys.argv[1:])", "--check")
    assert wait_for_status(job)["rc"] == 0
    limit_file = os.path.join(job, _job_runner.SLICE_HOSTS)
    output = open(os.path.join(job, _job_runner.OUTPUT)).read()
    assert output == "slice %d/%d: %s\n%r\n" % (index, count, ", ".join(expected), ["--check", "--limit", "@" + limit_file])
    assert open(limit_file).read().split() == expected


def test_a_slice_without_hosts_ends_at_once_and_successfully(tmp_path):
    job = str(tmp_path)
    (tmp_path / _job_runner.META).mkdir()
    lister = tmp_path / "list_hosts.py"
    lister.write_text(_LIST_HOSTS)
    plan = {"index": 7, "count": 7, "hosts_argv": [sys.executable, str(lister)], "limited_hosts_argv": None}
    (tmp_path / _job_runner.SLICE).write_text(json.dumps(plan))
    assert runner("start", job, "60", "false").stdout == b"started\n"
    assert wait_for_status(job)["rc"] == 0
    assert open(os.path.join(job, _job_runner.OUTPUT)).read() == "slice 7/7: no host of the inventory falls in this slice; nothing to run\n"


def test_a_slice_whose_inventory_cannot_be_listed_fails_to_start_saying_why(tmp_path):
    job = str(tmp_path)
    (tmp_path / _job_runner.META).mkdir()
    plan = {"index": 1, "count": 2, "hosts_argv": [sys.executable, "-c", "import sys; sys.exit('bad inventory')"],
            "limited_hosts_argv": None}
    (tmp_path / _job_runner.SLICE).write_text(json.dumps(plan))
    started = runner("start", job, "60", "true")
    assert started.returncode == 1
    assert b"listing the inventory's hosts for the slice failed (exit status 1): bad inventory" in started.stderr
