# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""A job's secrets: the files of its memory-backed secrets directory, and their masking.

The machine credential's key and passwords, the vault passwords, the job_env values, the
secret_vars and the extra vars travel to the Pod only inside the copy's tar stream, into the
secrets directory (a ``medium: Memory`` emptyDir, files 0600). The command line names the
files, never a value.

Every secret (all of those but the extra vars, which are often plain words such as ``prod``)
is masked in the output and the events the job hands back, in each form it is printed in:
as it is, JSON-escaped (how Ansible prints a result), as Python's repr, and line by line when
it has several lines (a PEM, a service account's JSON printed as it is).
"""

from __future__ import annotations

import json
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import SECRETS_DIR
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod.runner import (
    ENV_FILE,
    MASK_FILE,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import JobInputError

MASK = "********"
#: Shorter values are not masked: masking "ab" would garble the output, not protect anything.
MIN_MASKED_LENGTH = 4

EXTRA_VARS = "extra_vars.json"
SECRET_VARS = "secret_vars.json"
CREDENTIAL_VARS = "credential_vars.json"


class JobSecrets:
    """What the job must hand to the target without showing it; ``repr`` shows no value."""

    def __init__(self, *, extra_vars: dict | None = None, secret_vars: dict | None = None, vault_passwords: t.Sequence[tuple[str | None, bytes]] = (),
                 private_key: bytes | None = None, private_key_passphrase: str | None = None,
                 connection_password: str | None = None, become_password: str | None = None,
                 env: t.Mapping[str, t.Any] | None = None) -> None:
        self._extra_vars = extra_vars or {}
        self._secret_vars = secret_vars or {}
        both = sorted(set(self._extra_vars) & set(self._secret_vars))
        if both:
            raise JobInputError(f"extra_vars and secret_vars both set {', '.join(map(repr, both))}: give each variable once")
        self._vault_passwords = list(vault_passwords)
        self._private_key = private_key
        self._passphrase = private_key_passphrase
        self._credential_vars = {
            name: value for name, value in (("ansible_password", connection_password),
                                            ("ansible_become_password", become_password)) if value
        }
        self._env = {str(name): "" if value is None else str(value) for name, value in (env or {}).items()}
        values = [*self._credential_vars.values(), *self._env.values(), private_key_passphrase or "",
                  *_leaves(self._secret_vars)]
        values += [password.decode("utf-8", errors="replace") for _id, password in self._vault_passwords]
        if private_key:
            values.append(private_key.decode("ascii", errors="replace"))
        # Longest first, so a secret that contains another is masked whole.
        self._masked = sorted({form for value in values for form in _forms(value)}, key=len, reverse=True)

    def __repr__(self) -> str:
        return f"JobSecrets({len(self._masked)} values, not shown)"

    @classmethod
    def masking(cls, forms: t.Iterable[str]) -> JobSecrets:
        """Secrets that only mask: the forms another process's job wrote (MASK_FILE), for a
        follower of that job's output (container_group_job_info)."""
        secrets = cls()
        secrets._masked = sorted({form for form in forms if isinstance(form, str) and len(form) >= MIN_MASKED_LENGTH},
                                 key=len, reverse=True)
        return secrets

    def files(self) -> dict[str, bytes]:
        """Name (in the secrets directory) -> content, every one to be written 0600."""
        files = {EXTRA_VARS: json.dumps(self._extra_vars).encode("utf-8")}
        if self._masked:
            # Kept in the Pod's memory-backed volume after the run, so that a follower from
            # another process masks what this job masks.
            files[MASK_FILE] = json.dumps(self._masked).encode("utf-8")
        if self._secret_vars:
            files[SECRET_VARS] = json.dumps(self._secret_vars).encode("utf-8")
        if self._credential_vars:
            files[CREDENTIAL_VARS] = json.dumps(self._credential_vars).encode("utf-8")
        if self._env:
            files[ENV_FILE] = json.dumps(self._env).encode("utf-8")
        for index, (_vault_id, password) in enumerate(self._vault_passwords):
            files[f"vault-{index}"] = password
        if self._private_key is not None:
            files[PRIVATE_KEY] = self._private_key
            if self._passphrase:
                files[PRIVATE_KEY_PASSPHRASE] = self._passphrase.encode("utf-8")
        return files

    def playbook_args(self) -> list[str]:
        """ansible-playbook's arguments that point at the secrets: paths only, never a value."""
        args = []
        if self._credential_vars:
            args += ["-e", f"@{SECRETS_DIR}/{CREDENTIAL_VARS}"]
        # The job's own extra vars come last, so they win over the credential's, as -e does.
        args += ["-e", f"@{SECRETS_DIR}/{EXTRA_VARS}"]
        if self._secret_vars:
            args += ["-e", f"@{SECRETS_DIR}/{SECRET_VARS}"]
        for index, (vault_id, _password) in enumerate(self._vault_passwords):
            path = f"{SECRETS_DIR}/vault-{index}"
            args += ["--vault-id", f"{vault_id}@{path}"] if vault_id else ["--vault-password-file", path]
        return args

    def mask(self, text: str) -> str:
        for value in self._masked:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def mask_data(self, data: t.Any) -> t.Any:
        """data with every secret masked in its strings (keys too), for the events."""
        if isinstance(data, str):
            return self.mask(data)
        if isinstance(data, dict):
            return {self.mask_data(key): self.mask_data(value) for key, value in data.items()}
        if isinstance(data, list):
            return [self.mask_data(value) for value in data]
        return data


def _leaves(data: t.Any) -> t.Iterator[str]:
    """The values of secret_vars, at any depth, as the target prints them (booleans are no secret)."""
    if isinstance(data, dict):
        for value in data.values():
            yield from _leaves(value)
    elif isinstance(data, (list, tuple)):
        for value in data:
            yield from _leaves(value)
    elif isinstance(data, (str, int, float)) and not isinstance(data, bool):
        yield str(data)


def _forms(value: str) -> set[str]:
    """value as it may be printed: each of its parts as it is, JSON-escaped (ASCII or not) and
    as Python's repr; none shorter than MIN_MASKED_LENGTH."""
    forms = {form for part in _parts(value)
             for form in (part, json.dumps(part)[1:-1], json.dumps(part, ensure_ascii=False)[1:-1], repr(part)[1:-1])}
    return {form for form in forms if len(form) >= MIN_MASKED_LENGTH}


def _parts(value: str) -> list[str]:
    """value, its lines when it has several (the armour of a PEM aside), and the parts of each
    string in it when it is a JSON document (an older ansible-core turns such a string into
    data and prints it anew)."""
    parts = [value]
    lines = value.splitlines()
    if len(lines) > 1:
        parts += [line.strip() for line in lines if not line.startswith("-----")]
    if value.lstrip().startswith(("{", "[")):
        try:
            document = json.loads(value)
        except ValueError:
            return parts
        parts += [part for leaf in _leaves(document) if leaf != value for part in _parts(leaf)]
    return parts
