# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What of the project a job ships, and the tar stream of it."""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.project import (
    CREDENTIALS,
    GIT,
    IGNORE_FILE,
    IGNORED,
    OUTPUT,
    SPECIAL,
    ProjectFileError,
    project_tar_stream,
    select_project,
)


def _tar(chunks: list[bytes]) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:gz") as tar:
        return {member.name: member for member in tar.getmembers()}


def _extracted(chunks: list[bytes], into) -> None:
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:gz") as tar:
        tar.extractall(into, filter="tar")


def _home_like(tmp_path):
    """A playbook beside what a home directory holds."""
    home = tmp_path / "home"
    for path, text in {
        "site.yml": "- hosts: all\n",
        "roles/web/tasks/main.yml": "- ping:\n",
        ".ssh/id_ed25519": "KEY", ".ssh/config": "Host *\n",
        ".kube/config": "token: abc\n",
        ".aws/credentials": "[default]\n",
        ".gnupg/pubring.kbx": "x",
        ".docker/config.json": "{}", ".docker/buildx/instances": "x",
        ".config/gcloud/credentials.db": "x", ".config/app.ini": "keep\n",
        ".netrc": "machine x", ".git-credentials": "https://u:t@h",
        ".ansible/container_groups.yml": "credentials: {}\n", ".ansible/container_groups.yml.lock": "",
        ".ansible/collections/x.txt": "keep\n",
        ".git/config": "[remote]\nurl = https://token@host/repo\n", "vendor/lib/.git/HEAD": "ref\n",
        "my-state.yml": "credentials: {}\n", "my-state.yml.lock": "",
        "roles/web/files/.ssh/authorized_keys": "ssh-ed25519 AAAA",
    }.items():
        (home / path).parent.mkdir(parents=True, exist_ok=True)
        (home / path).write_text(text)
    return home


def test_credentials_the_state_file_and_git_stay_behind_and_the_rest_is_shipped(tmp_path):
    home = _home_like(tmp_path)
    project = select_project(str(home), state_file=str(home / "my-state.yml"))
    names = _tar(list(project_tar_stream(project, {})))
    shipped = {name[len("project/"):] for name, member in names.items() if member.isfile()}
    assert shipped == {"site.yml", "roles/web/tasks/main.yml", ".docker/buildx/instances", ".config/app.ini",
                       ".ansible/collections/x.txt"}
    assert {why: sorted(paths) for why, paths in project.left_out.items()} == {
        CREDENTIALS: [".ansible/container_groups.yml", ".ansible/container_groups.yml.lock", ".aws/", ".config/gcloud/",
                      ".docker/config.json", ".git-credentials", ".gnupg/", ".kube/", ".netrc", ".ssh/", "my-state.yml",
                      "my-state.yml.lock", "roles/web/files/.ssh/"],
        GIT: [".git/", "vendor/lib/.git/"],
    }
    assert (project.files, project.size) == (5, len("- hosts: all\n- ping:\nxkeep\nkeep\n"))
    assert project.summary() == (
        f"project copy of {home}: 5 files, 32 bytes; left out: .aws/, .git-credentials, .gnupg/, .kube/, .netrc "
        "and 8 more (credentials and "
        "the state file: never shipped); .git/, vendor/lib/.git/ (include_git ships it)")
    assert project.credentials_left_out().startswith(f"project copy of {home}: left out .aws/, ")


def test_include_git_ships_the_checkout_and_nothing_else_changes(tmp_path):
    home = _home_like(tmp_path)
    project = select_project(str(home), include_git=True)
    names = _tar(list(project_tar_stream(project, {})))
    assert "project/.git/config" in names and "project/vendor/lib/.git/HEAD" in names
    assert GIT not in project.left_out and "project/.ssh/id_ed25519" not in names


def test_the_ignore_file_takes_gitignore_patterns_relative_to_the_project(tmp_path):
    project_dir = tmp_path / "p"
    for path in ("site.yml", "build/out.bin", "sub/build/keep.txt", "logs/a.log", "logs/keep.log", "docs/x.md",
                 "deep/a/b/cache/c.txt"):
        (project_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (project_dir / path).write_text("x")
    (project_dir / IGNORE_FILE).write_text("# comments and blank lines are skipped\n\n/build/\n*.log\n!keep.log\ndocs\n"
                                           "**/cache/\n")
    project = select_project(str(project_dir))
    shipped = {name for name, member in _tar(list(project_tar_stream(project, {}))).items() if member.isfile()}
    assert shipped == {"project/site.yml", "project/sub/build/keep.txt", "project/logs/keep.log", f"project/{IGNORE_FILE}"}
    assert project.left_out == {IGNORED: ["build/", "docs/", "deep/a/b/cache/", "logs/a.log"]}, "in walk order"


def test_an_ignore_file_without_pathspec_says_what_to_install(tmp_path, monkeypatch):
    (tmp_path / IGNORE_FILE).write_text("*.log\n")
    monkeypatch.setitem(__import__("sys").modules, "pathspec", None)
    with pytest.raises(ProjectFileError, match=rf"{tmp_path}/{IGNORE_FILE} needs the Python package pathspec>=0.12 .*"
                                               r"pip install 'pathspec>=0.12'"):
        select_project(str(tmp_path))


def test_a_socket_is_left_out_and_said(tmp_path):
    project_dir = tmp_path / "p"
    project_dir.mkdir()
    (project_dir / "site.yml").write_text("x")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(project_dir / "agent.sock"))
        project = select_project(str(project_dir))
    finally:
        server.close()
    assert project.left_out == {SPECIAL: ["agent.sock"]} and project.files == 1


