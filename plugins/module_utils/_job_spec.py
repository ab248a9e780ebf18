# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
"""The options of container_group_job and their defaults, declared once.

The action validates its arguments with this spec; the doc module, the role
``ephemeral.container_groups.job`` (defaults and argument specs) and the wrapper playbook
repeat the defaults in the forms Ansible reads, and a unit test checks they agree with it.
"""

from __future__ import annotations

import typing as t

JOB_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "container_group": {"type": "str", "required": True},
    "playbook": {"type": "path", "required": True},
    "project_dir": {"type": "path"},
    "inventory": {"type": "str"},
    "extra_vars": {"type": "dict", "default": {}},
    "limit": {"type": "str"},
    "tags": {"type": "str"},
    "forks": {"type": "int"},
    "verbosity": {"type": "int", "default": 0},
    "job_timeout": {"type": "int", "default": 3600},
    "pending_timeout": {"type": "int", "default": 300},
    "reconnect_timeout": {"type": "int", "default": 300},
    "state_file": {"type": "path"},
}
