# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A job's secrets: files for the Pod's memory-backed directory, paths on the command line, masks."""

from __future__ import annotations

import json

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import JobInputError
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import MASK, JobSecrets

KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACBpc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----\n"


def _secrets() -> JobSecrets:
    return JobSecrets(extra_vars={"release": "1.4"}, vault_passwords=[("prod", b"vault-pw-1"), (None, b"vault-pw-2")],
                      private_key=KEY, private_key_passphrase="key-pass", connection_password="ssh-pass",
                      become_password="sudo-pass", env={"CLOUD_TOKEN": "tok-123456", "SHORT": "ab"})


def test_the_files_hold_every_secret_and_the_command_line_only_paths():
    secrets = _secrets()
    files = secrets.files()
    assert json.loads(files["extra_vars.json"]) == {"release": "1.4"}
    assert json.loads(files["credential_vars.json"]) == {"ansible_password": "ssh-pass", "ansible_become_password": "sudo-pass"}
    assert json.loads(files["env.json"]) == {"CLOUD_TOKEN": "tok-123456", "SHORT": "ab"}
    assert files["vault-0"] == b"vault-pw-1" and files["vault-1"] == b"vault-pw-2"
    assert files["private_key"] == KEY and files["private_key_passphrase"] == b"key-pass"
    args = secrets.playbook_args()
    assert args == ["-e", "@/tmp/cg-job/secrets/credential_vars.json", "-e", "@/tmp/cg-job/secrets/extra_vars.json",
                    "--vault-id", "prod@/tmp/cg-job/secrets/vault-0", "--vault-password-file", "/tmp/cg-job/secrets/vault-1"]


def test_no_secret_no_file_but_the_extra_vars():
    secrets = JobSecrets()
    assert list(secrets.files()) == ["extra_vars.json"]
    assert secrets.playbook_args() == ["-e", "@/tmp/cg-job/secrets/extra_vars.json"]


def test_every_secret_is_masked_in_text_and_data_but_short_values():
    secrets = _secrets()
    text = "ssh-pass sudo-pass key-pass vault-pw-1 vault-pw-2 tok-123456 QyNTUxOQAAACBpc2VjcmV0 ab"
    assert secrets.mask(text) == " ".join([MASK] * 7 + ["ab"])
    data = {"res": {"msg": ["token tok-123456"], "tok-123456": 1, "n": 3}}
    assert secrets.mask_data(data) == {"res": {"msg": [f"token {MASK}"], MASK: 1, "n": 3}}
    assert "pass" not in repr(secrets) and "tok" not in repr(secrets)


def test_a_secret_that_holds_another_is_masked_whole():
    secrets = JobSecrets(connection_password="abcd", become_password="abcdefgh")
    assert secrets.mask("x abcdefgh y") == f"x {MASK} y"


PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\n-----END PRIVATE KEY-----\n"
SERVICE_ACCOUNT = json.dumps({"type": "service_account", "private_key": PEM}, indent=2)


@pytest.mark.parametrize("secret", ['s3cr"et', "back\\slash", "two\nlines", "ünïcödé", SERVICE_ACCOUNT])
def test_a_secret_is_masked_as_it_is_json_escaped_and_as_python_prints_it(secret):
    secrets = JobSecrets(env={"VALUE": secret})
    printed = [secret, json.dumps({"msg": secret}), json.dumps({"msg": secret}, ensure_ascii=False), repr({"msg": secret}),
               json.dumps({"msg": f"before {secret} after"})]
    for text in printed:
        masked = secrets.mask(text)
        assert MASK in masked and secret not in masked and json.dumps(secret)[1:-1] not in masked, text


def test_a_multi_line_secret_is_masked_line_by_line_as_output_lines_come():
    secrets = JobSecrets(env={"GOOGLE_CREDENTIALS": SERVICE_ACCOUNT})
    for line in SERVICE_ACCOUNT.splitlines():
        for printed in (f"    {line}", json.dumps([line])):  # raw (a YAML block), escaped (stdout_lines)
            masked = secrets.mask(printed)
            assert len(line.strip()) < 4 or line.strip() not in masked and json.dumps(line.strip())[1:-1] not in masked, printed
    assert secrets.mask("-----BEGIN PRIVATE KEY-----") == "-----BEGIN PRIVATE KEY-----", "the armour is no secret"


def test_secret_vars_travel_in_their_own_file_win_over_extra_vars_and_are_masked_at_any_depth():
    secrets = JobSecrets(extra_vars={"env": "prod"}, secret_vars={"db": {"password": "hunter22", "port": 54321},
                                                                  "tokens": ["tok-a1b2"], "enabled": True})
    assert json.loads(secrets.files()["secret_vars.json"])["db"] == {"password": "hunter22", "port": 54321}
    assert secrets.playbook_args() == ["-e", "@/tmp/cg-job/secrets/extra_vars.json",
                                       "-e", "@/tmp/cg-job/secrets/secret_vars.json"]
    assert secrets.mask("prod hunter22 54321 tok-a1b2 True") == f"prod {MASK} {MASK} {MASK} True"


def test_a_variable_in_extra_vars_and_secret_vars_is_refused():
    with pytest.raises(JobInputError, match="^extra_vars and secret_vars both set 'a', 'b': give each variable once$"):
        JobSecrets(extra_vars={"a": 1, "b": 2, "c": 3}, secret_vars={"b": "x", "a": "y"})


def test_each_string_of_a_json_secret_is_masked_however_it_is_printed_anew():
    secrets = JobSecrets(env={"GOOGLE_CREDENTIALS": SERVICE_ACCOUNT})
    document = json.loads(SERVICE_ACCOUNT)
    for printed in (json.dumps(document), json.dumps({"msg": document}, indent=4), repr(document)):
        masked = secrets.mask(printed)
        assert "MIIEvQIBADAN" not in masked and "service_account" not in masked, printed