def test_an_unreadable_file_is_named_before_any_pod_exists(tmp_path, monkeypatch):
    (tmp_path / "secret.txt").write_text("x")
    # As for a user who may not read it (root may read any file).
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: not path.endswith("secret.txt") and real_access(path, mode))
    with pytest.raises(ProjectFileError, match=f"cannot read {tmp_path}/secret.txt: permission denied; .* list it in "
                                               f"{IGNORE_FILE}"):
        select_project(str(tmp_path))


def test_project_tar_stream_round_trip(tmp_path):
    project = tmp_path / "project"
    (project / "roles" / "r").mkdir(parents=True)
    (project / "site.yml").write_text("- hosts: all\n")
    (project / "roles" / "r" / "empty").write_bytes(b"")
    script = project / "run.sh"
    script.write_bytes(os.urandom(300_000))
    script.chmod(0o755)
    inventory = tmp_path / "inv"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts").write_text("web1\n")
    (inventory / "group_vars" / "all.yml").write_text("x: 1\n")
    (inventory / ".ssh").mkdir()
    (inventory / ".ssh" / "id_rsa").write_text("KEY")
    files = {"meta/runner.py": b"#", "secrets/extra_vars.json": json.dumps({"a": 1}).encode()}
    selection = select_project(str(project), copies={"meta/inventory/0/inv": str(inventory)})
    chunks = list(project_tar_stream(selection, files))
    assert len(chunks) > 1, "the tar is sent as it is built, not in one piece"
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("project/run.sh").read() == script.read_bytes()
        assert members["project/run.sh"].mode & 0o777 == 0o755
        assert tar.extractfile("project/roles/r/empty").read() == b""
        assert json.load(tar.extractfile("secrets/extra_vars.json")) == {"a": 1}
        assert members["secrets/extra_vars.json"].mode == 0o600
        assert members["meta/runner.py"].mode == 0o600
        assert tar.extractfile("meta/inventory/0/inv/group_vars/all.yml").read() == b"x: 1\n"
        assert "project/site.yml" in members
    assert "meta/inventory/0/inv/.ssh" not in members and selection.left_out == {CREDENTIALS: [".ssh/"]}
    assert selection.files == 5


def test_links_inside_the_project_arrive_as_working_relative_links(tmp_path):
    project = tmp_path / "project"
    (project / "shared" / "common" / "tasks").mkdir(parents=True)
    (project / "shared" / "common" / "tasks" / "main.yml").write_text("- debug: msg=hi\n")
    (project / "roles").mkdir()
    (project / "roles" / "common").symlink_to("../shared/common")  # a linked directory
    (project / "hosts").write_text("web1\n")
    (project / "inventory.ini").symlink_to(project / "hosts")  # an absolute link inside
    _extracted(list(project_tar_stream(select_project(str(project)), {})), tmp_path / "pod")
    pod = tmp_path / "pod" / "project"
    assert (pod / "roles" / "common" / "tasks" / "main.yml").read_text() == "- debug: msg=hi\n"
    assert os.readlink(pod / "roles" / "common") == "../shared/common"
    assert os.readlink(pod / "inventory.ini") == "hosts" and (pod / "inventory.ini").read_text() == "web1\n"


def test_a_link_out_of_the_project_is_refused_naming_it_unless_the_ignore_file_leaves_it_out(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "secret").write_text("x")
    (project / "leak").symlink_to(tmp_path / "secret")
    with pytest.raises(ProjectFileError, match=f"{project}/leak is a symbolic link to {tmp_path}/secret, outside {project}"):
        select_project(str(project))
    (project / IGNORE_FILE).write_text("leak\n")
    assert select_project(str(project)).left_out == {IGNORED: ["leak"]}


def test_what_the_job_writes_into_its_project_is_not_shipped(tmp_path):
    (tmp_path / "site.yml").write_text("x")
    (tmp_path / "artifacts" / "old-job").mkdir(parents=True)
    (tmp_path / "events.jsonl").write_text("{}\n")
    project = select_project(str(tmp_path), outputs=[str(tmp_path / "artifacts"), str(tmp_path / "events.jsonl")])
    assert project.left_out == {OUTPUT: ["artifacts/", "events.jsonl"]} and project.files == 1
