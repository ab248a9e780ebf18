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
    # One group's name, or a list (or comma-separated names): the first group with room.
    "container_group": {"type": "raw", "required": True},
    "playbook": {"type": "path", "required": True},
    "project_dir": {"type": "path"},
    "inventory": {"type": "list", "elements": "str"},
    "include_git": {"type": "bool", "default": False},
    "extra_vars": {"type": "dict", "default": {}},
    # Extra vars that are secrets: they travel like job_env and are masked.
    "secret_vars": {"type": "dict", "default": {}, "no_log": True},
    "limit": {"type": "str"},
    "tags": {"type": "str"},
    "skip_tags": {"type": "str"},
    "start_at_task": {"type": "str"},
    "check": {"type": "bool", "default": False},
    "diff": {"type": "bool", "default": False},
    "forks": {"type": "int"},
    "verbosity": {"type": "int", "default": 0},
    # The machine credential (AWX's Machine credential type).
    "remote_user": {"type": "str"},
    "private_key_file": {"type": "path"},
    "private_key_passphrase": {"type": "str", "no_log": True},
    "connection_password": {"type": "str", "no_log": True},
    "become_method": {"type": "str"},
    "become_user": {"type": "str"},
    "become_password": {"type": "str", "no_log": True},
    # Vault: files as ansible-playbook takes them (PATH or ID@PATH), and one password.
    "vault_password_file": {"type": "list", "elements": "str"},
    "vault_password": {"type": "str", "no_log": True},
    "job_env": {"type": "dict", "default": {}, "no_log": True},
    "events_file": {"type": "path"},
    "artifacts_dir": {"type": "path"},
    "fact_cache_dir": {"type": "path"},
    "playbook_artifact": {"type": "path"},
    "job_timeout": {"type": "int", "default": 3600},
    "pending_timeout": {"type": "int", "default": 300},
    "reconnect_timeout": {"type": "int", "default": 300},
    "keep_pod": {"type": "str", "choices": ["never", "on_failure", "always"], "default": "never"},
    # AWX's job_slice_count: the inventory's hosts split over this many Pods, run at once.
    "slices": {"type": "int", "default": 1},
    "state_file": {"type": "path"},
}
