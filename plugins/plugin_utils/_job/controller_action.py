# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The base of the job actions (container_group_job, _info, _cancel): they work on the
controller alone, with arguments checked against their module's spec."""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase


class ControllerAction(ActionBase):
    """An action run on the controller, no connection to the task's host; subclasses set
    ARGUMENT_SPEC and implement :meth:`act`."""

    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {}

    def run(self, tmp: t.Any = None, task_vars: dict | None = None) -> dict:
        result = super().run(tmp, task_vars)
        del tmp
        dummy_validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        return self.act(args, result)

    def act(self, args: dict[str, t.Any], result: dict[str, t.Any]) -> dict[str, t.Any]:
        """The task's result, from its checked arguments and the base result."""
        raise NotImplementedError
