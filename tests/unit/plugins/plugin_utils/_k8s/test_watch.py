# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every state of a Pod from one read and a watch: 410 Gone and dropped watches start over."""

from __future__ import annotations

import time

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sApiError, K8sConnectionError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.watch import pod_states


class Fail:
    """A watch that fails with exc."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Watches:
    """Each watch() plays the next script: a list of events, or a Fail."""

    def __init__(self, *scripts) -> None:
        self.scripts = list(scripts)
        self.versions: list[str] = []

    def watch(self, path, *, query, seconds):
        self.versions.append(dict(query)["resourceVersion"])
        script = self.scripts.pop(0) if self.scripts else []
        if isinstance(script, Fail):
            raise script.exc
        yield from script


class Reader:
    """A PodReader: the watches as its endpoint, and read_pod from a function."""

    namespace = "ns"

    def __init__(self, endpoint: Watches, read) -> None:
        self.endpoint = endpoint
        self._read = read

    def read_pod(self, name: str) -> dict | None:
        assert name == "p"
        return self._read()


def _dropped() -> K8sConnectionError:
    try:
        raise K8sConnectionError("cannot reach the API server") from ConnectionResetError(104, "Connection reset by peer")
    except K8sConnectionError as exc:
        return exc


def pod(version: str, phase: str = "Pending") -> dict:
    return {"metadata": {"name": "p", "resourceVersion": version}, "status": {"phase": phase}}


def phases(states) -> list:
    return [None if s is None else (s["metadata"]["resourceVersion"], s["status"]["phase"]) for s in states]


def test_410_gone_and_a_dropped_watch_read_afresh_and_watch_from_there():
    reads = iter([pod("1"), pod("7"), pod("9")])
    watches = Watches(
        [{"type": "MODIFIED", "object": pod("2")}],
        Fail(K8sApiError(410, "Expired", '{"message": "too old resource version"}')),
        Fail(_dropped()),
        [{"type": "MODIFIED", "object": pod("10", "Running")}],
    )
    states = pod_states(Reader(watches, lambda: next(reads)), "p", time.monotonic() + 30)
    seen = []
    for state in states:
        seen.append(state)
        if state["status"]["phase"] == "Running":
            break
    assert phases(seen) == [("1", "Pending"), ("2", "Pending"), ("7", "Pending"), ("9", "Pending"), ("10", "Running")]
    assert watches.versions == ["1", "2", "7", "9"], "each watch starts from the last version seen"


def test_a_deleted_pod_ends_the_states_with_none():
    watches = Watches([{"type": "DELETED", "object": pod("3")}])
    assert phases(pod_states(Reader(watches, lambda: pod("1")), "p", time.monotonic() + 30)) == [("1", "Pending"), None]
    assert phases(pod_states(Reader(watches, lambda: None), "p", time.monotonic() + 30)) == [None]


def test_a_watch_refused_for_good_is_raised():
    watches = Watches(Fail(K8sApiError(403, "Forbidden", '{"message": "cannot watch pods"}')))
    with pytest.raises(K8sApiError):
        list(pod_states(Reader(watches, lambda: pod("1")), "p", time.monotonic() + 30))
