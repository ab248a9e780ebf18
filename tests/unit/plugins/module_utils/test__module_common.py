# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is declared twice must agree: the state_file option (argument spec and doc fragment),
and the group and credential views (built here, documented in each module's RETURN, since
return values cannot come from a doc fragment)."""

from __future__ import annotations

import types

import pytest
import yaml

from ansible_collections.ephemeral.container_groups.plugins.doc_fragments.state_file import ModuleDocFragment
from ansible_collections.ephemeral.container_groups.plugins.module_utils._module_common import (
    STATE_FILE_ARGSPEC,
    credential_view,
    group_view,
)
from ansible_collections.ephemeral.container_groups.plugins.modules import (
    container_group,
    container_group_info,
    k8s_bearer_credential,
)

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


GROUP_KEYS = set(group_view("g", {"credential": "c"}))
CREDENTIAL_KEYS = set(credential_view("c", {"host": "https://k8s.example.com"}, {"container_groups": {}}))


@pytest.mark.parametrize(
    ("module", "returned", "keys"),
    [
        pytest.param(container_group, "container_group", GROUP_KEYS, id="container_group"),
        pytest.param(container_group_info, "container_groups", GROUP_KEYS | {"pod_definition_error"}, id="info-groups"),
        pytest.param(container_group_info, "credentials", CREDENTIAL_KEYS, id="info-credentials"),
        pytest.param(k8s_bearer_credential, "credential", CREDENTIAL_KEYS, id="k8s_bearer_credential"),
    ],
)
def test_return_docs_describe_the_views(module: types.ModuleType, returned: str, keys: set[str]) -> None:
    documented = yaml.safe_load(module.RETURN)[returned]["contains"]
    assert set(documented) == keys
