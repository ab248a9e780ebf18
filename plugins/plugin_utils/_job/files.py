# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""What a job puts into its Pod and reads back: its own files, the commands, the output lines.

Pure functions and small stream helpers, no API calls: ``job`` runs them against the Pod.
"""

from __future__ import annotations

import json
import os
import pkgutil
import shlex
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import JOB_DIR, SECRETS_DIR
from ansible_collections.ephemeral.container_groups.plugins.callback import job_events
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod import runner
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import PROJECT, JobSpec
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.lines import MAX_LINE_BYTES, LineAssembler
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import JobSecrets

PROJECT_DIR = f"{JOB_DIR}/project"
FACT_CACHE_DIR = f"{JOB_DIR}/{runner.FACT_CACHE}"
META_DIR = f"{JOB_DIR}/{runner.META}"
#: The runner (``in_pod/runner.py``) where the job copies it in the Pod.
RUNNER = f"{JOB_DIR}/{runner.RUNNER}"
#: Lines of the target's stdout kept for the result (the recap is among the last ones).
OUTPUT_LINES_KEPT = 200
#: Bytes kept past MAX_LINE_BYTES and masked with a long line before it is cut (longer than any secret).
_MASK_MARGIN_BYTES = 64 << 10

LineFn = t.Callable[[str, bool], None]


def _inventory_args(spec: JobSpec, secrets: JobSecrets) -> list[str]:
    """The job's inventories and the secrets' files (vault passwords, extra vars)."""
    argv = []
    for index, (kind, path) in enumerate(spec.inventories):
        argv += ["-i", path if kind == PROJECT else copied_inventory(index, path)]
    if not spec.inventories:
        argv += ["-i", f"{META_DIR}/inventory.ini"]
    return argv + secrets.playbook_args()


def playbook_args(spec: JobSpec, secrets: JobSecrets, sliced: bool = False) -> list[str]:
    """The ansible-playbook command of the job (run from the project directory); it names the
    secrets' files, never a secret. A slice's runner adds its own --limit (the job's limit is
    applied when the runner chooses the slice's hosts)."""
    argv = ["ansible-playbook", *_inventory_args(spec, secrets)]
    options = (("--limit", None if sliced else spec.limit), ("--tags", spec.tags), ("--skip-tags", spec.skip_tags),
               ("--start-at-task", spec.start_at_task), ("--user", spec.remote_user),
               ("--become-method", spec.become_method), ("--become-user", spec.become_user))
    for flag, value in options:
        if value:
            argv += [flag, value]
    if spec.forks:
        argv += ["--forks", str(spec.forks)]
    if spec.check:
        argv.append("--check")
    if spec.diff:
        argv.append("--diff")
    if spec.verbosity:
        argv.append("-" + "v" * min(spec.verbosity, 6))
    argv.append(spec.playbook)
    return argv


def copied_inventory(index: int, path: str) -> str:
    """Where a controller inventory is in the Pod (its own name kept: group_vars still apply)."""
    return f"{META_DIR}/inventory/{index}/{os.path.basename(path.rstrip('/'))}"


def slice_plan(spec: JobSpec, secrets: JobSecrets, index: int, count: int) -> bytes:
    """What the runner needs to choose slice index of count (META/SLICE): the command that
    lists the inventory's hosts in its order, and the one that lists those within the job's limit."""
    hosts_argv = ["ansible", "all", "--list-hosts", *_inventory_args(spec, secrets)]
    limited = [*hosts_argv, "--limit", spec.limit] if spec.limit else None
    return json.dumps({"index": index, "count": count, "hosts_argv": hosts_argv, "limited_hosts_argv": limited}).encode()


def start_argv(spec: JobSpec, secrets: JobSecrets, job_id: str = "", sliced: bool = False) -> list[str]:
    """The exec that starts the target detached under the runner, stopped at job_timeout in the
    Pod; job_id is every job event's runner_ident (a slice's: the job id and its number)."""
    # Plain output (no colour codes in the controller's log), unbuffered Python, and
    # Ansible's temp dirs in the job's directory so any container user can run the job.
    # (The runner adds the job_events callback to the callback plugin path.)
    env = {
        "PYTHONUNBUFFERED": "1",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": f"{JOB_DIR}/tmp",
        "ANSIBLE_REMOTE_TEMP": f"{JOB_DIR}/tmp",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_JOB_EVENTS_IDENT": job_id,
    }
    if spec.fact_cache_dir:
        # AWX's use_fact_cache: the cached facts the job shipped in, and the facts of this run.
        env.update(ANSIBLE_CACHE_PLUGIN="jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=FACT_CACHE_DIR)
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
    script = f'cd {PROJECT_DIR} && export {exports} && exec python3 {RUNNER} {runner.START} {JOB_DIR} "$@"'
    return ["/bin/sh", "-c", script, "sh", str(spec.job_timeout), *playbook_args(spec, secrets, sliced)]


def follow_argv(offset: int) -> list[str]:
    """The exec that streams the target's output from byte offset until it has ended."""
    return ["python3", RUNNER, runner.FOLLOW, JOB_DIR, str(offset)]


def facts_argv() -> list[str]:
    """The exec that prints the fact files the run wrote (JSON: name -> base64)."""
    return ["python3", RUNNER, runner.FACTS, JOB_DIR]


def stop_argv(grace: float, canceled_by: str | None = None) -> list[str]:
    """The exec that stops the target (SIGTERM to its process group, SIGKILL after grace);
    with canceled_by (one word), the job is canceled and its status says by whom."""
    return ["python3", RUNNER, runner.STOP, JOB_DIR, f"{grace:g}", *([canceled_by] if canceled_by else [])]


def state_argv() -> list[str]:
    """The exec that prints the job's state in its Pod (JSON; see the runner's STATE)."""
    return ["python3", RUNNER, runner.STATE, JOB_DIR]


#: What runs in the Pod (``in_pod/``), copied beside each other under META.
IN_POD_FILES = ("runner.py", "processes.py", "slicing.py")


def in_pod_source(name: str) -> bytes:
    """The source of a file of ``in_pod/``, as the job copies it into the Pod: data, as
    ansible-core reads what it runs on a target (``pkgutil.get_data``)."""
    source = pkgutil.get_data(runner.__name__.rpartition(".")[0], name)
    if source is None:
        raise FileNotFoundError(f"the job's plugin_utils/_job/in_pod/{name} cannot be read")
    return source


def events_callback_source() -> bytes:
    """The job_events callback's source, as the job copies it into the Pod."""
    with open(job_events.__file__, "rb") as handle:
        return handle.read()


def default_inventory() -> bytes:
    """localhost inside the Pod, for a job that names no inventory."""
    return b"localhost ansible_connection=local ansible_python_interpreter=auto_silent\n"


def job_files(spec: JobSpec, secret_files: t.Mapping[str, bytes], slice_plan_json: bytes | None = None) -> dict[str, bytes]:
    """The job's own files, by their path in the job directory: the runner and its processes
    module, the events callback, the default inventory when the job names none and a slice's
    plan (under META), and the secrets (under SECRETS)."""
    files = {f"{runner.META}/{name}": in_pod_source(name) for name in IN_POD_FILES}
    if slice_plan_json is not None:
        files[runner.SLICE] = slice_plan_json
    files[f"{runner.CALLBACK_PLUGINS}/job_events.py"] = events_callback_source()
    if not spec.inventories:
        files[f"{runner.META}/inventory.ini"] = default_inventory()
    files.update((f"{runner.SECRETS}/{name}", data) for name, data in secret_files.items())
    return files


def job_copies(spec: JobSpec) -> dict[str, str]:
    """What the job copies from the controller besides the project, as tar member name -> path
    there: the controller's inventories, and the cached facts when the job keeps facts."""
    copies = {copied_inventory(index, path)[len(JOB_DIR) + 1:]: path
              for index, (kind, path) in enumerate(spec.inventories) if kind != PROJECT}
    if spec.fact_cache_dir and os.path.isdir(spec.fact_cache_dir):
        copies[runner.FACT_CACHE] = spec.fact_cache_dir
    return copies


def copy_argv() -> list[str]:
    """The exec that unpacks the job's tar stream; the secrets directory is the owner's alone."""
    # A container user that does not own the volume cannot chmod it; its files are 0600 anyway.
    return ["/bin/sh", "-c", f"mkdir -p {JOB_DIR}/tmp && {{ chmod 700 {SECRETS_DIR} 2>/dev/null || :; }} && tar -xzf - -C {JOB_DIR}"]


def recap_of(lines: t.Sequence[str]) -> list[str]:
    """The PLAY RECAP block of ansible-playbook's output (empty if it never got there)."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith("PLAY RECAP"):
            recap = []
            for line in lines[index + 1:]:
                if not line.strip():
                    break
                recap.append(line.rstrip())
            return recap
    return []


class LineSplitter:
    """Turns the target's output chunks into whole lines for on_line, keeping the last few (kept)."""

    def __init__(self, on_line: LineFn, mask: t.Callable[[str], str] = str) -> None:
        self._on_line = on_line
        self._mask = mask
        # Past the cap, a margin is kept and masked with the line, so that a secret cut by the
        # cap is masked whole before the line is shortened.
        self._lines = LineAssembler(MAX_LINE_BYTES + _MASK_MARGIN_BYTES)
        #: The last OUTPUT_LINES_KEPT lines, masked.
        self.kept: list[str] = []

    def feed(self, data: bytes) -> None:
        for raw, dropped in self._lines.feed(data):
            self._emit(raw, dropped)

    def flush(self) -> None:
        rest = self._lines.rest()
        if rest is not None:
            self._emit(*rest)

    def _emit(self, raw: bytes, dropped: int) -> None:
        line = self._mask(raw.decode("utf-8", errors="replace").rstrip("\r"))
        if dropped or len(raw) > MAX_LINE_BYTES:
            left_out = dropped + len(raw) - MAX_LINE_BYTES
            line = line[:MAX_LINE_BYTES] + f" [... {left_out:,} more bytes of this line not shown]"
        self.kept.append(line)
        del self.kept[:-OUTPUT_LINES_KEPT]
        self._on_line(line, False)
