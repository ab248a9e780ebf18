# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Watch, don't poll: every state of one Pod (``pod_states``), or of a labelled collection
(``object_changes``), as the API server reports it.

One read gives the Pod and its resourceVersion; a watch from that version then brings each
change as it happens. A watch the server ends (its timeout) is opened again from the last
version seen; one refused with 410 Gone (the version is too old) or dropped by a transient
failure starts over with a fresh read. The reader's read_pod retries by itself.
"""

from __future__ import annotations

import contextlib
import time
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint, pod_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sApiError, K8sClientError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.retry import is_transient

#: The longest single watch; the server ends it then, and it is opened again.
WATCH_SECONDS = 60


def _version(pod: dict) -> str:
    return str((pod.get("metadata") or {}).get("resourceVersion") or "")


class PodReader(t.Protocol):
    """Who watches: an endpoint and a namespace, and a read of one Pod (None once it is gone)."""

    endpoint: ApiEndpoint
    namespace: str

    def read_pod(self, name: str) -> dict | None:
        ...


def pod_states(reader: PodReader, name: str, until: float) -> t.Iterator[dict | None]:
    """The Pod as reader.read_pod gives it now, then each change of it, until the monotonic time until.

    Yields None once the Pod is gone (read_pod gives None, or a DELETED event), and then stops.
    Raises K8sClientError for a watch refused for good (403, say).
    """
    while True:
        pod = reader.read_pod(name)
        yield pod
        if pod is None:
            return
        query = [("fieldSelector", f"metadata.name={name}"), ("resourceVersion", _version(pod))]
        try:
            while (left := until - time.monotonic()) > 0:
                watch = reader.endpoint.watch(pod_path(reader.namespace), query=query, seconds=max(1, min(WATCH_SECONDS, int(left))))
                with contextlib.closing(watch) as events:
                    for event in events:
                        if event.get("type") == "DELETED":
                            yield None
                            return
                        if event.get("type") in ("ADDED", "MODIFIED") and isinstance(event.get("object"), dict):
                            query[1] = ("resourceVersion", _version(event["object"]))
                            yield event["object"]
            return
        except K8sClientError as exc:
            if not (isinstance(exc, K8sApiError) and exc.status == 410) and not is_transient(exc):
                raise


def _list_version(listing: t.Any) -> str:
    return str(((listing if isinstance(listing, dict) else {}).get("metadata") or {}).get("resourceVersion") or "")


def object_changes(endpoint: ApiEndpoint, path: str, selector: str, list_objects: t.Callable[[], t.Any], until: float,
                   wake_in: t.Callable[[], float | None] = lambda: None) -> t.Iterator[tuple[str, t.Any]]:
    """A collection's objects matching a label selector as one list, then each change, until the
    monotonic time until.

    Yields ("SYNC", items) after every list (list_objects() answers one GET of path with the
    selector, retrying by itself), then (event type, object) for each ADDED, MODIFIED and DELETED
    object, and ("TICK", None) each time a watch ends by its timeout: no watch lasts longer than
    wake_in() seconds, so a caller with a clock to read is woken without a poll. A watch refused
    with 410 Gone or dropped by a transient failure starts over with a list. Raises
    K8sClientError for a watch refused for good.
    """
    while time.monotonic() < until:
        listing = list_objects()
        items = (listing if isinstance(listing, dict) else {}).get("items") or []
        yield "SYNC", [item for item in items if isinstance(item, dict)]
        query = [("labelSelector", selector), ("resourceVersion", _list_version(listing)), ("allowWatchBookmarks", "true")]
        try:
            while (left := until - time.monotonic()) > 0:
                wake = wake_in()
                seconds = max(1, int(min(WATCH_SECONDS, left, wake if wake is not None else WATCH_SECONDS) + 0.999))
                with contextlib.closing(endpoint.watch(path, query=query, seconds=seconds)) as events:
                    for event in events:
                        kind, item = event.get("type"), event.get("object")
                        if not isinstance(item, dict):
                            continue
                        version = _version(item)
                        if version:
                            query[1] = ("resourceVersion", version)
                        if kind in ("ADDED", "MODIFIED", "DELETED"):
                            yield kind, item
                yield "TICK", None
            return
        except K8sClientError as exc:
            if not (isinstance(exc, K8sApiError) and exc.status == 410) and not is_transient(exc):
                raise
