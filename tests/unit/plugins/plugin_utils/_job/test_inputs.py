# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A job's inputs checked: inventories (project or controller), vault files, key, events file."""

from __future__ import annotations

import pytest

from ansible_collections.ephemeral.container_groups.plugins.module_utils._job_spec import JOB_ARGUMENT_SPEC
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import (
    CONTROLLER,
    PROJECT,
    JobInputError,
    group_names,
    job_spec,
)


def _args(tmp_path, **values):
    args = {name: spec.get("default") for name, spec in JOB_ARGUMENT_SPEC.items()}
    args.update(container_group="g", playbook=str(tmp_path / "project" / "site.yml"))
    args.update(values)
    return args


@pytest.fixture(name="project")
def _project(tmp_path):
    (tmp_path / "project" / "inventory").mkdir(parents=True)
    (tmp_path / "project" / "site.yml").write_text("- hosts: all\n")
    (tmp_path / "project" / "inventory" / "hosts").write_text("web1\n")
    (tmp_path / "elsewhere" / "group_vars").mkdir(parents=True)
    (tmp_path / "vault-pass").write_text("pw\n")
    return tmp_path


def test_project_inventories_stay_relative_and_others_are_the_controllers(project):
    spec = job_spec(_args(project, inventory=["inventory/hosts", str(project / "elsewhere")]), {})
    assert spec.inventories == ((PROJECT, "inventory/hosts"), (CONTROLLER, str(project / "elsewhere")))


def test_vault_files_with_and_without_an_id(project):
    path = str(project / "vault-pass")
    spec = job_spec(_args(project, vault_password_file=[path, f"prod@{path}"]), {})
    assert spec.vault_password_files == ((None, path), ("prod", path))


@pytest.mark.parametrize(("values", "message"), [
    ({"inventory": ["missing/hosts"]}, "inventory 'missing/hosts' is neither in the project directory"),
    ({"vault_password_file": ["prod@/nonexistent"]}, "vault_password_file 'prod@/nonexistent': /nonexistent is not a readable file"),
    ({"events_file": "/nonexistent/dir/events.jsonl"}, "events_file /nonexistent/dir/events.jsonl: its directory does not exist"),
    ({"job_env": {"1BAD": "x"}}, "job_env: '1BAD' is not an environment variable name"),
])
def test_bad_inputs_say_what_is_wrong(project, values, message):
    with pytest.raises(JobInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        job_spec(_args(project, **values), {})


@pytest.mark.parametrize(("value", "names"), [
    ("batch", ["batch"]),
    ("fast,big", ["fast", "big"]),
    (" fast , big,fast ", ["fast", "big"]),
    (["fast", "big"], ["fast", "big"]),
])
def test_container_group_is_a_name_a_list_or_names_separated_by_commas(value, names):
    assert group_names(value) == names


@pytest.mark.parametrize("value", ["", " , ", [], [1], {"a": 1}, None])
def test_container_group_must_name_a_group(value):
    with pytest.raises(JobInputError, match="container_group"):
        group_names(value)


def test_a_linked_project_dir_and_a_linked_inventory_are_resolved(tmp_path, project):
    (tmp_path / "linked").symlink_to(tmp_path / "project")
    (tmp_path / "inventory-link").symlink_to(tmp_path / "project" / "inventory" / "hosts")
    spec = job_spec(_args(tmp_path, playbook=str(tmp_path / "linked" / "site.yml"), inventory=[str(tmp_path / "inventory-link")]),
                    {})
    assert spec.project_dir == str(tmp_path / "project") and spec.playbook == "site.yml"
    assert spec.inventories == ((CONTROLLER, str(tmp_path / "project" / "inventory" / "hosts")),)


def test_a_playbook_that_links_out_of_the_project_is_refused(tmp_path, project):
    (tmp_path / "elsewhere" / "site.yml").write_text("- hosts: all\n")
    (tmp_path / "project" / "linked.yml").symlink_to(tmp_path / "elsewhere" / "site.yml")
    with pytest.raises(JobInputError, match="is not inside project_dir .* \\(it is a link to .*elsewhere/site.yml\\)"):
        job_spec(_args(tmp_path, playbook=str(tmp_path / "project" / "linked.yml")), {})


@pytest.mark.parametrize("given", [True, False], ids=["project_dir given", "the playbook's directory"])
def test_a_home_directory_or_the_root_is_never_the_project(tmp_path, monkeypatch, given):
    home = tmp_path / "home"
    home.mkdir()
    (home / "site.yml").write_text("- hosts: all\n")
    monkeypatch.setenv("HOME", str(home))
    values = {"project_dir": str(home)} if given else {}
    with pytest.raises(JobInputError) as raised:
        job_spec(_args(tmp_path, playbook=str(home / "site.yml"), **values), {})
    assert str(raised.value) == (
        f"project_dir {home} is a home directory" + ("" if given else f" (the directory of the playbook {home}/site.yml)")
        + ": the job ships its whole project directory into the Pod; keep the playbook and what it needs in a "
          "directory of their own and give that as project_dir")
    with pytest.raises(JobInputError, match="^project_dir / is the root directory: "):
        job_spec(_args(tmp_path, project_dir="/", playbook=str(home / "site.yml")), {})


def test_a_directory_below_home_is_a_project(tmp_path, monkeypatch, project):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert job_spec(_args(tmp_path), {}).project_dir == str(tmp_path / "project")
