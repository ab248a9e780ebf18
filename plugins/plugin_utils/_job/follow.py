# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Following the target's output by byte offset, across lost connections.

The target writes to a file in the Pod (see ``in_pod/runner.py``); the controller reads it with
one exec that follows the file from an offset; once the output is whole, the same stream
brings the job events, sent whole on every try (no new connection at the end). When that
stream drops (an API server or
kubelet restart, a reset connection, an idle cut), it reconnects with backoff and resumes at
the exact byte it had: no byte is lost and none is repeated. Only when the connection stays
lost for longer than reconnect_timeout does following fail; or at once when the Pod or its
container has ended (OOMKilled, Evicted, DeadlineExceeded, deleted), which one read of the
Pod tells after each lost stream.
"""

from __future__ import annotations

import time
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import follow_argv
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod.runner import DONE_LINE, EVENT_LINE, LOST_LINE
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.lines import LineAssembler
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobNamespace
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import pod_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import ExecTruncated, K8sApiError, K8sClientError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.pod_status import end_reason
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.retry import delay, is_restart_refusal, is_transient

#: Seconds without a byte (the runner writes a keepalive every 5 s) before a stream that has
#: stalled without closing, as through a frozen API server, is taken for lost.
STREAM_IDLE_SECONDS = 20.0


class StreamLost(Exception):
    """The connection to the Pod stayed lost past reconnect_timeout; the message says why."""


class FollowError(Exception):
    """Following cannot go on (refused, or the runner failed); the message says why."""


class PodEnded(FollowError):
    """The Pod or its container ended before the target did; reason is Kubernetes' word for it
    (OOMKilled, Evicted, DeadlineExceeded, a disruption, Deleted)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


_EVENT_PREFIX = EVENT_LINE.encode("ascii") + b" "
#: The longest job event taken (one line of the runner's stderr); a longer one is left out, said.
MAX_EVENT_BYTES = 64 << 20


class _Trailer:
    """The runner's stderr: keepalive newlines, the job events, then one DONE_LINE or LOST_LINE."""

    def __init__(self) -> None:
        self._lines = LineAssembler(MAX_EVENT_BYTES)
        self.size: int | None = None
        self.rc: int | None = None
        self.timed_out = False
        self.lost = False
        self.oom_kills = 0
        self.memory_limit = 0
        self.canceled_by: str | None = None
        self.other: list[str] = []
        self.left_out: list[int] = []  # sizes of the lines longer than MAX_EVENT_BYTES
        self.events: list[bytes] = []

    def feed(self, data: bytes) -> None:
        for raw, dropped in self._lines.feed(data):
            if dropped:
                self.left_out.append(len(raw) + dropped)
                continue
            if raw.startswith(_EVENT_PREFIX):
                self.events.append(raw[len(_EVENT_PREFIX):])
                continue
            words = raw.decode("utf-8", "replace").split()
            if words[:1] == [DONE_LINE] and len(words) == 7:
                self.size, self.rc, self.timed_out = int(words[1]), int(words[2]), words[3] == "1"
                self.oom_kills, self.memory_limit = int(words[4]), int(words[5])
                self.canceled_by = None if words[6] == "-" else words[6]
            elif words[:1] == [LOST_LINE] and len(words) == 2:
                self.size, self.lost = int(words[1]), True
            elif words:
                self.other.append(" ".join(words))


def _reason(exc: K8sClientError) -> str:
    """The cause of a lost stream, in a few words for the reconnect notice."""
    if isinstance(exc, ExecTruncated):
        return "its end marker never arrived"
    return str(exc).split("; ", maxsplit=1)[0]


