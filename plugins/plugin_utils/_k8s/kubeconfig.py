# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Reads a plain kubeconfig without the kubernetes library (for ``auth.get_endpoint``).

The pod connection runs in a fresh worker for every task, and importing the kubernetes
library costs it about half a second each time. Most kubeconfigs are static: a server, a
CA, and a token or a client certificate. Those are read here, with kubectl's rules:

* $KUBECONFIG lists files (separated by os.pathsep); the first file to define a cluster,
  user or context of a given name wins, and so does the first ``current-context``;
* a relative path in a file is relative to that file's directory.

Anything else (exec and auth-provider plugins, basic auth, impersonation, keys we do not
know, a file that does not parse) gives None, and the caller uses the kubernetes library,
whose behaviour and error messages stay the reference.
"""

from __future__ import annotations

import base64
import binascii
import os
import typing as t
from dataclasses import dataclass

DEFAULT_KUBECONFIG = "~/.kube/config"

_CLUSTER_KEYS = {
    "server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify",
    "tls-server-name", "proxy-url", "extensions", "disable-compression",
}
_USER_KEYS = {"token", "tokenFile", "client-certificate", "client-certificate-data", "client-key", "client-key-data", "extensions"}
_CONTEXT_KEYS = {"cluster", "user", "namespace", "extensions"}


@dataclass(frozen=True)
class StaticKubeconfig:
    """What one context of a static kubeconfig says. PEM texts are decoded from the *-data keys."""

    server: str
    namespace: str | None = None
    verify: bool = True
    ca_file: str | None = None
    ca_pem: str | None = None
    tls_server_name: str | None = None
    proxy: str | None = None
    token: str | None = None
    token_file: str | None = None
    cert_file: str | None = None
    cert_pem: str | None = None
    key_file: str | None = None
    key_pem: str | None = None

    def __repr__(self) -> str:  # never the token or a key
        return f"StaticKubeconfig(server={self.server!r}, namespace={self.namespace!r})"


def kubeconfig_paths(path: str | None) -> list[str]:
    """The files to read: the one given, else those $KUBECONFIG lists, else ~/.kube/config."""
    if path:
        return [os.path.expanduser(path)]
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return listed or [os.path.expanduser(DEFAULT_KUBECONFIG)]


def read_static_kubeconfig(path: str | None, context: str | None) -> StaticKubeconfig | None:
    """The settings of context (else the current one), or None if this reader does not cover it."""
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    merged: dict[str, dict[str, tuple[dict, str]]] = {"clusters": {}, "users": {}, "contexts": {}}
    current: str | None = None
    paths = kubeconfig_paths(path)
    for config_path in paths:
        try:
            with open(config_path, encoding="utf-8") as handle:
                document = yaml.load(handle, Loader=loader)  # nosec B506 - a safe loader
        except OSError:
            if len(paths) == 1:
                return None  # the library words a missing file
            continue  # kubectl skips missing files of a list
        except (yaml.YAMLError, UnicodeDecodeError):
            return None
        if document is None:
            continue
        if not isinstance(document, dict):
            return None
        base = os.path.dirname(os.path.abspath(config_path))
        for kind in merged:
            for entry in document.get(kind) or []:
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                    return None
                merged[kind].setdefault(entry["name"], (entry.get(kind[:-1]) or {}, base))
        current = current or document.get("current-context") or None
    name = context or current
    if not isinstance(name, str) or name not in merged["contexts"]:
        return None
    ctx, dummy_base = merged["contexts"][name]
    if not isinstance(ctx, dict) or set(ctx) - _CONTEXT_KEYS:
        return None
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if not isinstance(cluster_name, str) or cluster_name not in merged["clusters"]:
        return None
    cluster, cluster_base = merged["clusters"][cluster_name]
    user: t.Any = {}
    user_base = ""
    if user_name:  # a context without a user is anonymous; one naming a missing user is the library's to judge
        if not isinstance(user_name, str) or user_name not in merged["users"]:
            return None
        user, user_base = merged["users"][user_name]
    if not isinstance(cluster, dict) or not isinstance(user, dict):
        return None
    if set(cluster) - _CLUSTER_KEYS or set(user) - _USER_KEYS:
        return None
    return _settings(ctx, cluster, cluster_base, user, user_base)


def _settings(ctx: dict, cluster: dict, cluster_base: str, user: dict, user_base: str) -> StaticKubeconfig | None:
    server = cluster.get("server")
    if not isinstance(server, str) or not server:
        return None
    insecure = cluster.get("insecure-skip-tls-verify", False)
    if not isinstance(insecure, bool):
        return None
    has_ca = bool(cluster.get("certificate-authority") or cluster.get("certificate-authority-data"))
    if insecure and has_ca:
        return None  # kubectl refuses this pair; let the library say what it makes of it
    if user.get("token") and user.get("tokenFile"):
        return None  # which one wins differs between clients
    values = [ctx.get("namespace"), cluster.get("tls-server-name"), cluster.get("proxy-url"), user.get("token")]
    if not all(value is None or isinstance(value, str) for value in values):
        return None
    namespace, tls_server_name, proxy, token = values
    try:
        settings = StaticKubeconfig(
            server=server,
            namespace=namespace or None,
            verify=not insecure,
            ca_file=_path(cluster.get("certificate-authority"), cluster_base),
            ca_pem=_pem(cluster.get("certificate-authority-data")),
            tls_server_name=tls_server_name or None,
            proxy=proxy or None,
            token=token or None,
            token_file=_path(user.get("tokenFile"), user_base),
            cert_file=_path(user.get("client-certificate"), user_base),
            cert_pem=_pem(user.get("client-certificate-data")),
            key_file=_path(user.get("client-key"), user_base),
            key_pem=_pem(user.get("client-key-data")),
        )
    except ValueError:
        return None
    if bool(settings.cert_file or settings.cert_pem) != bool(settings.key_file or settings.key_pem):
        return None  # a certificate without its key (or the reverse)
    return settings


def _path(value: t.Any, base: str) -> str | None:
    if not value:
        return None
    if not isinstance(value, str):
        raise ValueError("not a path")
    return value if os.path.isabs(value) else os.path.join(base, value)


def _pem(value: t.Any) -> str | None:
    """The PEM text in a *-data value (base64 of the PEM file), or ValueError."""
    if not value:
        return None
    if not isinstance(value, str):
        raise ValueError("not base64 text")
    try:
        return base64.b64decode(value, validate=False).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("not base64 PEM") from exc
