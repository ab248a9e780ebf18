# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Stopping stops: SIGINT, SIGTERM or the loss of the controller become one exception.

A job runs in an Ansible worker process, which would otherwise exit on the spot and leave
its Pod behind. For the length of the job the first signal raises :class:`Interrupted`, so
the job's own clean-up runs; later signals are only noted, so that clean-up cannot itself be
cut short. A watchdog thread notices when ansible-playbook was killed outright (the worker
has its own session since ansible-core 2.19 and would run on) and acts as if SIGTERM came.
"""

from __future__ import annotations

import os
import signal
import threading
import typing as t

WATCHDOG_SECONDS = 1.0


class Interrupted(Exception):
    """The controller was asked to stop (SIGINT/SIGTERM) or its main process vanished."""


class StopGuard:
    """A context manager: inside it, the first SIGINT/SIGTERM raises Interrupted.

    ``reason`` is the name of that first signal (None until one came).
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._previous: dict[int, t.Any] = {}
        self._parent = os.getppid()
        self._done = threading.Event()

    def _handler(self, signum: int, frame: t.Any) -> None:
        if self.reason is None:
            self.reason = signal.Signals(signum).name
            raise Interrupted(self.reason)

    def _watch_parent(self) -> None:
        while not self._done.wait(WATCHDOG_SECONDS):
            if os.getppid() != self._parent:
                if self.reason is None:
                    os.kill(os.getpid(), signal.SIGTERM)
                return

    def __enter__(self) -> StopGuard:
        if threading.current_thread() is not threading.main_thread():
            # Only the main thread receives signals: a job run in a thread of its own (a slice)
            # is stopped by that thread's guard, through the job (see ``slices``).
            return self
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handler)
        threading.Thread(target=self._watch_parent, name="cg-parent-watchdog", daemon=True).start()
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self._done.set()
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
