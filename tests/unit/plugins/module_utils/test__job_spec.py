# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job's options are declared once; the docs, the role and the wrapper agree with them."""

from __future__ import annotations

import os
import re

import yaml

import pytest

from ansible_collections.ephemeral.container_groups.plugins.doc_fragments import state_file
from ansible_collections.ephemeral.container_groups.plugins.module_utils._job_control_spec import (
    JOB_CANCEL_ARGUMENT_SPEC,
    JOB_INFO_ARGUMENT_SPEC,
)
from ansible_collections.ephemeral.container_groups.plugins.module_utils._job_spec import JOB_ARGUMENT_SPEC
from ansible_collections.ephemeral.container_groups.plugins.modules import (
    container_group_job,
    container_group_job_cancel,
    container_group_job_info,
)

ROOT = os.path.join(os.path.dirname(__file__), *[os.pardir] * 4)


def _yaml(*parts: str):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize(("module", "argument_spec"), [
    (container_group_job, JOB_ARGUMENT_SPEC),
    (container_group_job_info, JOB_INFO_ARGUMENT_SPEC),
    (container_group_job_cancel, JOB_CANCEL_ARGUMENT_SPEC),
])
def test_the_doc_module_documents_the_argument_spec(module, argument_spec):
    documentation = yaml.safe_load(module.DOCUMENTATION)
    documented = dict(documentation["options"])
    if "ephemeral.container_groups.state_file" in documentation["extends_documentation_fragment"]:
        documented.update(yaml.safe_load(state_file.ModuleDocFragment.DOCUMENTATION)["options"])
    assert sorted(documented) == sorted(argument_spec)
    for name, spec in argument_spec.items():
        doc = documented[name]
        assert doc["type"] == spec["type"], name
        assert doc.get("default") == spec.get("default"), name
        assert bool(doc.get("required")) == bool(spec.get("required")), name


def test_the_role_and_the_wrapper_default_the_timeouts_as_the_action_does():
    defaults = _yaml("roles", "job", "defaults", "main.yml")
    specs = _yaml("roles", "job", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    with open(os.path.join(ROOT, "playbooks", "run.yml"), encoding="utf-8") as handle:
        wrapper = handle.read()
    for option, role_var in (("job_timeout", "job_timeout"), ("pending_timeout", "job_pending_timeout"),
                             ("reconnect_timeout", "job_reconnect_timeout")):
        default = JOB_ARGUMENT_SPEC[option]["default"]
        assert defaults[role_var] == default, role_var
        assert specs[role_var]["default"] == default, role_var
        for mapped in re.findall(rf"{option} \| default\((\d+)\)", wrapper):
            assert int(mapped) == default, option


def _role_var(option: str) -> str:
    return option if option.startswith("job_") else f"job_{option}"


def test_every_option_has_its_role_variable_and_wrapper_name_with_the_same_secrecy():
    defaults = _yaml("roles", "job", "defaults", "main.yml")
    specs = _yaml("roles", "job", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    tasks = _yaml("roles", "job", "tasks", "main.yml")
    job_args = tasks[0]["ephemeral.container_groups.container_group_job"]
    with open(os.path.join(ROOT, "playbooks", "run.yml"), encoding="utf-8") as handle:
        wrapper = yaml.safe_load(handle)[0]["tasks"][0]["vars"]
    for option, spec in JOB_ARGUMENT_SPEC.items():
        role_var = _role_var(option)
        assert role_var in defaults and role_var in specs, option
        assert role_var in job_args[option], option
        assert bool(specs[role_var].get("no_log")) == bool(spec.get("no_log")), option
        if role_var != option:
            assert role_var in wrapper and re.search(rf"{{{{ {option}\b", wrapper[role_var]), option
