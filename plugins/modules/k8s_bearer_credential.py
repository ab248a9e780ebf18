#!/usr/bin/python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_bearer_credential
short_description: Store a Kubernetes bearer-token credential for container groups
version_added: 0.1.0
description:
  - Adds, updates or removes a credential in the container groups state file (see O(state_file)).
  - The options are the inputs of AWX's C(kubernetes_bearer_token) credential type.
  - The task describes the whole credential; options left out take their defaults.
  - The bearer token never appears in the module's result, its diff or its logs.
    Secrets read back from the state file are masked too.
author:
  - ephemeral.container_groups maintainers (@ephemeral)
options:
  name:
    description:
      - Name of the credential; container groups refer to it by this name.
    type: str
    required: true
  host:
    description:
      - URL of the Kubernetes API server, for example C(https://k8s.example.com:6443).
      - Must be an C(https) URL with a host name or address and no user, query or fragment
        part. A path is kept (some proxies serve the API under one).
      - Required when O(state=present), unless O(in_cluster=true).
    type: str
  bearer_token:
    description:
      - Bearer token of the service account (or user) that creates the job Pods.
      - Surrounding whitespace is removed; a token must not contain whitespace.
      - With O(state=present) and without O(in_cluster), exactly one of O(bearer_token) and
        O(bearer_token_file) is required.
    type: str
  bearer_token_file:
    description:
      - A file that holds the bearer token, read for every API request of every job; the token
        itself is not stored. A projected ServiceAccount token that the kubelet rotates, or a
        token a vault agent renews, keeps working.
      - The path is stored as it is made absolute here; the file must be readable now.
    type: path
  in_cluster:
    description:
      - Use the service account of the Pod the controller itself runs in, as AWX on Kubernetes
        does. The API server comes from C(KUBERNETES_SERVICE_HOST), the token and CA from
        C(/var/run/secrets/kubernetes.io/serviceaccount), read at each job. Nothing secret is stored.
      - Excludes O(host), O(bearer_token), O(bearer_token_file) and O(ssl_ca_cert).
    type: bool
    default: false
  verify_ssl:
    description:
      - Whether to verify the API server's TLS certificate.
      - When V(true) and O(ssl_ca_cert) is not given, the system's trusted CAs are used.
    type: bool
    default: true
  ssl_ca_cert:
    description:
      - PEM text of the CA certificate(s) that signed the API server's certificate (not a
        path; use P(ansible.builtin.file#lookup) to read a file).
      - Every C(-----BEGIN CERTIFICATE-----) block must hold base64 DER data; other PEM
        blocks (a private key, for instance) are refused.
      - Treated as a secret, as AWX does.
    type: str
  state:
    description:
      - V(present) adds or updates the credential; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), remove the credential even if container groups use it. Those
        groups lose their credential and report RV(ignore:container_group.kubernetes=false)
        until they get another.
      - Without it, removing a credential in use fails and names the groups.
    type: bool
    default: false
extends_documentation_fragment:
  - ephemeral.container_groups.state_file
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The bearer token and CA certificate are shown as C(********) (with C( (changed)) when
        they change).
  platform:
    platforms: posix
seealso:
  - module: ephemeral.container_groups.container_group
  - module: ephemeral.container_groups.container_group_info
"""

EXAMPLES = r"""
- name: Store the credential of the cluster that runs our jobs
  ephemeral.container_groups.k8s_bearer_credential:
    name: prod-cluster
    host: https://k8s.example.com:6443
    bearer_token: "{{ vault_prod_cluster_token }}"
    ssl_ca_cert: "{{ lookup('ansible.builtin.file', 'files/prod-ca.crt') }}"

- name: Remove it, detaching the groups that use it
  ephemeral.container_groups.k8s_bearer_credential:
    name: prod-cluster
    state: absent
    force: true

- name: A token that rotates, read from its file at every job (not stored)
  ephemeral.container_groups.k8s_bearer_credential:
    name: prod-cluster
    host: https://k8s.example.com:6443
    bearer_token_file: /var/run/secrets/tokens/container-groups
    ssl_ca_cert: "{{ lookup('ansible.builtin.file', 'files/prod-ca.crt') }}"

- name: A controller that runs in a Pod uses its own service account
  ephemeral.container_groups.k8s_bearer_credential:
    name: this-cluster
    in_cluster: true

- name: Use a state file of its own for this project
  ephemeral.container_groups.k8s_bearer_credential:
    name: lab
    host: https://192.0.2.10:6443
    bearer_token: "{{ lab_token }}"
    verify_ssl: false
    state_file: "{{ playbook_dir }}/.container_groups.yml"
"""

RETURN = r"""
credential:
  description:
    - The credential as stored, without its secrets. Empty after a removal.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the credential.
      type: str
      sample: prod-cluster
    host:
      description: URL of the API server.
      type: str
      sample: https://k8s.example.com:6443
    verify_ssl:
      description: Whether the API server's certificate is verified.
      type: bool
      sample: true
    has_bearer_token:
      description: Whether a bearer token is stored (false with RV(credential.bearer_token_file) or RV(credential.in_cluster)).
      type: bool
      sample: true
    bearer_token_file:
      description: The file the token is read from at each job, when one is used.
      type: str
      sample: /var/run/secrets/tokens/container-groups
    in_cluster:
      description: Whether the controller's own in-cluster service account is used.
      type: bool
      sample: false
    has_ssl_ca_cert:
      description: Whether a CA certificate is stored.
      type: bool
      sample: true
    container_groups:
      description: Names of the container groups that use this credential.
      type: list
      elements: str
      sample: [builds]
detached_container_groups:
  description:
    - With O(state=absent) and O(force=true), the groups that lost this credential.
  returned: always
  type: list
  elements: str
  sample: [builds, nightly]
state_file:
  description: Path of the state file used.
  returned: always
  type: str
  sample: /home/me/.ansible/container_groups.yml
"""

import base64
import binascii
import os
import re
import typing as t
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ephemeral.container_groups.plugins.module_utils._module_common import (
    MASK,
    STATE_FILE_ARGSPEC,
    credential_view,
    remove_credential,
    state_store,
    touched_groups,
    update_state,
)
from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import (
    SECRET_CREDENTIAL_FIELDS,
    secret_values,
)

_PEM_BLOCK_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END ([A-Z0-9 ]+)-----", re.S)
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$")


def check_host(host: str) -> str:
    """The API server URL, stripped; ValueError saying what is wrong with it."""
    host = host.strip()
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"host {host!r} is not a URL: expected https://<server>[:<port>]")
    try:
        parts = urlsplit(host)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise ValueError(f"host {host!r} is not a valid URL ({exc}): expected https://<server>[:<port>]") from None
    if parts.scheme.lower() != "https":
        raise ValueError(
            f"host {host!r} must be an https URL (got {parts.scheme or 'no'} scheme): the bearer token "
            "must only travel over TLS. Expected https://<server>[:<port>]"
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError("host must not hold a user name or password; give the token in bearer_token")
    if parts.query or parts.fragment:
        raise ValueError(f"host {host!r} must not have a query or fragment part")
    hostname = parts.hostname or ""
    # A ':' means an IPv6 literal, whose brackets urlsplit has checked.
    if ":" not in hostname and not _HOSTNAME_RE.match(hostname):
        raise ValueError(f"host {host!r} has no valid server name or address: expected https://<server>[:<port>]")
    if port == 0:
        raise ValueError(f"host {host!r} has port 0")
    return host


def _der_is_sequence(der: bytes) -> bool:
    """Whether der is exactly one DER SEQUENCE (what a certificate is), checked by length."""
    if len(der) < 2 or der[0] != 0x30:
        return False
    first = der[1]
    if first < 0x80:
        length, header = first, 2
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(der) < 2 + count:
            return False
        length, header = int.from_bytes(der[2:2 + count], "big"), 2 + count
    return header + length == len(der)


def check_ca_cert(text: str) -> str:
    """The PEM text, normalised to end with one newline; ValueError unless it is certificates."""
    text = text.strip()
    if not text:
        raise ValueError("ssl_ca_cert is empty; leave it out to use the system's trusted CAs")
    blocks = list(_PEM_BLOCK_RE.finditer(text))
    if not blocks:
        hint = " It looks like a path: pass the file's content, e.g. lookup('ansible.builtin.file', path)." if "\n" not in text and "/" in text else ""
        raise ValueError(f"ssl_ca_cert is not PEM certificate text (no -----BEGIN CERTIFICATE----- block).{hint}")
    for number, block in enumerate(blocks, start=1):
        begin, body, end = block.groups()
        if begin != "CERTIFICATE" or end != "CERTIFICATE":
            raise ValueError(f"ssl_ca_cert block {number} is a {begin!r}, not a CERTIFICATE; only certificates belong here")
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"ssl_ca_cert certificate {number} is not valid base64") from None
        if not _der_is_sequence(der):
            raise ValueError(f"ssl_ca_cert certificate {number} does not decode to a DER certificate")
    if "-----BEGIN" in _PEM_BLOCK_RE.sub("", text):
        raise ValueError("ssl_ca_cert has a BEGIN line without its END line")
    return text + "\n"


def check_token_file(path: str) -> str:
    """The token file's absolute path; ValueError unless it is a readable file holding a token."""
    path = os.path.abspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise ValueError(f"bearer_token_file {path} cannot be read ({exc.strerror}); the jobs read it at each start") from None
    if not token or any(c.isspace() for c in token):
        raise ValueError(f"bearer_token_file {path} does not hold one token (empty, or whitespace inside)")
    return path


def build_record(params: dict) -> dict:
    """The record to store for a present credential; ValueError for a bad option."""
    if params["in_cluster"]:
        return {"in_cluster": True}
    if params["bearer_token_file"] is not None:
        credential: dict[str, t.Any] = {"bearer_token_file": check_token_file(params["bearer_token_file"])}
    else:
        token = params["bearer_token"].strip()
        if not token or any(c.isspace() for c in token):
            raise ValueError("bearer_token must be a non-empty token without whitespace inside")
        credential = {"bearer_token": token}
    return {
        "host": check_host(params["host"]),
        **credential,
        "verify_ssl": params["verify_ssl"],
        "ssl_ca_cert": check_ca_cert(params["ssl_ca_cert"]) if params["ssl_ca_cert"] is not None else None,
    }


def _masked_record(record: dict | None, previous: dict | None = None) -> dict | None:
    """A record as the diff shows it: secrets masked, flagged when they differ from previous."""
    if record is None:
        return None
    shown = dict(record)
    for field in SECRET_CREDENTIAL_FIELDS:
        value = record.get(field)
        if value is None:
            continue
        changed = previous is not None and previous.get(field) != value
        shown[field] = f"{MASK} (changed)" if changed else MASK
    return shown


def diff_views(name: str, before: dict, after: dict) -> tuple[dict, dict]:
    """The parts of the state this task changes, with secrets masked."""
    old = before["credentials"].get(name)
    new = after["credentials"].get(name)
    old_groups, new_groups = touched_groups(before, after)
    old_view: dict[str, t.Any] = {"credentials": {name: _masked_record(old)} if old is not None else {}, **old_groups}
    new_view: dict[str, t.Any] = {"credentials": {name: _masked_record(new, old)} if new is not None else {}, **new_groups}
    return old_view, new_view


def main() -> None:
    argument_spec: dict[str, dict[str, t.Any]] = {
        "name": {"type": "str", "required": True},
        "host": {"type": "str"},
        "bearer_token": {"type": "str", "no_log": True},
        "bearer_token_file": {"type": "path"},
        "in_cluster": {"type": "bool", "default": False},
        "verify_ssl": {"type": "bool", "default": True},
        "ssl_ca_cert": {"type": "str", "no_log": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "force": {"type": "bool", "default": False},
        **STATE_FILE_ARGSPEC,
    }
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("bearer_token", "bearer_token_file"), ("in_cluster", "host"), ("in_cluster", "bearer_token"),
                            ("in_cluster", "bearer_token_file"), ("in_cluster", "ssl_ca_cert")],
        supports_check_mode=True,
    )
    params = module.params
    name: str = params["name"]
    if not name.strip() or name != name.strip():
        module.fail_json(msg=f"credential name {name!r} must be non-empty, without surrounding whitespace")

    record: dict | None = None
    if params["state"] == "present" and not params["in_cluster"]:
        missing = [option for option, given in (("host", params["host"]),
                                                ("bearer_token or bearer_token_file",
                                                 params["bearer_token"] or params["bearer_token_file"])) if not given]
        if missing:
            module.fail_json(msg=f"state is present but missing: {', '.join(missing)} (or set in_cluster=true)")
    if params["state"] == "present":
        try:
            record = build_record(params)
        except ValueError as exc:
            module.fail_json(msg=str(exc))
        module.no_log_values.update(secret_values({"credentials": {name: record}}))

    def apply(state: dict) -> list[str]:
        if record is not None:
            state["credentials"][name] = record
            return []
        return remove_credential(
            state, "credentials", name, used_by=lambda group: group.get("credential") == name,
            detach=lambda group: group.update(credential=None), force=params["force"],
            refusal="credential {name!r} is used by container group(s) {groups}; give them another credential or remove "
                    "them first, or set force=true to detach them (they then report kubernetes=false)")

    store = state_store(module)
    change = update_state(module, store, apply)

    after_record = change.after["credentials"].get(name)
    result: dict[str, t.Any] = {
        "changed": change.changed,
        "credential": credential_view(name, after_record, change.after) if after_record is not None else {},
        "detached_container_groups": change.result,
        "state_file": store.path,
    }
    if module._diff:
        before_view, after_view = diff_views(name, change.before, change.after)
        result["diff"] = {"before": before_view, "after": after_view}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
