# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The job's runner, run inside the Pod: the target outlives every connection to it.

The job copies this file into the Pod (as RUNNER in the job directory) and runs it with the
image's ``python3`` (the standard library only, Python 3.6+, since it runs on whatever the
execution environment has). The words of its protocol with the controller are the constants
below the imports; the controller imports them from here.

``START DIR TIMEOUT ARGV...``
    Starts ARGV detached, in a session of its own, stdout and stderr interleaved into
    DIR/OUTPUT, and returns at once. A supervisor process waits for it, stops it at TIMEOUT
    seconds (see ``STOP``; SIGKILL 10 s after SIGTERM) even when no controller is left, and then
    writes DIR/STATUS (the exit status, atomically). Starting twice starts once. The supervisor
    is a child subreaper: whatever the target starts stays below it, even a process that leaves
    the target's session (ansible-core 2.21 puts each fork in a session of its own; ssh's
    ControlPersist master daemonizes), so nothing escapes ``STOP``. From DIR/SECRETS (the job's
    memory-backed volume) it takes ENV_FILE (the target's extra environment) and PRIVATE_KEY
    (loaded into an ssh-agent below the supervisor, with PRIVATE_KEY_PASSPHRASE through
    SSH_ASKPASS; both files are removed at once); every file there is removed when the target
    ends. A target that cannot start makes ``START`` fail with the reason on stderr. With
    META/SLICE (a slice of a job: index, count and the command that lists the inventory's
    hosts), the supervisor first lists the hosts, keeps host i when i mod count is the slice's
    (in the inventory's order), and runs ARGV with ``--limit @file`` of those; a slice without
    hosts ends at once with status 0, saying so.
``FOLLOW DIR OFFSET``
    Copies DIR/OUTPUT from byte OFFSET to stdout as it grows, until the target has ended and
    every byte is out; then writes the job events (``EVENT_LINE <json>``, one line each) and
    ``DONE_LINE <size> <rc> <timed out 0|1> <OOM kills> <memory limit> <canceled by>`` on
    stderr (the container's memory cgroup's count of processes the OOM killer killed, and its
    limit in bytes, 0 for none; who canceled the job, ``-`` if nobody). While the target is quiet it writes a
    newline on stderr every few seconds, so no idle timeout of the API server or kubelet cuts
    the stream. ``LOST_LINE <size>`` if the supervisor died without a status (killed).
``STOP DIR GRACE [BY]``
    SIGTERM to the target's process group and to every process below the supervisor, SIGKILL
    after GRACE seconds to whatever is left; prints STOPPED, KILLED, STILL_RUNNING or
    NOT_RUNNING. With BY (who asks, one word), the job is canceled: the status says so, and
    the controller that follows it reports it canceled.
``STATE DIR``
    Prints the job's state as one JSON object: started, ended, rc, timed_out, canceled (BY or
    null), output (bytes so far) and started_at (seconds since the epoch, null before).
``FACTS DIR``
    Prints the files of DIR/FACT_CACHE (the run's jsonfile fact cache) that the run wrote, as
    one JSON object: file name -> its content in base64 (the files stay opaque: each
    ansible-core writes its own format).
"""

import base64

import configparser
import json
import os
import signal
import subprocess
import sys
import time
from typing import BinaryIO, Dict, List, Optional, TextIO

if __package__:  # imported as part of the collection (the controller, the tests)
    from . import processes, slicing
else:  # run as a script in the Pod, where the job puts processes.py and slicing.py beside it
    import processes  # type: ignore[no-redef,import-not-found]
    import slicing  # type: ignore[no-redef,import-not-found]

# -- The protocol between this runner and the controller, spelled here once. The controller
# (``_job``) and the tests import these names; the runner copied into the Pod carries them.

#: The commands (the first argument).
START = "start"
FOLLOW = "follow"
STOP = "stop"
STATE = "state"
FACTS = "facts"
#: The lines ``follow`` writes on stderr once the output is whole: ``EVENT_LINE <json>`` for
#: each job event, then ``DONE_LINE <size> <rc> <timed out 0|1> <OOM kills> <memory limit>``;
#: or ``LOST_LINE <size>``.
EVENT_LINE = "CG-EVENT"
DONE_LINE = "CG-DONE"
LOST_LINE = "CG-LOST"
#: What ``stop`` prints.
STOPPED = "stopped"
KILLED = "killed"
STILL_RUNNING = "still running"
NOT_RUNNING = "not running"
#: The job directory (DIR on the command line). The controller copies in META (this runner
#: as RUNNER, the job_events callback in CALLBACK_PLUGINS) and SECRETS (a memory-backed
#: volume holding ENV_FILE, PRIVATE_KEY and PRIVATE_KEY_PASSPHRASE among others); the
#: runner writes the rest.
META = "meta"
RUNNER = META + "/runner.py"
CALLBACK_PLUGINS = META + "/callback_plugins"
SECRETS = "secrets"
ENV_FILE = "env.json"
#: What the controller masks (JSON list), kept when the rest of SECRETS is cleared, for a
#: follower from another process.
MASK_FILE = "mask.json"
PRIVATE_KEY = "private_key"
PRIVATE_KEY_PASSPHRASE = "private_key_passphrase"
#: The target's stdout and stderr, interleaved.
OUTPUT = "output"
#: The target's exit status, once it has ended: JSON {"rc", "timed_out"[, "error"]}.
STATUS = "status"
#: Where the job_events callback writes (ANSIBLE_JOB_EVENTS_PATH).
EVENTS = "events.jsonl"
#: The run's jsonfile fact cache, when the job keeps facts (the controller ships the cached
#: files in and sets ANSIBLE_CACHE_PLUGIN_CONNECTION to it).
FACT_CACHE = "fact_cache"
#: A slice's instructions (JSON: index, count, hosts_argv, limited_hosts_argv) and its hosts.
SLICE = META + "/slice.json"
SLICE_HOSTS = META + "/slice_hosts"
#: Who canceled the job (STOP with BY), until the supervisor puts it in STATUS.
_CANCELED = "canceled"
#: Written just before the target starts: a fact file newer than it was written by the run.
_STARTED = "started"
_SUPERVISOR = "supervisor"
_PGID = "pgid"
_AGENT_SOCKET = "agent.sock"
_ASKPASS = "askpass"

KILL_AFTER_SECONDS = 10
POLL_SECONDS = processes.POLL_SECONDS
KEEPALIVE_SECONDS = 5.0
CHUNK = 256 * 1024


def _write_atomically(path: str, text: str) -> None:
    temp = path + ".tmp"
    with open(temp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(temp, path)


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


class _StartError(Exception):
    """The target cannot start; the message says why, for the controller."""


def _target_env(job_dir: str) -> Dict[str, str]:
    env = dict(os.environ)
    try:
        with open(os.path.join(job_dir, SECRETS, ENV_FILE)) as handle:
            env.update(json.load(handle))
    except FileNotFoundError:
        pass
    callbacks = os.path.join(job_dir, CALLBACK_PLUGINS)
    if os.path.isdir(callbacks):
        # job_events loads itself from a callback path (it needs no enabling), so the
        # project's callbacks_enabled stays as it is; the path keeps what Ansible would use.
        env["ANSIBLE_CALLBACK_PLUGINS"] = callbacks + ":" + (env.get("ANSIBLE_CALLBACK_PLUGINS") or _configured_callback_path(env))
        env["ANSIBLE_JOB_EVENTS_PATH"] = os.path.join(job_dir, EVENTS)
        # The callback reads what each event printed from the output file.
        env["ANSIBLE_JOB_EVENTS_OUTPUT"] = os.path.join(job_dir, OUTPUT)
    env["HOME"] = _writable_home(env.get("HOME", ""), job_dir)
    return env


def _writable_home(home: str, job_dir: str) -> str:
    """home if this user may write there, else a directory of the job's own.

    Ansible keeps its temp and control files under HOME. An arbitrary UID (OpenShift's
    restricted SCC) in an image that does not prepare for one has HOME=/ or a home it may not
    write; the job then runs anyway.
    """
    if home and os.path.isdir(home) and os.access(home, os.W_OK | os.X_OK):
        return home
    fallback = os.path.join(job_dir, "home")
    os.makedirs(fallback, mode=0o700, exist_ok=True)
    return fallback


def _configured_callback_path(env: Dict[str, str]) -> str:
    """callback_plugins of the ansible.cfg ansible-playbook will read here, or Ansible's default."""
    candidates = [env.get("ANSIBLE_CONFIG", ""), os.path.join(os.getcwd(), "ansible.cfg"),
                  os.path.expanduser("~/.ansible.cfg"), "/etc/ansible/ansible.cfg"]
    for path in candidates:
        if not path or not os.path.isfile(path):
            continue
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path)
            value = parser.get("defaults", "callback_plugins", fallback="")
        except configparser.Error:
            value = ""
        if value:
            base = os.path.dirname(os.path.abspath(path))
            return ":".join(entry if entry.startswith(("/", "~", "$")) else os.path.join(base, entry)
                            for entry in value.split(":") if entry)
        break  # Ansible reads the first file found, and only that one
    return "~/.ansible/plugins/callback:/usr/share/ansible/plugins/callback"


def _start_agent(secrets: str, env: Dict[str, str]) -> Optional["subprocess.Popen[bytes]"]:
    """ssh-agent, below this supervisor, holding the job's private key; the key file is removed."""
    key = os.path.join(secrets, PRIVATE_KEY)
    if not os.path.exists(key):
        return None
    socket_path = os.path.join(secrets, _AGENT_SOCKET)
    try:
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", socket_path], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        raise _StartError("the image has no ssh-agent: a job with private_key_file needs ssh-agent and ssh-add "
                          "(Debian and RHEL package openssh-client(s)) in the execution environment")
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(socket_path):
            if agent.poll() is not None or time.monotonic() > deadline:
                raise _StartError("ssh-agent did not start in the Pod")
            time.sleep(POLL_SECONDS)
        add_env = dict(env, SSH_AUTH_SOCK=socket_path, SSH_ASKPASS_REQUIRE="never")
        passphrase = os.path.join(secrets, PRIVATE_KEY_PASSPHRASE)
        askpass = os.path.join(secrets, _ASKPASS)
        if os.path.exists(passphrase):
            # ssh-add asks SSH_ASKPASS for the passphrase: a script that prints the file's content,
            # so the passphrase is never on a command line, and only once, since ssh-add asks
            # again after a wrong one for as long as it gets an answer.
            with open(os.open(askpass, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700), "w") as handle:
                handle.write("#!/bin/sh\ncat '%s' || exit 1\nrm -f '%s'\n" % (passphrase, passphrase))
            add_env.update(SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force", DISPLAY=env.get("DISPLAY", "none"))
        try:
            added = subprocess.run(["ssh-add", "-q", key], env=add_env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _StartError("cannot run ssh-add in the Pod (%s): the image needs openssh-client" % exc)
        finally:
            _remove(key, passphrase, askpass)
        if added.returncode != 0:
            said = added.stdout.decode("utf-8", "replace").strip()
            raise _StartError("ssh-add refused private_key_file%s (a wrong private_key_passphrase, or not a private key)"
                              % (": " + said if said else ""))
    except _StartError:
        agent.kill()  # no agent is left behind by a start that failed
        raise
    env["SSH_AUTH_SOCK"] = socket_path
    return agent


def _remove(*paths: str) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _clear(directory: str) -> None:
    """Remove every file of the job's secrets directory but MASK_FILE (the volume itself goes with the Pod)."""
    for root, _dirs, files in os.walk(directory, topdown=False):
        _remove(*(os.path.join(root, name) for name in files if (root, name) != (directory, MASK_FILE)))


def _sliced(job_dir: str, env: Dict[str, str], argv: List[str], output: BinaryIO) -> Optional[List[str]]:
    """argv limited to the slice's hosts (argv itself for a job that is not sliced), or None
    when the slice has none."""
    try:
        with open(os.path.join(job_dir, SLICE)) as handle:
            plan = json.load(handle)
    except FileNotFoundError:
        return argv
    return slicing.limited_argv(plan, env, argv, os.path.join(job_dir, SLICE_HOSTS), output)


def _supervise(job_dir: str, timeout: float, argv: List[str]) -> None:
    processes.become_subreaper()
    secrets = os.path.join(job_dir, SECRETS)
    agent = None
    with open(os.path.join(job_dir, OUTPUT), "ab", buffering=0) as output:
        try:
            env = _target_env(job_dir)
            sliced = _sliced(job_dir, env, argv, output)
            if sliced is None:
                _clear(secrets)
                _write_atomically(os.path.join(job_dir, STATUS), json.dumps({"rc": 0, "timed_out": False}))
                return
            argv = sliced
            agent = _start_agent(secrets, env)
            _write_atomically(os.path.join(job_dir, _STARTED), "")
            target = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                      start_new_session=True, env=env)
        except (_StartError, slicing.SliceError, OSError) as exc:
            if agent is not None:
                agent.kill()
            _clear(secrets)
            message = "cannot start %s: %s" % (argv[0], exc.strerror) if isinstance(exc, OSError) else str(exc)
            output.write((message + "\n").encode())
            _write_atomically(os.path.join(job_dir, STATUS), json.dumps(
                {"rc": 127 if isinstance(exc, OSError) else 1, "timed_out": False, "error": message}))
            return
    _write_atomically(os.path.join(job_dir, _PGID), str(target.pid))
    # The target is a session (and process group) of its own: signals to the group reach
    # ansible-playbook's forks and their ssh children too, and never this supervisor.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    deadline = time.monotonic() + timeout
    timed_out = False
    ended = {}  # type: Dict[int, int]
    while target.pid not in ended:
        if not timed_out and time.monotonic() > deadline:
            timed_out = True
            processes.stop_everything(os.getpid(), target.pid, KILL_AFTER_SECONDS, lambda: processes.reap(ended))
        time.sleep(POLL_SECONDS)
        processes.reap(ended)
    if agent is not None:
        agent.kill()
    _clear(secrets)
    wait_status = ended[target.pid]
    if os.WIFSIGNALED(wait_status):
        rc = 128 + os.WTERMSIG(wait_status)
    else:
        rc = os.WEXITSTATUS(wait_status)
    kills, limit = processes.oom_kills()
    status = {"rc": rc, "timed_out": timed_out, "oom_kills": kills, "memory_limit": limit}  # type: Dict[str, object]
    canceled = _read_text(os.path.join(job_dir, _CANCELED))
    if canceled:
        status["canceled"] = canceled
    _write_atomically(os.path.join(job_dir, STATUS), json.dumps(status))


def _read_text(path: str) -> Optional[str]:
    try:
        with open(path) as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def start(job_dir: str, timeout: float, argv: List[str]) -> int:
    if os.path.exists(os.path.join(job_dir, _SUPERVISOR)):
        print("already started")
        return 0
    _write_atomically(os.path.join(job_dir, _SUPERVISOR), "")
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            _write_atomically(os.path.join(job_dir, _SUPERVISOR), str(os.getpid()))
            try:
                _supervise(job_dir, timeout, argv)
            except BaseException as exc:  # pylint: disable=broad-exception-caught
                # A bug here must not leave start waiting for a target that never comes.
                if not os.path.exists(os.path.join(job_dir, STATUS)):
                    _write_atomically(os.path.join(job_dir, STATUS), json.dumps(
                        {"rc": 1, "timed_out": False, "error": "the job's runner failed: %r" % (exc,)}))
            finally:
                os._exit(0)
        os._exit(0)
    os.wait()
    # ssh-add may take a while on a busy node; a slice first lists the inventory (twice with a limit).
    wait = 40 + (600 if os.path.exists(os.path.join(job_dir, SLICE)) else 0)
    deadline = time.monotonic() + wait
    status_path = os.path.join(job_dir, STATUS)
    while _read_int(os.path.join(job_dir, _PGID)) is None and not os.path.exists(status_path):
        if time.monotonic() > deadline:
            sys.stderr.write("the job's supervisor did not start the target within %d s\n" % wait)
            return 1
        time.sleep(POLL_SECONDS)
    if _read_int(os.path.join(job_dir, _PGID)) is None:
        with open(status_path) as handle:
            error = json.load(handle).get("error")
        if error:
            sys.stderr.write(error + "\n")
            return 1
    print("started")
    return 0


def follow(job_dir: str, offset: int) -> int:
    out = sys.stdout.buffer
    err = sys.stderr
    status_path = os.path.join(job_dir, STATUS)
    supervisor = _read_int(os.path.join(job_dir, _SUPERVISOR))
    with open(os.path.join(job_dir, OUTPUT), "rb") as handle:
        handle.seek(offset)
        quiet_since = time.monotonic()
        while True:
            ended = os.path.exists(status_path)  # looked at before reading: no byte can follow it
            data = handle.read(CHUNK)
            if data:
                out.write(data)
                out.flush()
                quiet_since = time.monotonic()
                continue
            if ended:
                with open(status_path) as status_file:
                    status = json.load(status_file)
                _send_events(job_dir, err)
                err.write("%s %d %d %d %d %d %s\n" % (DONE_LINE, handle.tell(), status["rc"], 1 if status["timed_out"] else 0,
                                                      status.get("oom_kills", 0), status.get("memory_limit", 0),
                                                      status.get("canceled") or "-"))
                return 0
            if supervisor is not None and not processes.alive(supervisor) and not os.path.exists(status_path):
                err.write("%s %d\n" % (LOST_LINE, handle.tell()))
                return 0
            if time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                err.write("\n")
                err.flush()
                quiet_since = time.monotonic()
            time.sleep(POLL_SECONDS)


def _send_events(job_dir: str, err: TextIO) -> None:
    """The job events (JSON lines, ASCII) on stderr, each as ``EVENT_LINE <json>``."""
    try:
        with open(os.path.join(job_dir, EVENTS)) as handle:
            for line in handle:
                if line.endswith("\n"):  # a line cut short by a killed target is left out
                    err.write(EVENT_LINE + " " + line)
    except FileNotFoundError:
        pass


def facts(job_dir: str) -> int:
    cache = os.path.join(job_dir, FACT_CACHE)
    try:
        since = os.stat(os.path.join(job_dir, _STARTED)).st_mtime_ns
        names = sorted(os.listdir(cache))
    except FileNotFoundError:
        names = []
    written = {}  # type: Dict[str, str]
    for name in names:
        path = os.path.join(cache, name)
        if os.path.isfile(path) and not os.path.islink(path) and os.stat(path).st_mtime_ns >= since:
            with open(path, "rb") as handle:
                written[name] = base64.b64encode(handle.read()).decode("ascii")
    sys.stdout.write(json.dumps(written))
    return 0


def stop(job_dir: str, grace: float, by: Optional[str] = None) -> int:
    pgid = _read_int(os.path.join(job_dir, _PGID))
    supervisor = _read_int(os.path.join(job_dir, _SUPERVISOR))
    if pgid is None or not processes.target_processes(supervisor, pgid):
        print(NOT_RUNNING)
        return 0
    if by:
        # Before any signal: the supervisor writes the status once the target has ended.
        _write_atomically(os.path.join(job_dir, _CANCELED), "".join(by.split()))
    needed_kill, left = processes.stop_everything(supervisor, pgid, grace, lambda: None)
    print(STILL_RUNNING if left else KILLED if needed_kill else STOPPED)
    return 0


def state(job_dir: str) -> int:
    try:
        with open(os.path.join(job_dir, STATUS)) as handle:
            status = json.load(handle)
    except (OSError, ValueError):
        status = None
    try:
        started_at = os.stat(os.path.join(job_dir, _STARTED)).st_mtime  # type: Optional[float]
    except OSError:
        started_at = None
    try:
        size = os.stat(os.path.join(job_dir, OUTPUT)).st_size
    except OSError:
        size = 0
    sys.stdout.write(json.dumps({
        "started": os.path.exists(os.path.join(job_dir, OUTPUT)), "ended": status is not None,
        "rc": status.get("rc") if status else None, "timed_out": bool(status and status.get("timed_out")),
        "canceled": (status.get("canceled") if status else None) or _read_text(os.path.join(job_dir, _CANCELED)),
        "output": size, "started_at": started_at}))
    return 0


def main(argv: List[str]) -> int:
    command, job_dir = argv[0], argv[1]
    if command == START:
        return start(job_dir, float(argv[2]), argv[3:])
    if command == FOLLOW:
        return follow(job_dir, int(argv[2]))
    if command == STOP:
        return stop(job_dir, float(argv[2]), argv[3] if len(argv) > 3 else None)
    if command == STATE:
        return state(job_dir)
    if command == FACTS:
        return facts(job_dir)
    sys.stderr.write("usage: runner.py start DIR TIMEOUT ARGV... | follow DIR OFFSET | stop DIR GRACE [BY] | state DIR | facts DIR\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
