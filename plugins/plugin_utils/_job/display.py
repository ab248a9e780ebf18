# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""What the job actions show on the controller's display, line by line as it comes."""

from __future__ import annotations

import contextlib

from ansible.utils.display import Display

display = Display()


def say(message: str, stderr: bool = False) -> None:
    """One line on the controller's display; nothing if it is gone (the main process may
    have exited when a job cleans up after a signal)."""
    with contextlib.suppress(Exception):
        display.display(message, stderr=stderr)


def say_at_v(message: str) -> None:
    """One line shown at -v and above."""
    with contextlib.suppress(Exception):
        display.v(message)