class TargetStream:
    """Follows the output of the target from byte 0 to its end; see :meth:`follow`."""

    def __init__(self, api: JobNamespace, pod: str, container: str, on_output: t.Callable[[bytes], None]) -> None:
        self._api = api
        self._pod = pod
        self._container = container
        self._where = api.where(pod)
        self._on_output = on_output
        self.offset = 0
        self.reconnects = 0
        #: The job events (JSON lines) the runner sent once the output was whole.
        self.events = b""
        #: Processes the OOM killer killed in the container, and its memory limit (bytes, 0: none).
        self.oom_kills = 0
        self.memory_limit = 0
        #: Who canceled the job (container_group_job_cancel's owner id), None if nobody did.
        self.canceled_by: str | None = None

    def _pod_ended(self) -> PodEnded | None:
        """Whether the Pod can still run the target, from one read that is not retried (the
        reconnects are): PodEnded saying why not, or None (running, or unknown)."""
        try:
            pod = self._api.endpoint.request("GET", pod_path(self._api.namespace, self._pod), timeout=10.0)
        except K8sApiError as exc:
            return PodEnded(f"{self._where} was deleted before the playbook ended", "Deleted") if exc.status == 404 else None
        except K8sClientError:
            return None
        ended = end_reason(pod, self._container) if isinstance(pod, dict) else None
        if ended is None:
            return None
        return PodEnded(f"{self._where} ended before the playbook did: {ended[1]} ({ended[0]})", ended[0])

    def follow(self, deadline: float) -> tuple[int, bool]:
        """(exit status, stopped at job_timeout) of the target, once every byte of its output is out.

        deadline (monotonic) bounds the whole follow. Raises StreamLost, FollowError, or
        TimeoutError past the deadline.
        """
        lost_since: float | None = None
        attempt = 0
        while True:
            trailer = _Trailer()
            reattaching = lost_since is not None

            def attached() -> None:
                # Anything from the runner (output or a keepalive) means the stream is back.
                nonlocal reattaching, lost_since, attempt
                if reattaching:
                    self._api.notice(f"reattached to {self._where} at byte {self.offset:,}", False)
                    reattaching, lost_since, attempt = False, None, 0

            def output(data: bytes) -> None:
                if not data:
                    return
                attached()
                self.offset += len(data)
                self._on_output(data)

            def runner_stderr(data: bytes) -> None:
                attached()
                trailer.feed(data)

            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the output of {self._where} did not end in time")
            try:
                rc = self._api.exec_once(self._pod, self._container, follow_argv(self.offset), on_stdout=output,
                                         on_stderr=runner_stderr, timeout=remaining, idle_timeout=STREAM_IDLE_SECONDS)
            except K8sClientError as exc:
                ended = self._pod_ended()
                if ended is not None:
                    raise ended from exc
                # A restarted API server refuses for a moment what it allowed before the loss.
                if not is_transient(exc) and not (reattaching and is_restart_refusal(exc)):
                    raise FollowError(str(exc)) from exc
                reason = _reason(exc)
            else:
                if rc != 0:
                    detail = "; ".join(trailer.other)
                    raise FollowError(f"the job's runner in {self._where} failed (exit status {rc})"
                                      + (f": {detail}" if detail else "") + "; the image needs python3")
                if trailer.lost:
                    raise FollowError(f"the job's supervisor in {self._where} was killed before the target "
                                      "ended; its exit status is unknown")
                if trailer.size is not None and trailer.rc is not None and self.offset >= trailer.size:
                    for size in trailer.left_out:
                        self._api.notice(f"a job event of {size:,} bytes from {self._where} was longer than "
                                         f"{MAX_EVENT_BYTES:,} bytes and was left out of the events", True)
                    self.events = b"\n".join(trailer.events)
                    self.oom_kills, self.memory_limit = trailer.oom_kills, trailer.memory_limit
                    self.canceled_by = trailer.canceled_by
                    return trailer.rc, trailer.timed_out
                ended = self._pod_ended()
                if ended is not None:
                    raise ended
                reason = "the stream ended before the whole output arrived"
            self._api.lost()
            now = time.monotonic()
            lost_since = now if lost_since is None else lost_since
            attempt += 1
            wait = delay(attempt)
            if now + wait - lost_since > self._api.reconnect_timeout:
                raise StreamLost(f"lost the stream to {self._where} for {now - lost_since:.0f}s "
                                 f"(reconnect_timeout {self._api.reconnect_timeout:g}s): {reason}")
            self._api.notice(f"lost the stream to {self._where} ({reason}); reconnecting (attempt {attempt})", True)
            self.reconnects += 1
            time.sleep(wait)
