# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the state_file option (its argument spec: module_utils/_module_common.py)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  state_file:
    description:
      - Path of the YAML file that holds credentials and container groups.
      - When not set, the E(CONTAINER_GROUPS_STATE_FILE) environment variable is used, else
        C(~/.ansible/container_groups.yml).
      - The file holds bearer tokens. It is created with mode C(0600), its directory with
        mode C(0700) if it does not exist. A file that other users can read is refused.
      - Every change takes an exclusive lock (a C(.lock) file beside the state file) and
        replaces the file atomically. A file that does not parse or has an unknown
        C(version) is reported and never overwritten.
    type: path
"""
