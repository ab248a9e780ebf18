# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""What a job puts into its Pod and reads back: the project tar stream, the command, the recap.

Pure functions and small stream helpers, no API calls: ``_job`` runs them against the Pod.
"""

from __future__ import annotations

import io
import os
import shlex
import tarfile
import time
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import JOB_DIR
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils import _job_runner
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job_inputs import JobSpec

PROJECT_DIR = f"{JOB_DIR}/project"
META_DIR = f"{JOB_DIR}/meta"
#: The runner (``_job_runner``) as the job copies it into the Pod.
RUNNER = f"{META_DIR}/runner.py"
#: Lines of the target's stdout kept for the result (the recap is among the last ones).
OUTPUT_LINES_KEPT = 200

LineFn = t.Callable[[str, bool], None]


def playbook_args(spec: JobSpec) -> list[str]:
    """The ansible-playbook command of the job (run from the project directory)."""
    inventory = spec.inventory or f"{META_DIR}/inventory.ini"
    argv = ["ansible-playbook", "-i", inventory, "-e", f"@{META_DIR}/extra_vars.json"]
    if spec.limit:
        argv += ["--limit", spec.limit]
    if spec.tags:
        argv += ["--tags", spec.tags]
    if spec.forks:
        argv += ["--forks", str(spec.forks)]
    if spec.verbosity:
        argv.append("-" + "v" * min(spec.verbosity, 6))
    argv.append(spec.playbook)
    return argv


def start_argv(spec: JobSpec) -> list[str]:
    """The exec that starts the target detached under the runner, stopped at job_timeout in the Pod."""
    # Plain output (no colour codes in the controller's log), unbuffered Python, and
    # Ansible's temp dirs in the job's directory so any container user can run the job.
    env = {
        "PYTHONUNBUFFERED": "1",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": f"{JOB_DIR}/tmp",
        "ANSIBLE_REMOTE_TEMP": f"{JOB_DIR}/tmp",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    }
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
    script = f'cd {PROJECT_DIR} && export {exports} && exec python3 {RUNNER} start {JOB_DIR} "$@"'
    return ["/bin/sh", "-c", script, "sh", str(spec.job_timeout), *playbook_args(spec)]


def follow_argv(offset: int) -> list[str]:
    """The exec that streams the target's output from byte offset until it has ended."""
    return ["python3", RUNNER, "follow", JOB_DIR, str(offset)]


def stop_argv(grace: float) -> list[str]:
    """The exec that stops the target (SIGTERM to its process group, SIGKILL after grace)."""
    return ["python3", RUNNER, "stop", JOB_DIR, f"{grace:g}"]


def runner_source() -> bytes:
    """The runner's source, as the job copies it into the Pod."""
    with open(_job_runner.__file__, "rb") as handle:
        return handle.read()


def default_inventory() -> bytes:
    """localhost inside the Pod, for a job that names no inventory."""
    return b"localhost ansible_connection=local ansible_python_interpreter=auto_silent\n"


class _ChunkSink(io.RawIOBase):
    """A write-only file that tarfile fills and the stream generator empties."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: t.Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def project_tar_stream(project_dir: str, extra_files: dict[str, bytes]) -> t.Iterator[bytes]:
    """A gzip'd tar of project_dir (under project/) and extra_files (under meta/), in chunks.

    Built as it is sent: memory holds one file's compressed output at most, never the tar.
    """
    sink = _ChunkSink()
    with tarfile.open(fileobj=sink, mode="w|gz", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(project_dir):
            dirs.sort()
            rel_root = os.path.relpath(root, project_dir)
            arc_root = "project" if rel_root == "." else f"project/{rel_root}"
            tar.add(root, arcname=arc_root, recursive=False)
            for name in sorted(files):
                tar.add(os.path.join(root, name), arcname=f"{arc_root}/{name}", recursive=False)
                chunk = sink.take()
                if chunk:
                    yield chunk
        for name, data in extra_files.items():
            info = tarfile.TarInfo(f"meta/{name}")
            info.size = len(data)
            info.mode = 0o600
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    yield sink.take()


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
    """Turns output chunks into whole lines for the callback, keeping the last few."""

    def __init__(self, on_line: LineFn, stderr: bool, kept: list[str]) -> None:
        self._on_line = on_line
        self._stderr = stderr
        self._kept = kept
        self._partial = b""

    def feed(self, data: bytes) -> None:
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        for raw in lines:
            self._emit(raw)

    def flush(self) -> None:
        if self._partial:
            self._emit(self._partial)
            self._partial = b""

    def _emit(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not self._stderr:
            self._kept.append(line)
            del self._kept[:-OUTPUT_LINES_KEPT]
        self._on_line(line, self._stderr)
