# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""registry_credential, and the container groups that pull with one."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ephemeral.container_groups.plugins.modules import (
    container_group,
    container_group_info,
    k8s_bearer_credential,
    registry_credential,
)

PASSWORD = "unit-registry-password-5e1d"


@pytest.fixture
def state_file(tmp_path):
    return str(tmp_path / "s.yml")


def _credential(state_file, **changes):
    args = {"name": "quay", "host": "quay.example", "username": "robot", "password": PASSWORD, "state_file": state_file,
            **changes}
    return {key: value for key, value in args.items() if value is not None}  # None: the option is left out


def test_stored_once_shown_without_password_and_idempotent(run_module, state_file):
    first = run_module(registry_credential, _credential(state_file))
    assert first.result["changed"] is True
    assert first.result["registry_credential"] == {"name": "quay", "host": "quay.example", "username": "robot",
                                                   "has_password": True, "container_groups": []}
    second = run_module(registry_credential, _credential(state_file, token=PASSWORD, password=None))
    assert second.result["changed"] is False, "token is the same option as password"
    assert PASSWORD not in first.output + second.output
    assert oct(os.stat(state_file).st_mode & 0o777) == "0o600"


def test_check_mode_and_diff_mask_the_password(run_module, state_file):
    run_module(registry_credential, _credential(state_file))
    run = run_module(registry_credential, _credential(state_file, password="another-password-77"), check_mode=True, diff=True)
    assert run.result["changed"] is True
    assert run.result["diff"]["before"]["registry_credentials"]["quay"]["password"] == "********"
    assert run.result["diff"]["after"]["registry_credentials"]["quay"]["password"] == "******** (changed)"
    assert PASSWORD not in run.output and "another-password-77" not in run.output
    with open(state_file, encoding="utf-8") as handle:
        assert "another-password-77" not in handle.read(), "check mode wrote the file"


@pytest.mark.parametrize(("changes", "message"), [
    ({"username": "a:b"}, "username must be non-empty and without ':'"),
    ({"host": " "}, "is not a registry"),
    ({"password": None}, "state is present but all of the following are missing: password"),
])
def test_bad_options_are_refused(run_module, state_file, changes, message):
    run = run_module(registry_credential, _credential(state_file, **changes))
    assert run.result["failed"] is True and message in run.result["msg"]


def test_a_group_pulls_with_it_and_removal_needs_force(run_module, state_file):
    run_module(k8s_bearer_credential, {"name": "prod", "host": "https://k8s.example.com", "bearer_token": "t0k", "state_file": state_file})
    run_module(registry_credential, _credential(state_file))
    group = {"name": "builds", "credential": "prod", "image_pull_credential": "quay", "state_file": state_file}
    defined = run_module(container_group, group)
    assert defined.result["container_group"]["image_pull_credential"] == "quay"
    info = run_module(container_group_info, {"name": "builds", "state_file": state_file}).result
    assert [r["name"] for r in info["registry_credentials"]] == ["quay"]
    assert info["registry_credentials"][0]["container_groups"] == ["builds"]
    refused = run_module(registry_credential, {"name": "quay", "state": "absent", "state_file": state_file})
    assert refused.result["failed"] is True and "used by container group(s) builds" in refused.result["msg"]
    forced = run_module(registry_credential, {"name": "quay", "state": "absent", "force": True, "state_file": state_file})
    assert forced.result["changed"] is True and forced.result["detached_container_groups"] == ["builds"]
    after = run_module(container_group_info, {"name": "builds", "state_file": state_file}).result
    assert after["container_groups"][0]["image_pull_credential"] is None and after["registry_credentials"] == []


def test_a_group_naming_an_unknown_registry_credential_is_refused(run_module, state_file):
    run = run_module(container_group, {"name": "builds", "image_pull_credential": "nope", "state_file": state_file})
    assert run.result["failed"] is True
    assert "image_pull_credential 'nope' is not defined" in run.result["msg"]
    assert not os.path.exists(state_file)
