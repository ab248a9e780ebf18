# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""What a job writes on the controller as it goes: events_file, the record (artifacts_dir)
and the playbook artifact.

A record that cannot be opened stops the job before any Pod exists; any later write that
fails is said, and the job goes on (the run itself is not undone by a full disk).
"""

from __future__ import annotations

import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.artifacts import JobRecord, write_events
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import JobSpec
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobError, NoticeFn
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.playbook_artifact import write_playbook_artifact


class JobOutputs:
    """The controller-side outputs the spec asks for; each method does nothing for one not asked."""

    def __init__(self, spec: JobSpec, job_id: str, notice: NoticeFn) -> None:
        self._spec = spec
        self._notice = notice
        #: The job's record in ansible-runner's layout, when artifacts_dir is given.
        self.record = JobRecord(spec.artifacts_dir, job_id, facts=bool(spec.fact_cache_dir)) if spec.artifacts_dir else None

    def open(self) -> None:
        """The record's directory and its status ``running``; JobError if it cannot be written."""
        if self.record is None:
            return
        try:
            self.record.open()
        except OSError as exc:
            raise JobError(f"cannot write the job's record in {self.record.path}: {exc.strerror or exc}; "
                           "give an artifacts_dir this user may write") from exc

    def line(self, line: str) -> None:
        """One line of the output, as shown."""
        if self.record is not None:
            self.record.line(line)

    def command(self, argv: t.Sequence[str], cwd: str) -> None:
        if self.record is not None:
            record = self.record
            self._said(f"write the command to the job's record in {record.path}", lambda: record.command(argv, cwd))

    def events(self, events: t.Sequence[dict]) -> None:
        """The events, as soon as they are read back (events_file)."""
        if self._spec.events_file:
            path = self._spec.events_file
            self._said(f"write events_file {path}", lambda: write_events(path, events))

    def finish(self, events: t.Sequence[dict], status: str, rc: int | None, trailing: bool = True) -> str | None:
        """The record's events, rc and status, and the playbook artifact; the record's directory,
        or None without one. (trailing: see ``JobRecord.finish``.)"""
        record = self.record
        if record is not None:
            self._said(f"finish the job's record in {record.path}", lambda: record.finish(events, status, rc, trailing))
        if self._spec.playbook_artifact:
            path = self._spec.playbook_artifact
            self._said(f"write playbook_artifact {path}", lambda: write_playbook_artifact(path, events, status))
        return record.path if record is not None else None

    def _said(self, what: str, write: t.Callable[[], None]) -> None:
        try:
            write()
        except OSError as exc:
            self._notice(f"cannot {what}: {exc.strerror or exc}", True)
