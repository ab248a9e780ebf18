# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""How a job talks to the API server: every request and exec retried, every failure worded.

:class:`JobCalls` is the base of ``_job.ContainerGroupJob``. Each call is tried again after
transient failures (``_k8s.retry``) within the job's reconnect_timeout, says so in a notice, and
counts in ``api_retries``; a failure that stays becomes a JobError naming the Pod and the cause.
"""

from __future__ import annotations

import time
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import (
    LABEL_JOB_ID,
    LABEL_MANAGED_BY,
    MANAGED_BY_VALUE,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import JobSpec
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint, pod_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import (
    K8sApiError,
    K8sClientError,
    explain_api_exception,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.channels import exec_in_pod
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.watch import pod_states
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.retry import RECOVERY_SECONDS, with_retries

NoticeFn = t.Callable[[str, bool], None]


class JobError(Exception):
    """A job step failed; the message names the Pod and the cause for people."""


class JobCalls:
    """The API calls of one job; the job sets these attributes before any call."""

    spec: JobSpec
    endpoint: ApiEndpoint
    notice: NoticeFn
    job_id: str
    namespace: str
    pod_name: str
    container: str
    api_retries: int
    _lost_at: float

    @property
    def where(self) -> str:
        return f"Pod {self.namespace}/{self.pod_name}"

    def _retried(self, call: t.Callable[[], t.Any], what: str) -> t.Any:
        """call(), tried again after transient failures within reconnect_timeout, each retry said."""

        def said(exc: K8sClientError, attempt: int, wait: float) -> None:
            self._lost()
            self.api_retries += 1
            self.notice(f"cannot {what} yet ({exc}); trying again in {wait:.1f}s (attempt {attempt + 1})", True)

        return with_retries(call, self.spec.reconnect_timeout, said, self._recovering)

    def _lost(self) -> None:
        self._lost_at = time.monotonic()

    def _recovering(self) -> bool:
        return time.monotonic() - self._lost_at < RECOVERY_SECONDS

    def _request(self, method: str, path: str, **kwargs: t.Any) -> t.Any:
        # No one call may hang for longer than the whole budget (a frozen API server holds it).
        timeout = min(30.0, float(self.spec.reconnect_timeout))
        return self._retried(lambda: self.endpoint.request(method, path, timeout=timeout, **kwargs),
                             f"{method} {path} on the API server")

    def _explain(self, exc: Exception, verb: str, name: str | None = None, resource: str = "pods") -> str:
        return explain_api_exception(exc, verb=verb, resource=resource, name=name, namespace=self.namespace,
                                     host=self.endpoint.host)

    def _list_ours(self, extra_selector: str = "") -> list[dict]:
        selector = f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}" + (f",{extra_selector}" if extra_selector else "")
        try:
            listing = self._request("GET", pod_path(self.namespace), query=[("labelSelector", selector)])
        except K8sClientError as exc:
            raise JobError(f"cannot list Pods in namespace {self.namespace}: {self._explain(exc, 'list')}") from exc
        items = listing.get("items") if isinstance(listing, dict) else None
        return [pod for pod in items or [] if isinstance(pod, dict)]

    def _is_ours(self, name: str) -> bool:
        try:
            pod = self._request("GET", pod_path(self.namespace, name))
        except K8sClientError:
            return False
        return ((pod.get("metadata") or {}).get("labels") or {}).get(LABEL_JOB_ID) == self.job_id

    def _pod_states(self, until: float) -> t.Iterator[dict | None]:
        """The Pod now, then each change of it (see ``_k8s.watch``), until the monotonic time until."""
        try:
            yield from pod_states(self.endpoint, self.namespace, self.pod_name, until, self._read)
        except K8sClientError as exc:
            raise JobError(f"cannot watch {self.where}: {self._explain(exc, 'watch', self.pod_name)}") from exc

    def _read(self) -> dict | None:
        """The job's Pod, None if the API server has no such Pod."""
        try:
            pod = self._request("GET", pod_path(self.namespace, self.pod_name))
        except K8sClientError as exc:
            if isinstance(exc, K8sApiError) and exc.status == 404:
                return None
            raise JobError(f"cannot read {self.where}: {self._explain(exc, 'get', self.pod_name)}") from exc
        if not isinstance(pod, dict):
            raise JobError(f"the API server sent something other than a Pod for {self.where}")
        return pod

    def _exec_once(self, argv: list[str], stdin: t.Callable[[], t.Any] | None = None, **kwargs: t.Any) -> int:
        """One exec in the job's container; stdin is a factory, so every try starts it afresh."""
        kwargs.setdefault("connect_timeout", min(30.0, float(self.spec.reconnect_timeout)))
        return exec_in_pod(self.endpoint, self.namespace, self.pod_name, self.container, argv,
                           stdin() if stdin is not None else None, **kwargs)

    def _exec(self, argv: list[str], *, what: str, **kwargs: t.Any) -> int:
        """An idempotent exec (all of the job's are), tried again after transient failures."""
        try:
            return int(self._retried(lambda: self._exec_once(argv, **kwargs), f"{what} {self.where}"))
        except K8sClientError as exc:
            raise JobError(f"cannot {what} {self.where}: {exc}") from exc

    def _delete(self, name: str) -> None:
        # Grace 0: the job is over (or abandoned); nothing in the Pod needs time to stop.
        try:
            self._request("DELETE", pod_path(self.namespace, name), body={"gracePeriodSeconds": 0})
        except K8sClientError as exc:
            if isinstance(exc, K8sApiError) and exc.status == 404:
                return
            raise JobError(f"cannot delete Pod {self.namespace}/{name}: {self._explain(exc, 'delete', name)}") from exc
