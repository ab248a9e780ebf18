# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layers of plugin_utils import downwards only: _k8s <- _exec <- _job.

_k8s imports nothing of Ansible; the connection plugin uses _k8s and _exec, never _job; the
runner that runs in the Pod imports the standard library only.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PLUGINS = pathlib.Path(__file__).resolve().parents[4] / "plugins"
PREFIX = "ansible_collections.ephemeral.container_groups.plugins."


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _files(package: str) -> list[pathlib.Path]:
    return sorted((PLUGINS / "plugin_utils" / package).rglob("*.py"))


@pytest.mark.parametrize(("package", "forbidden"), [
    ("_k8s", ("ansible.", PREFIX + "plugin_utils._exec", PREFIX + "plugin_utils._job")),
    ("_exec", ("ansible.", PREFIX + "plugin_utils._job")),
])
def test_a_layer_imports_nothing_above_it(package, forbidden):
    assert _files(package)
    for path in _files(package):
        wrong = sorted(name for name in _imports(path) if name.startswith(forbidden) or name == "ansible")
        assert not wrong, f"{path.relative_to(PLUGINS)} imports {wrong}"


def test_the_connection_plugin_uses_k8s_and_exec_only():
    wrong = sorted(name for name in _imports(PLUGINS / "connection" / "pod.py") if name.startswith(PREFIX + "plugin_utils._job"))
    assert not wrong


def test_what_runs_in_the_pod_imports_the_standard_library_only():
    for path in _files("_job/in_pod"):
        assert not [name for name in _imports(path) if name.startswith(("ansible", PREFIX))], path
