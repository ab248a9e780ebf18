# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""What a finished job reports; the action plugin's result is built from it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class JobOutcome:
    """What a finished job reports (the action plugin's result is built from it)."""

    changed: bool = False
    #: The record's status: successful, failed, timeout or canceled.
    status: str = "failed"
    rc: int | None = None
    failure: str | None = None
    pod_name: str = ""
    pod_deleted: bool | None = None  # None: no Pod was created
    pod_kept: bool = False  # left in place for inspection (keep_pod)
    pod_reason: str | None = None  # Kubernetes' word for why the Pod ended the job (OOMKilled, Evicted, ...)
    recap: list[str] = field(default_factory=list)
    stdout_tail: list[str] = field(default_factory=list)
    leftovers_removed: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    elapsed: float = 0.0
    stats: dict[str, dict[str, int]] = field(default_factory=dict)  # per host, from the job events
    events: int = 0  # job events read back (and written to events_file)
    artifacts: dict = field(default_factory=dict)  # what set_stats handed on for the run
    artifact_dir: str | None = None  # the job's record, when artifacts_dir was given
    reconnects: int = 0  # times the output stream was lost and taken up again
    api_retries: int = 0  # API calls tried again after a transient failure (the delete's among them)
    api_requests: int = 0  # HTTP requests and exec connections the job made
