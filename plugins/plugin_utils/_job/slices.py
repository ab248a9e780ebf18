# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""One job across many Pods: AWX's job slicing (``job_slice_count``).

Each slice is a job of its own for its group (its own Pod, its place in the group's queue
under max_concurrent_jobs), run in a thread of its own; its runner in the Pod chooses its
hosts (host i of the inventory goes to slice i mod N). This module runs the slices at once
and makes one job of them again: their lines, prefixed ``[i/N]``, reach the display from the
main thread (the one Ansible's display and the signals belong to); one record holds every
slice's lines and events (counters renumbered in slice order); stats are merged per host;
the job fails when a slice fails, and says which. A signal stops every slice: targets that
run are stopped and marked canceled, Pods that have not run one yet are deleted, and each
slice's thread then cleans up as an interrupted job does.
"""

from __future__ import annotations

import threading
import time
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.artifacts import CANCELED, FAILED, SUCCESSFUL, TIMEOUT
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.choice import run_in_first_with_room
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import OUTPUT_LINES_KEPT, LineFn
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.job import ContainerGroupJob
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobError, NoticeFn
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.outcome import JobOutcome
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.outputs import JobOutputs
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.relay import POLL_SECONDS, Relay
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.stop_guard import Interrupted, StopGuard

#: Worst first: the status of a job from those of its slices.
_STATUS_ORDER = (CANCELED, TIMEOUT, FAILED, SUCCESSFUL)


class _SliceOutputs(JobOutputs):
    """A slice's share of the job's outputs: its lines go to the job's record (prefixed, in
    the order shown), each one's line number there kept; the record's command is the first
    slice's; events and the end are the whole job's (:class:`SlicedJob` writes them)."""

    def __init__(self, whole: JobOutputs, first: bool, write_line: t.Callable[[str], int]) -> None:  # pylint: disable=super-init-not-called
        self._whole = whole
        self._first = first
        self._write_line = write_line
        self.record = whole.record
        #: The job's line number (0-based) of each line of this slice's output.
        self.lines: list[int] = []

    def open(self) -> None:
        return None

    def line(self, line: str) -> None:
        self.lines.append(self._write_line(line))

    def command(self, argv: t.Sequence[str], cwd: str) -> None:
        if self._first:
            self._whole.command(argv, cwd)

    def events(self, events: t.Sequence[dict]) -> None:
        return None

    def finish(self, events: t.Sequence[dict], status: str, rc: int | None, trailing: bool = True) -> str | None:
        return self._whole.record.path if self._whole.record is not None else None


class SlicedJob:
    """The slices of one job. Build each slice's jobs with :meth:`on_line`, :meth:`notice` and
    :meth:`outputs` of its number, then :meth:`run` them all once."""

    def __init__(self, count: int, outputs: JobOutputs, on_line: LineFn, notice: NoticeFn) -> None:
        self.count = count
        self._outputs = outputs
        self._on_line = on_line
        self._notice = notice
        self._relay = Relay(self._keep_and_show, notice)
        self._lock = threading.Lock()
        self._lines = 0  # lines of the job's output written so far, every slice's
        self._slice_outputs: dict[int, _SliceOutputs] = {}
        #: The job's last lines, as shown (prefixed), for the result.
        self.kept: list[str] = []

    def _prefix(self, number: int) -> str:
        return f"[{number}/{self.count}] "

    def on_line(self, number: int) -> LineFn:
        return self._relay.on_line(self._prefix(number))

    def notice(self, number: int) -> NoticeFn:
        return self._relay.notice(self._prefix(number))

    def _keep_and_show(self, line: str, is_stderr: bool) -> None:
        self.kept.append(line)
        del self.kept[:-OUTPUT_LINES_KEPT]
        self._on_line(line, is_stderr)

    def outputs(self, number: int) -> JobOutputs:
        """Slice number's share of the job's outputs (one for all its groups' jobs)."""
        if number not in self._slice_outputs:
            prefix = self._prefix(number)

            def write_line(line: str) -> int:
                with self._lock:
                    self._outputs.line(prefix + line)
                    self._lines += 1
                    return self._lines - 1

            self._slice_outputs[number] = _SliceOutputs(self._outputs, number == 1, write_line)
        return self._slice_outputs[number]

    def run(self, slices: list[list[ContainerGroupJob]]) -> tuple[list[ContainerGroupJob], list[JobOutcome], JobOutcome]:
        """Run every slice at once (each a list of its groups' jobs, as ``choice`` takes them);
        (the job that ran each slice, each slice's outcome, the whole job's outcome)."""
        started = time.monotonic()
        ran: list[ContainerGroupJob | None] = [None] * len(slices)
        outcomes: list[JobOutcome | None] = [None] * len(slices)

        def run_slice(index: int) -> None:
            try:
                ran[index], outcomes[index] = run_in_first_with_room(slices[index], self.notice(index + 1))
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # A bug in one slice must not leave the others unreported (the job's own
                # clean-up has run before anything leaves its run()).
                outcomes[index] = JobOutcome(failure=f"the slice failed on the controller: {exc!r}")

        threads = [threading.Thread(target=run_slice, args=(index,), name=f"cg-slice-{index + 1}", daemon=True)
                   for index in range(len(slices))]
        try:
            self._outputs.open()
        except JobError as exc:  # before any Pod exists, as for a job of one Pod
            failed = JobOutcome(failure=str(exc))
            return [jobs[0] for jobs in slices], [failed] * len(slices), failed
        with StopGuard() as guard:
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                try:
                    self._relay.show(POLL_SECONDS)
                except (Interrupted, KeyboardInterrupt):
                    why = f"interrupted by {guard.reason or 'SIGINT'}"
                    self._notice(f"{why}: stopping every slice of the job", True)
                    # In threads, so that the slices stop together and the output goes on showing.
                    for job in (job for jobs in slices for job in jobs):
                        threading.Thread(target=job.stop_from_another_thread, args=(why,), name="cg-slice-stop",
                                         daemon=True).start()
            self._relay.show(0)
        done = [outcome or JobOutcome(failure="the slice did not report") for outcome in outcomes]
        chosen = [job or jobs[0] for job, jobs in zip(ran, slices)]
        return chosen, done, self._merged(chosen, done, time.monotonic() - started)

    def _merged(self, jobs: list[ContainerGroupJob], outcomes: list[JobOutcome], elapsed: float) -> JobOutcome:
        whole = JobOutcome(changed=any(o.changed for o in outcomes), elapsed=round(elapsed, 3))
        failed = [f"slice {number}/{self.count} ({job.where}): {o.failure}"
                  for number, (job, o) in enumerate(zip(jobs, outcomes), start=1) if o.failure]
        if failed:
            whole.failure = f"{len(failed)} of {self.count} slices failed: " + "; ".join(failed)
        rcs = [o.rc for o in outcomes]
        whole.rc = next((rc for rc in rcs if rc), None if None in rcs else 0)
        whole.status = min((o.status for o in outcomes), key=_STATUS_ORDER.index, default=FAILED)
        events, trailing = self._events(jobs)
        whole.events = len(events)
        whole.stats = merged_stats([o.stats for o in outcomes])
        for outcome in outcomes:
            whole.artifacts.update(outcome.artifacts)
            whole.leftovers_removed += outcome.leftovers_removed
            for name, seconds in outcome.timings.items():
                whole.timings[name] = max(whole.timings.get(name, 0.0), seconds)
        whole.pod_name = outcomes[0].pod_name
        whole.pod_deleted = None if all(o.pod_deleted is None for o in outcomes) else all(o.pod_deleted is not False for o in outcomes)
        whole.pod_kept = any(o.pod_kept for o in outcomes)
        whole.pod_reason = next((o.pod_reason for o in outcomes if o.pod_reason), None)
        whole.reconnects = sum(o.reconnects for o in outcomes)
        whole.api_retries = sum(o.api_retries for o in outcomes)
        whole.api_requests = sum(o.api_requests for o in outcomes)
        whole.recap = [line for outcome in outcomes for line in outcome.recap]
        whole.stdout_tail = self.kept[-20:]
        self._outputs.events(events)
        whole.artifact_dir = self._outputs.finish(renumbered([*events, *trailing]), whole.status, whole.rc, trailing=False)
        return whole

    def _events(self, jobs: list[ContainerGroupJob]) -> tuple[list[dict], list[dict]]:
        """Every slice's events in slice order, their lines those of the job's output, counters
        1..N; and, for the record, each slice's output after its last event as verbose events."""
        merged: list[dict] = []
        trailing: list[dict] = []
        record = self._outputs.record
        for number, job in enumerate(jobs, start=1):
            lines = self._slice_outputs[number].lines if number in self._slice_outputs else []
            events = [in_job_lines(event, lines) for event in job.events]
            merged += events
            end = job.events[-1].get("end_line") if job.events else None
            if record is not None and isinstance(end, int):
                after = record.verbose_event(lines[end:], events[-1])
                if after is not None:
                    trailing.append(after)
        return renumbered(merged), trailing


def merged_stats(per_slice: t.Iterable[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    """Per-host stats of every slice in one mapping (a host is in one slice; counts add up if not)."""
    merged: dict[str, dict[str, int]] = {}
    for stats in per_slice:
        for host, counts in stats.items():
            into = merged.setdefault(host, {})
            for name, count in counts.items():
                into[name] = into.get(name, 0) + count
    return merged


def in_job_lines(event: dict, lines: t.Sequence[int]) -> dict:
    """A slice's event with start_line and end_line counted in the job's output, where lines
    maps each line of the slice to its line there (other slices' lines may fall between)."""
    start, end = event.get("start_line"), event.get("end_line")
    if not isinstance(start, int) or not isinstance(end, int):
        return event
    total = lines[-1] + 1 if lines else 0
    first = lines[start] if 0 <= start < len(lines) else total
    last = lines[end - 1] + 1 if start < end <= len(lines) else first
    return dict(event, start_line=first, end_line=last)


def renumbered(events: list[dict]) -> list[dict]:
    """The slices' events, in slice order, with counters 1..N (each slice counts from 1)."""
    return [dict(event, counter=number) for number, event in enumerate(events, start=1)]
