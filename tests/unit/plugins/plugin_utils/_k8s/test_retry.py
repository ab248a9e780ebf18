# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which failures pass, and how long to wait before trying again."""

from __future__ import annotations

import ssl

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s import retry as _retry
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import (
    ExecError,
    ExecStatusError,
    ExecTimeout,
    K8sApiError,
    K8sConnectionError,
)


def _caused_by(cause: BaseException) -> K8sConnectionError:
    try:
        raise K8sConnectionError("cannot reach the API server") from cause
    except K8sConnectionError as exc:
        return exc


@pytest.mark.parametrize(
    "exc, transient",
    [
        (K8sApiError(503, "Service Unavailable"), True),
        (K8sApiError(429, "Too Many Requests", retry_after=2), True),
        (K8sApiError(500, "Internal Server Error"), True),
        (K8sApiError(504, "Gateway Timeout"), True),
        (K8sApiError(401, "Unauthorized"), False),
        (K8sApiError(403, "Forbidden"), False),
        (K8sApiError(404, "Not Found"), False),
        (K8sApiError(409, "Conflict"), False),
        (K8sApiError(422, "Unprocessable Entity"), False),
        (_caused_by(ConnectionRefusedError(111, "Connection refused")), True),
        (_caused_by(ConnectionResetError(104, "Connection reset by peer")), True),
        (_caused_by(TimeoutError("timed out")), True),
        (_caused_by(ssl.SSLEOFError(8, "EOF occurred in violation of protocol")), True),
        (_caused_by(ssl.SSLCertVerificationError(1, "certificate verify failed")), False),
        (K8sConnectionError("cannot load CA file /x"), False),
        (ExecError("the exec stream broke: connection reset"), True),
        (ExecStatusError('the command could not be run: exec: "nope": executable file not found in $PATH', {}), False),
        (ExecStatusError("the command could not be run: Internal error occurred: error sending request: Post "
                         '"https://10.0.0.1:10250/exec/ns/p/c?...": dial tcp 10.0.0.1:10250: connect: connection refused', {}),
         True),
        (ExecTimeout("the command did not finish in time"), False),
    ],
)
def test_what_is_transient(exc, transient):
    assert _retry.is_transient(exc) is transient


def test_backoff_doubles_up_to_a_cap_and_honours_retry_after():
    assert [_retry.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert _retry.delay(1, K8sApiError(429, "Too Many Requests", retry_after=7)) == 7


def test_with_retries_stops_at_the_budget_and_never_retries_a_refusal(monkeypatch):
    monkeypatch.setattr(_retry.time, "sleep", lambda seconds: None)
    calls = []

    def unavailable():
        calls.append(1)
        raise K8sApiError(503, "Service Unavailable")

    with pytest.raises(K8sApiError):
        _retry.with_retries(unavailable, budget=0.0)
    assert len(calls) == 1

    answers = iter([K8sApiError(503, "Service Unavailable"), K8sApiError(502, "Bad Gateway")])

    def flaky():
        exc = next(answers, None)
        if exc is not None:
            raise exc
        return "ok"

    seen = []
    assert _retry.with_retries(flaky, budget=60, on_retry=lambda exc, attempt, wait: seen.append((attempt, wait))) == "ok"
    assert seen == [(1, 0.5), (2, 1.0)]

    def forbidden():
        calls.append(1)
        raise K8sApiError(403, "Forbidden")

    calls.clear()
    with pytest.raises(K8sApiError):
        _retry.with_retries(forbidden, budget=60)
    assert len(calls) == 1


def test_a_refusal_just_after_a_lost_api_server_is_tried_again(monkeypatch):
    monkeypatch.setattr(_retry.time, "sleep", lambda seconds: None)
    answers = iter([K8sApiError(403, "Forbidden"), "ok"])

    def just_restarted():
        answer = next(answers)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    assert _retry.with_retries(just_restarted, budget=60, recovering=lambda: True) == "ok"
    answers = iter([K8sApiError(503, "Service Unavailable"), K8sApiError(403, "Forbidden"), "ok"])
    assert _retry.with_retries(just_restarted, budget=60) == "ok", "a 403 after a 503 in the same call is the restart's"
    answers = iter([K8sApiError(403, "Forbidden"), "ok"])
    with pytest.raises(K8sApiError):
        _retry.with_retries(just_restarted, budget=60, recovering=lambda: False)
