# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures: an in-memory stand-in for the Pods (and Secrets) API, for unit tests of the job's logic.

Integration tests use the real local cluster; this only lets the step order, the clean-up
and the messages be checked in milliseconds.
"""

from __future__ import annotations

import copy
import socket
import typing as t

import pytest

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import LABEL_MANAGED_BY
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import owner_id
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sApiError


class FakeEndpoint:
    """Pods and Secrets of one namespace in dicts; every request is recorded as (method, path)."""

    host = "https://fake-api:6443"

    def __init__(self, phase: str = "Running", status: dict | None = None) -> None:
        self.pods: dict[str, dict] = {}
        self.secrets: dict[str, dict] = {}
        self.secret_lists: list[bool] = []  # metadata_only of each list of Secrets
        self.calls: list[tuple[str, str]] = []
        self.requests = 0  # as ApiEndpoint counts them (execs are not counted here)
        self.phase = phase
        self.status = status or {}
        self.fail_next: dict[str, BaseException] = {}  # method: exception raised once
        self.refusals: list[tuple[str, str, BaseException]] = []  # (method, path end, exception) raised every time
        self.events: list[dict] = []  # the events of the Pod
        self.events_error: BaseException | None = None  # what reading them raises
        self.watch_events: t.Callable[[dict], list[dict]] | None = None  # the events a watch of a Pod brings
        # The events a watch of a label selector brings (given the watches so far and the selector);
        # each changes the stored Pods too.
        self.group_watch_events: t.Callable[[int, str], list[dict]] | None = None
        self.watch_queries: list[list] = []
        self.patches: list[tuple[str, t.Any, str]] = []  # (name, patch, patch type) of each Pod PATCH
        self.version = 0  # the last resourceVersion given

    def _next_version(self) -> str:
        self.version += 1
        return str(self.version)

    def request(self, method: str, path: str, *, query: t.Any = None, body: t.Any = None, timeout: float = 30.0,
                metadata_only: bool = False, patch_type: str = "merge") -> t.Any:
        self.calls.append((method, path))
        self.requests += 1
        if method in self.fail_next:
            raise self.fail_next.pop(method)
        for refused_method, path_end, exc in self.refusals:
            if method == refused_method and path.endswith(path_end):
                raise exc
        parts = path.strip("/").split("/")  # api v1 namespaces NS pods|secrets [NAME]
        name = parts[5] if len(parts) > 5 else None
        if parts[4] == "secrets":
            return self._secret_request(method, name, body, metadata_only)
        if parts[4] == "events":
            if self.events_error is not None:
                raise self.events_error
            return {"items": self.events}
        if method == "POST":
            pod = copy.deepcopy(body)
            if pod["metadata"]["name"] in self.pods:
                raise K8sApiError(409, "Conflict", '{"message": "already exists"}')
            pod["status"] = {"phase": self.phase, **self.status}
            pod["metadata"]["resourceVersion"] = self._next_version()
            pod["metadata"]["uid"] = f"uid-{pod['metadata']['name']}"
            self.pods[pod["metadata"]["name"]] = pod
            return pod
        if method == "GET" and name is None:
            selector = dict(query or []).get("labelSelector", "")
            return {"metadata": {"resourceVersion": str(self.version)},
                    "items": [pod for pod in self.pods.values() if _matches(pod, selector)]}
        if name not in self.pods:
            raise K8sApiError(404, "Not Found", f'{{"message": "pods \\"{name}\\" not found"}}')
        if method == "PATCH":
            self.patches.append((name, copy.deepcopy(body), patch_type))
            return self.patch_pod(name, body, patch_type)
        if method == "DELETE":
            _check_precondition(self.pods[name], body)
            return self.pods.pop(name)
        return self.pods[name]

    def _secret_request(self, method: str, name: str | None, body: t.Any, metadata_only: bool) -> t.Any:
        if method == "POST":
            if body["metadata"]["name"] in self.secrets:
                raise K8sApiError(409, "Conflict", '{"message": "already exists"}')
            self.secrets[body["metadata"]["name"]] = copy.deepcopy(body)
            return body
        if method == "GET" and name is None:
            self.secret_lists.append(metadata_only)
            if metadata_only:
                return {"kind": "PartialObjectMetadataList", "items": [{"metadata": s["metadata"]} for s in self.secrets.values()]}
            return {"items": list(self.secrets.values())}
        if name not in self.secrets:
            raise K8sApiError(404, "Not Found", f'{{"message": "secrets \\"{name}\\" not found"}}')
        if method == "PATCH":
            self.secrets[name]["metadata"].update(copy.deepcopy(body["metadata"]))
        if method == "DELETE":
            _check_precondition(self.secrets[name], body)
            return self.secrets.pop(name)
        return self.secrets[name]

    def patch_pod(self, name: str, body: dict, patch_type: str) -> dict:
        """Annotations merge; a strategic merge patch's deleted scheduling gates go."""
        pod = self.pods[name]
        pod["metadata"].setdefault("annotations", {}).update((body.get("metadata") or {}).get("annotations") or {})
        for gate in (body.get("spec") or {}).get("schedulingGates") or []:
            assert patch_type == "strategic-merge" and gate.get("$patch") == "delete"
            pod["spec"]["schedulingGates"] = [g for g in pod["spec"].get("schedulingGates") or [] if g["name"] != gate["name"]]
        pod["metadata"]["resourceVersion"] = self._next_version()
        return pod

    def watch(self, path: str, *, query: list, seconds: int) -> t.Iterator[dict]:
        """The scripted events of the one Pod watched, or of a label selector; each changes the
        stored Pods too."""
        self.calls.append(("WATCH", path))
        self.watch_queries.append(list(query))
        if "labelSelector" in dict(query):
            selector = dict(query)["labelSelector"]
            for event in self.group_watch_events(len(self.watch_queries), selector) if self.group_watch_events else []:
                name = event["object"]["metadata"]["name"]
                if event["type"] == "DELETED":
                    self.pods.pop(name, None)
                else:
                    self.pods[name] = event["object"]
                yield event
            return
        name = dict(query)["fieldSelector"].split("=", 1)[1]
        for event in self.watch_events(self.pods[name]) if self.watch_events and name in self.pods else []:
            self.pods[name] = event["object"]
            yield event


def _matches(pod: dict, selector: str) -> bool:
    """Whether a Pod's labels meet a label selector of KEY=VALUE terms (the managed-by label is
    left out of the fake's Pods, so it is not asked for)."""
    labels = pod["metadata"].get("labels") or {}
    terms = [term.split("=", 1) for term in selector.split(",") if term and not term.startswith(LABEL_MANAGED_BY)]
    return all(labels.get(key) == value for key, value in terms)


def _check_precondition(stored: dict, body: t.Any) -> None:
    """A DELETE whose uid precondition names another object is refused with 409, as the API server does."""
    wanted = (body or {}).get("preconditions") or {}
    for key in ("uid", "resourceVersion"):
        if wanted.get(key) and wanted[key] != stored["metadata"].get(key):
            raise K8sApiError(409, "Conflict", f'{{"message": "Precondition failed: {key} in precondition does not match"}}')


@pytest.fixture()
def fake_api() -> type[FakeEndpoint]:
    """The FakeEndpoint class (call it with the phase new Pods get)."""
    return FakeEndpoint


@pytest.fixture()
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def dead_owner() -> str:
    """An owner annotation of this kernel and this PID namespace whose process is gone."""
    host, boot, namespace, dummy_pid, dummy_ticks = owner_id().split("/")
    return f"{host}/{boot}/{namespace}/999999999/5"
