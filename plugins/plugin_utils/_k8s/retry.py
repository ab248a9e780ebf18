# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Faults are normal: which API failures pass, and retrying them with backoff inside a budget.

Transient: the API server or the path to it blinked (connection refused or reset, TLS cut,
timeouts, 429, 500, 502, 503, 504) or an exec stream broke without its exit status. Not
transient: what waiting does not change (401, 403, 404, 409, 422 and other refusals, a
certificate that does not verify, a command that could not start for a reason other than an
unreachable kubelet).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import (
    ExecError,
    ExecStatusError,
    ExecTimeout,
    K8sApiError,
    K8sClientError,
    K8sConnectionError,
    StdinNotSupported,
    causes,
)

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Refusals an API server gives for a moment after it restarts (its authorizer's caches are
#: not filled yet): transient only for a caller that has just lost and found it again.
RESTART_REFUSALS = frozenset({401, 403})
#: How long after a lost connection such a refusal still counts as the restart's.
RECOVERY_SECONDS = 30.0
FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 5.0

#: What the API server's Status says when it cannot reach the kubelet for an exec.
#: "unable to upgrade connection" is the kubelet's own answer while it is not yet in step after
#: a restart ("pod does not exist" for a Pod the API server has just found).
_KUBELET_UNREACHABLE = ("error dialing backend", "error sending request", "dial tcp", "connection refused",
                        "connection reset", "i/o timeout", "unable to upgrade connection")

_T = t.TypeVar("_T")
RetryFn = t.Callable[[K8sClientError, int, float], None]

_TRANSIENT_CAUSES = (ConnectionError, TimeoutError, socket.timeout, ssl.SSLEOFError, ssl.SSLZeroReturnError,
                     http.client.RemoteDisconnected, http.client.IncompleteRead, EOFError)


def is_transient(exc: BaseException) -> bool:
    """Whether trying again later may succeed."""
    if isinstance(exc, K8sApiError):
        return exc.status in TRANSIENT_STATUSES
    if isinstance(exc, ExecStatusError):
        # The API server could not reach the kubelet (restarting, say); any other reason a
        # command could not start does not change by waiting.
        return any(sign in str(exc) for sign in _KUBELET_UNREACHABLE)
    if isinstance(exc, (ExecTimeout, StdinNotSupported)):
        return False
    if isinstance(exc, ExecError):
        return True  # the stream broke, or ended without the command's exit status
    if isinstance(exc, K8sConnectionError):
        chain = list(causes(exc))
        if any(isinstance(c, ssl.SSLCertVerificationError) for c in chain):
            return False
        return any(isinstance(c, _TRANSIENT_CAUSES) for c in chain)
    return False


def delay(attempt: int, exc: BaseException | None = None) -> float:
    """Seconds before try number attempt + 1: doubling from 0.5 s to 5 s, or the server's Retry-After."""
    retry_after = exc.retry_after if isinstance(exc, K8sApiError) else None
    if retry_after is not None:
        return min(retry_after, 60.0)
    return min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2.0 ** max(0, attempt - 1))


def is_restart_refusal(exc: BaseException) -> bool:
    """A 401 or 403: transient when it comes just after the API server was lost (see RESTART_REFUSALS)."""
    return isinstance(exc, K8sApiError) and exc.status in RESTART_REFUSALS


def with_retries(call: t.Callable[[], _T], budget: float, on_retry: RetryFn | None = None,
                 recovering: t.Callable[[], bool] | None = None) -> _T:
    """call(), tried again after transient failures for up to budget seconds from the first one.

    recovering() true means the caller lost the API server a moment ago: a 401 or 403 is then
    tried again too, since a restarted API server gives them until its caches are filled.
    """
    first_failure: float | None = None
    attempt = 0
    while True:
        try:
            return call()
        except K8sClientError as exc:
            if not is_transient(exc) and not (is_restart_refusal(exc) and (
                    first_failure is not None or (recovering is not None and recovering()))):
                raise
            now = time.monotonic()
            first_failure = now if first_failure is None else first_failure
            attempt += 1
            wait = delay(attempt, exc)
            if now + wait - first_failure > budget:
                raise
            if on_retry is not None:
                on_retry(exc, attempt, wait)
            time.sleep(wait)
