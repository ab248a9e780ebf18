# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state_file option is declared twice (argument spec and doc fragment): they must agree."""

from __future__ import annotations

import yaml

from ansible_collections.ephemeral.container_groups.plugins.doc_fragments.state_file import ModuleDocFragment
from ansible_collections.ephemeral.container_groups.plugins.module_utils._module_common import STATE_FILE_ARGSPEC

# What a documented option and its argument spec entry must agree on, with Ansible's defaults.
COMPARED = {"type": "str", "required": False, "default": None, "choices": None, "elements": None, "aliases": None}


def normalise(option: dict) -> dict:
    return {key: option.get(key, default) for key, default in COMPARED.items()}


def test_doc_fragment_and_argspec_declare_the_same_options():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert sorted(documented) == sorted(STATE_FILE_ARGSPEC)
    for name, spec in STATE_FILE_ARGSPEC.items():
        assert normalise(documented[name]) == normalise(spec), name
        assert documented[name]["description"], name


def test_doc_fragment_names_the_environment_variable_and_default():
    from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import DEFAULT_STATE_FILE, ENV_STATE_FILE

    text = ModuleDocFragment.DOCUMENTATION
    assert ENV_STATE_FILE in text and DEFAULT_STATE_FILE in text
