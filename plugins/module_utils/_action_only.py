# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
"""The module side of a module whose action plugin of the same name does all the work on the
controller: the module file documents it, and run on a host it only says so."""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import AnsibleModule


def refuse_to_run_on_a_host(argument_spec: dict[str, dict[str, t.Any]], name: str) -> None:
    """Validate the arguments as the action does, then fail saying where the work is done."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    module.fail_json(msg=f"ephemeral.container_groups.{name} runs as an action plugin on the controller; "
                         "this module file only documents it")
