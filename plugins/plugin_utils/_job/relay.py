# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""What threads say (a sliced job's slices, the follows of its Pods), shown by the thread that
owns the display: the main thread, the one Ansible's display and the signals belong to."""

from __future__ import annotations

import queue
import threading
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import LineFn
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import NoticeFn

#: Seconds the main thread waits for something said before it looks at the threads again.
POLL_SECONDS = 0.2


class Relay:
    """Lines and notices from any thread, each with its prefix, to on_line and notice in the
    thread that calls :meth:`show`."""

    def __init__(self, on_line: LineFn, notice: NoticeFn) -> None:
        self._on_line = on_line
        self._notice = notice
        self._said: queue.Queue[tuple[bool, str, bool]] = queue.Queue()  # (is a line, text, flag)

    def on_line(self, prefix: str) -> LineFn:
        return lambda line, is_stderr: self._said.put((True, prefix + line, is_stderr))

    def notice(self, prefix: str) -> NoticeFn:
        return lambda message, is_problem: self._said.put((False, prefix + message, is_problem))

    def show(self, wait: float) -> None:
        """Show what was said, waiting up to wait seconds for the first of it."""
        try:
            said = [self._said.get(timeout=wait)] if wait > 0 else []
        except queue.Empty:
            return
        while True:
            for is_line, text, flag in said:
                (self._on_line if is_line else self._notice)(text, flag)
            try:
                said = [self._said.get_nowait()]
            except queue.Empty:
                return

    def show_until_done(self, threads: t.Sequence[threading.Thread]) -> None:
        """Show what the threads say until every one has ended, and all they said."""
        while any(thread.is_alive() for thread in threads):
            self.show(POLL_SECONDS)
        self.show(0)
