# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process and return what Ansible would have received."""

from __future__ import annotations

import contextlib
import json
import typing as t
from unittest import mock

import pytest

from ansible.module_utils import basic

try:  # ansible-core 2.19+
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # older ansible-core reads the arguments from _ANSIBLE_ARGS

    @contextlib.contextmanager  # type: ignore[no-redef]
    def patch_module_args(args: dict[str, t.Any] | None = None) -> t.Iterator[None]:
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()):
            yield


class ModuleRun(t.NamedTuple):
    result: dict
    output: str  # the raw JSON the module printed, to search for leaked secrets


@pytest.fixture
def run_module(capsys, monkeypatch, tmp_path):
    """run_module(module, args, check_mode=False, diff=False) -> ModuleRun."""
    monkeypatch.setenv("CONTAINER_GROUPS_STATE_FILE", str(tmp_path / "default-state" / "state.yml"))

    def run(module: t.Any, args: dict, check_mode: bool = False, diff: bool = False) -> ModuleRun:
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(args), pytest.raises(SystemExit):
            module.main()
        output = capsys.readouterr().out
        return ModuleRun(json.loads(output), output)

    return run
