# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
"""The options of container_group_job_info and container_group_job_cancel, declared once
(their action plugins validate with these; their doc modules declare the same)."""

from __future__ import annotations

import typing as t

JOB_INFO_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "container_group": {"type": "str", "required": True},
    "job_id": {"type": "str"},
    "follow": {"type": "bool", "default": False},
    "from_byte": {"type": "int", "default": 0},
    "reconnect_timeout": {"type": "int", "default": 300},
    "state_file": {"type": "path"},
}

JOB_CANCEL_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "container_group": {"type": "str", "required": True},
    "job_id": {"type": "str", "required": True},
    "reconnect_timeout": {"type": "int", "default": 300},
    "state_file": {"type": "path"},
}
