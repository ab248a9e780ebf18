# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""A job's secrets: the files of its memory-backed secrets directory, and their masking.

The machine credential's key and passwords, the vault passwords, the job_env values and the
extra vars travel to the Pod only inside the copy's tar stream, into the secrets directory (a
``medium: Memory`` emptyDir, files 0600). The command line names the files, never a value.
Every secret value is masked in the output and the events the job hands back.
"""

from __future__ import annotations

import json
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.module_utils._podspec import SECRETS_DIR
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod.runner import (
    ENV_FILE,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
)

MASK = "********"
#: Shorter values are not masked: masking "ab" would garble the output, not protect anything.
MIN_MASKED_LENGTH = 4

EXTRA_VARS = "extra_vars.json"
CREDENTIAL_VARS = "credential_vars.json"


class JobSecrets:
    """What the job must hand to the target without showing it; ``repr`` shows no value."""

    def __init__(self, *, extra_vars: dict | None = None, vault_passwords: t.Sequence[tuple[str | None, bytes]] = (),
                 private_key: bytes | None = None, private_key_passphrase: str | None = None,
                 connection_password: str | None = None, become_password: str | None = None,
                 env: t.Mapping[str, t.Any] | None = None) -> None:
        self._extra_vars = extra_vars or {}
        self._vault_passwords = list(vault_passwords)
        self._private_key = private_key
        self._passphrase = private_key_passphrase
        self._credential_vars = {
            name: value for name, value in (("ansible_password", connection_password),
                                            ("ansible_become_password", become_password)) if value
        }
        self._env = {str(name): "" if value is None else str(value) for name, value in (env or {}).items()}
        values = [*self._credential_vars.values(), *self._env.values(), private_key_passphrase or ""]
        values += [password.decode("utf-8", errors="replace") for _id, password in self._vault_passwords]
        if private_key:
            # The key's body lines, should a task ever print the file.
            values += [line for line in private_key.decode("ascii", errors="replace").splitlines()
                       if line and not line.startswith("-----")]
        # Longest first, so a secret that contains another is masked whole.
        self._masked = sorted({value for value in values if len(value) >= MIN_MASKED_LENGTH}, key=len, reverse=True)

    def __repr__(self) -> str:
        return f"JobSecrets({len(self._masked)} values, not shown)"

    def files(self) -> dict[str, bytes]:
        """Name (in the secrets directory) -> content, every one to be written 0600."""
        files = {EXTRA_VARS: json.dumps(self._extra_vars).encode("utf-8")}
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
