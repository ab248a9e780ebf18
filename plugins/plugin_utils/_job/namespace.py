# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The job's calls to its namespace: every request and exec retried, every failure worded.

:class:`JobNamespace` owns what the job's API calls share: the endpoint, the namespace, the
reconnect budget (reconnect_timeout), the count of retries and the notice function. The job
holds one and hands it to its parts (the pull Secret, the follow of the output, the watch).
Each call is tried again after transient failures (``_k8s.retry``) within the budget, says so
in a notice, and counts in ``retries``; a failure that stays becomes a JobError that names the
object once, as ``Pod NAMESPACE/NAME``, then the cause.
"""

from __future__ import annotations

import time
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import LABEL_MANAGED_BY, MANAGED_BY_VALUE
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.channels import exec_in_pod
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.stdin import StdinSource
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint, core_path, pod_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import (
    K8sApiError,
    K8sClientError,
    explain_api_exception,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.retry import RECOVERY_SECONDS, with_retries
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.watch import object_changes, pod_states

NoticeFn = t.Callable[[str, bool], None]
_T = t.TypeVar("_T")
#: No one call may hang for longer than this, nor than the whole budget (a frozen API server holds it).
CALL_TIMEOUT_SECONDS = 30.0


class JobError(Exception):
    """A job step failed; the message names the object once, then the cause, for people.
    reason is Kubernetes' word when the Pod itself ended the job (OOMKilled, Evicted, ...)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class JobNamespace:
    """Retried, worded calls to one namespace of one API server, for one job."""

    def __init__(self, endpoint: ApiEndpoint, namespace: str, *, reconnect_timeout: float, notice: NoticeFn) -> None:
        self.endpoint = endpoint
        self.namespace = namespace
        self.reconnect_timeout = reconnect_timeout
        self.notice = notice
        #: Calls tried again after a transient failure.
        self.retries = 0
        self._lost_at = float("-inf")  # when the job last lost the API server

    @property
    def requests(self) -> int:
        """HTTP requests and exec connections made so far."""
        return self.endpoint.requests

    def where(self, pod: str) -> str:
        """How every message names one of the job's Pods."""
        return f"Pod {self.namespace}/{pod}"

    # -- the budget -------------------------------------------------------------------------

    def lost(self) -> None:
        """The API server was just lost (a transient failure): it may refuse for a moment once back."""
        self._lost_at = time.monotonic()

    def recovering(self) -> bool:
        return time.monotonic() - self._lost_at < RECOVERY_SECONDS

    def retried(self, call: t.Callable[[], _T], what: str) -> _T:
        """call(), tried again after transient failures within reconnect_timeout, each retry said."""

        def said(exc: K8sClientError, attempt: int, wait: float) -> None:
            self.lost()
            self.retries += 1
            self.notice(f"cannot {what} yet ({exc}); trying again in {wait:.1f}s (attempt {attempt + 1})", True)

        return with_retries(call, self.reconnect_timeout, said, self.recovering)

    # -- requests ---------------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: t.Any) -> t.Any:
        """One API request, retried; raises K8sClientError when it fails for good."""
        timeout = min(CALL_TIMEOUT_SECONDS, float(self.reconnect_timeout))
        return self.retried(lambda: self.endpoint.request(method, path, timeout=timeout, **kwargs),
                            f"{method} {path} on the API server")

    def explain(self, exc: Exception, verb: str, resource: str = "pods") -> str:
        """The cause of a failed call, for a message that has named the object already."""
        return explain_api_exception(exc, verb=verb, resource=resource, namespace=self.namespace, host=self.endpoint.host)

    def list_ours(self, resource: str = "pods", selector: str = "", metadata_only: bool = False) -> list[dict]:
        """Our objects of a kind (managed by this collection, and matching selector); K8sClientError."""
        labels = f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}" + (f",{selector}" if selector else "")
        listing = self.request("GET", core_path(resource, self.namespace), query=[("labelSelector", labels)],
                               metadata_only=metadata_only)
        items = listing.get("items") if isinstance(listing, dict) else None
        return [item for item in items or [] if isinstance(item, dict)]

    def list_pods(self, selector: str = "") -> list[dict]:
        """Our Pods in the namespace; JobError when they cannot be listed."""
        try:
            return self.list_ours("pods", selector)
        except K8sClientError as exc:
            raise JobError(f"cannot list Pods in namespace {self.namespace}: {self.explain(exc, 'list')}") from exc

    def read_pod(self, name: str) -> dict | None:
        """The Pod, None if the API server has no such Pod; JobError when it cannot tell."""
        try:
            pod = self.request("GET", pod_path(self.namespace, name))
        except K8sClientError as exc:
            if isinstance(exc, K8sApiError) and exc.status == 404:
                return None
            raise JobError(f"cannot read {self.where(name)}: {self.explain(exc, 'get')}") from exc
        if not isinstance(pod, dict):
            raise JobError(f"the API server sent something other than a Pod for {self.where(name)}")
        return pod

    def pod_events(self, name: str) -> list[dict] | None:
        """The events of one Pod (what the scheduler and an autoscaler said of it); None when
        they cannot be read (RBAC without events list, say): they only add to a message."""
        selector = f"involvedObject.kind=Pod,involvedObject.name={name}"
        try:
            listing = self.request("GET", core_path("events", self.namespace), query=[("fieldSelector", selector)])
        except K8sClientError:
            return None
        items = listing.get("items") if isinstance(listing, dict) else None
        return [item for item in items or [] if isinstance(item, dict)]

    def pod_states(self, name: str, until: float) -> t.Iterator[dict | None]:
        """The Pod now, then each change of it (see ``_k8s.watch``), until the monotonic time until."""
        try:
            yield from pod_states(self, name, until)
        except K8sClientError as exc:
            raise JobError(f"cannot watch {self.where(name)}: {self.explain(exc, 'watch')}") from exc

    def pod_changes(self, selector: str, until: float, wake_in: t.Callable[[], float | None]) -> t.Iterator[tuple[str, t.Any]]:
        """Our Pods matching selector, listed then watched (see ``_k8s.watch.object_changes``)."""
        labels = f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE},{selector}"
        path = pod_path(self.namespace)
        try:
            yield from object_changes(self.endpoint, path, labels,
                                      lambda: self.request("GET", path, query=[("labelSelector", labels)]), until, wake_in)
        except K8sClientError as exc:
            raise JobError(f"cannot watch the Pods of {selector} in namespace {self.namespace}: "
                           f"{self.explain(exc, 'watch')}") from exc

    def patch_pod(self, name: str, patch: dict, patch_type: str = "merge") -> dict | None:
        """Patch the Pod; its new state, None if the API server has no such Pod. K8sClientError."""
        try:
            pod = self.request("PATCH", pod_path(self.namespace, name), body=patch, patch_type=patch_type)
        except K8sApiError as exc:
            if exc.status == 404:
                return None
            raise
        return pod if isinstance(pod, dict) else {}

    def delete(self, resource: str, name: str, uid: str | None = None, version: str | None = None,
               **options: t.Any) -> bool:
        """Delete one object (options: the DeleteOptions, gracePeriodSeconds say); gone already is
        fine. With uid, only that object: one that has taken the name since is left alone (the
        API server refuses the delete with 409 Conflict on the precondition); with version too,
        only while it is unchanged. False when a precondition kept it. K8sClientError."""
        preconditions = {key: value for key, value in (("uid", uid), ("resourceVersion", version)) if value}
        body = dict(options, preconditions=preconditions) if preconditions else options or None
        try:
            self.request("DELETE", core_path(resource, self.namespace, name), body=body)
        except K8sApiError as exc:
            if exc.status == 409 and preconditions:
                return False
            if exc.status != 404:
                raise
        return True

    def delete_pod(self, name: str, uid: str | None = None) -> None:
        """Delete the Pod at once (grace 0: the job is over, or abandoned), by uid when given."""
        try:
            self.delete("pods", name, uid, gracePeriodSeconds=0)
        except K8sClientError as exc:
            raise JobError(f"cannot delete {self.where(name)}: {self.explain(exc, 'delete')}") from exc

    # -- execs ------------------------------------------------------------------------------

    def exec_once(self, pod: str, container: str, argv: list[str], stdin: t.Callable[[], StdinSource] | None = None,
                  **kwargs: t.Any) -> int:
        """One exec in the Pod's container; stdin is a factory, so every try starts it afresh.
        Raises K8sClientError."""
        kwargs.setdefault("connect_timeout", min(CALL_TIMEOUT_SECONDS, float(self.reconnect_timeout)))
        return exec_in_pod(self.endpoint, self.namespace, pod, container, argv, stdin() if stdin is not None else None,
                           **kwargs)

    def exec(self, pod: str, container: str, argv: list[str], *, what: str, **kwargs: t.Any) -> int:
        """An idempotent exec (all of the job's are), retried; JobError saying "cannot {what} Pod ..."."""
        try:
            return self.retried(lambda: self.exec_once(pod, container, argv, **kwargs), f"{what} {self.where(pod)}")
        except K8sClientError as exc:
            raise JobError(f"cannot {what} {self.where(pod)}: {exc}") from exc
