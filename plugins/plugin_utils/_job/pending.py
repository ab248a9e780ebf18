# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""A Pod that no node fits yet, waited for: an autoscaler may be adding a node.

The job says so once, with the scheduler's words and what an autoscaler said of the Pod
(its events), and again whenever that changes; the wait itself is the job's (up to
pending_timeout).
"""

from __future__ import annotations

import time

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobNamespace
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.pod_status import scale_up

#: While no node fits the Pod, how often at most its events are read for an autoscaler's word.
SCALE_UP_CHECK_SECONDS = 30.0


class NodeWait:
    """A Pod that no node fits yet: said once with the scheduler's words, then again whenever
    what an autoscaler says of it changes (its events, read at most every SCALE_UP_CHECK_SECONDS)."""

    def __init__(self, api: JobNamespace, pod: str, pending_timeout: int, started: float) -> None:
        self._api = api
        self._pod = pod
        self._pending_timeout = pending_timeout
        self._started = started
        self._checked = float("-inf")
        self._said: str | None = None
        self._unread = False
        self._told = False

    def saw(self, scheduler_said: str) -> None:
        api, where = self._api, self._api.where(self._pod)
        now = time.monotonic()
        if now - self._checked >= SCALE_UP_CHECK_SECONDS:
            self._checked = now
            events = api.pod_events(self._pod)
            self._unread = events is None
            said = scale_up(events) if events is not None else None
            if self._told and said and said != self._said:
                api.notice(f"{where}: {said}", False)
            self._said = said or self._said
        if not self._told:
            self._told = True
            left = self._pending_timeout - (now - self._started)
            autoscaler = self._said or ("its events cannot be read (RBAC: events list), so what an autoscaler does is not known"
                                        if self._unread else "no autoscaler has said anything of it yet")
            api.notice(f"{where} is Unschedulable: {scheduler_said} ({autoscaler}). Waiting up to {left:.0f}s more "
                       "(pending_timeout) for a node that fits, as an autoscaler may add one; stop now if none will "
                       "(a nodeSelector, affinity or resource request that no node can meet)", True)

    def autoscaler_said(self) -> str:
        return f"; {self._said}" if self._said else ""
