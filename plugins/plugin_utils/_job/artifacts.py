# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""A job's record on the controller: the events file, and ansible-runner's artifact layout.

``<artifacts_dir>/<job_id>/`` (0700) holds, each file 0600:

- ``stdout``: the output as the terminal showed it (masked, long lines cut), written as it
  comes;
- ``command``: the target's argv and working directory, as JSON (names of secret files, never
  a secret, and no environment);
- ``job_events/<counter>-<uuid>.json``: each job event, masked, once the run has ended;
- ``fact_cache/<host>``: when the job keeps facts, the facts the run set, as plain JSON from
  its events (masked), whatever format the run's own cache has (2.19 changed it);
- ``status``: ``running`` while it runs, then ``successful``, ``failed``, ``timeout`` or
  ``canceled``; ``rc``: the exit status (254 for a timeout or a cancel, as ansible-runner
  writes), absent when the playbook never ran.

So ``ansible_runner.runner.Runner`` (its ``events``, ``stats``, ``host_events``, ``stdout``)
and ``ansible-runner``'s own tools read a job as they read one of theirs. Every file but
``stdout`` is written whole under a temporary name and renamed, so a reader never sees half
of one.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import typing as t
import uuid

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.events import facts_of

#: The record's status, in ansible-runner's words.
RUNNING, SUCCESSFUL, FAILED, TIMEOUT, CANCELED = "running", "successful", "failed", "timeout", "canceled"
#: The rc ansible-runner writes for a run it stopped (timeout, cancel).
STOPPED_RC = 254


class JobRecord:
    """The artifact directory of one job: opened when the job begins, finished when it ends,
    however it ends."""

    def __init__(self, artifacts_dir: str, job_id: str, facts: bool = False) -> None:
        self.path = os.path.join(artifacts_dir, job_id)
        self._facts = facts
        self._stdout: t.TextIO | None = None
        self._lines = 0

    def open(self) -> None:
        """The job begins: the directory, status ``running``, an empty stdout."""
        os.makedirs(self.path, mode=0o700, exist_ok=True)
        self._write("status", RUNNING)
        descriptor = os.open(os.path.join(self.path, "stdout"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        self._stdout = os.fdopen(descriptor, "w", encoding="utf-8")

    def command(self, argv: t.Sequence[str], cwd: str) -> None:
        """The target's command, when it starts."""
        if self._stdout is not None:
            self._write("command", json.dumps({"command": list(argv), "cwd": cwd}, indent=2))

    def line(self, text: str) -> None:
        """One line of the output, as shown."""
        if self._stdout is not None:
            self._stdout.write(text + "\n")
            self._stdout.flush()
            self._lines += 1

    @property
    def lines(self) -> int:
        """Lines of stdout written so far."""
        return self._lines

    def finish(self, events: t.Sequence[dict], status: str, rc: int | None, trailing: bool = True) -> None:
        """The run has ended: its events (and, unless told not to, a ``verbose`` event of what
        it printed after the last one), its rc and its status (written last, so a reader that
        sees the end sees everything)."""
        if self._stdout is None:
            return
        last = events[-1] if events else {}
        start = last.get("end_line") if isinstance(last.get("end_line"), int) else None
        after = self.verbose_event(range(start, self._lines), last) if trailing and start is not None else None
        self._stdout.close()
        directory = os.path.join(self.path, "job_events")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        for event in [*events, *([after] if after else [])]:
            self._write(f"job_events/{event.get('counter')}-{event.get('uuid')}.json", json.dumps(event, sort_keys=True))
        if self._facts:
            self._write_facts(events)
        if status in (TIMEOUT, CANCELED):
            rc = STOPPED_RC
        if rc is not None:
            self._write("rc", str(rc))
        self._write("status", status)

    def _write_facts(self, events: t.Sequence[dict]) -> None:
        """``fact_cache/<host>``: the facts the run set, as plain JSON (what
        ``Runner.get_fact_cache`` reads), from the events, so masked as they are."""
        os.makedirs(os.path.join(self.path, "fact_cache"), mode=0o700, exist_ok=True)
        for host, facts in facts_of(events).items():
            if host not in ("", ".", "..") and "/" not in host:
                self._write(f"fact_cache/{host}", json.dumps(facts, sort_keys=True))

    def verbose_event(self, lines: t.Sequence[int], last: dict) -> dict | None:
        """What a run printed after its last event (a warning at exit, an error after the
        recap): these lines of stdout (0-based, ascending) as a ``verbose`` event after last,
        so the events hold the whole output; None without such lines."""
        if not lines or self._stdout is None:
            return None
        self._stdout.flush()
        wanted = set(lines)
        with open(os.path.join(self.path, "stdout"), "rb") as handle:  # lines end at "\n" only
            text = [line[:-1].decode("utf-8", errors="replace")
                    for number, line in enumerate(itertools.islice(handle, lines[0], lines[-1] + 1), start=lines[0])
                    if number in wanted]
        return {"event": "verbose", "uuid": str(uuid.uuid4()), "counter": int(last.get("counter", 0)) + 1,
                "parent_uuid": "", "runner_ident": last.get("runner_ident", ""), "stdout": "\n".join(text),
                "start_line": lines[0], "end_line": lines[-1] + 1, "event_data": {}}

    def _write(self, name: str, text: str) -> None:
        replace_file(os.path.join(self.path, name), [text.encode("utf-8")])


def write_events(path: str, events: t.Iterable[dict]) -> None:
    """Write the events to path, one JSON object per line (events_file)."""
    replace_file(path, ((json.dumps(event, sort_keys=True) + "\n").encode("utf-8") for event in events))


def replace_file(path: str, chunks: t.Iterable[bytes]) -> None:
    """Write path whole (0600): a file or a link already there is replaced, never written through."""
    # mkstemp: a new file of a name no one can guess, created 0600 with O_EXCL.
    descriptor, temp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
