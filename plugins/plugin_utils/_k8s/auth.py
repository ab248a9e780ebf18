# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Where Kubernetes credentials come from, turned into an :class:`ApiEndpoint`.

One description of the source (:class:`K8sAuth`: a stored credential or host and token, a
kubeconfig, or the in-cluster service account) and one way to resolve it
(:func:`get_endpoint`). A kubeconfig with a token, token file or client certificate is read
without the kubernetes library (``kubeconfig``); only exec or auth-provider plugins, basic
auth and what the direct reader leaves alone go through the library's loader.
"""

from __future__ import annotations

import os
import tempfile
import typing as t
from dataclasses import dataclass, field

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint, LogFn
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import (
    K8sClientError,
    K8sConnectionError,
    MissingLibraryError,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.kubeconfig import (
    StaticKubeconfig,
    read_static_kubeconfig,
)

#: What to install when the kubernetes library is missing (a kubeconfig with plugins needs it).
KUBERNETES_REQUIREMENT = "kubernetes>=36.0.0"

#: Where a Pod finds its service account (in-cluster configuration).
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

#: Argument spec of the options documented by the ``ephemeral.container_groups.k8s_auth`` doc
#: fragment. A unit test checks that the two agree (names, types, defaults, no_log).
K8S_AUTH_ARGSPEC: dict[str, dict[str, t.Any]] = {
    "api_host": {"type": "str"},
    "api_key": {"type": "str", "no_log": True},
    "ca_cert": {"type": "str"},
    "validate_certs": {"type": "bool", "default": True},
    "kubeconfig": {"type": "path"},
    "context": {"type": "str"},
}


@dataclass(frozen=True)
class K8sAuth:
    """Where the API server is and how to authenticate; exactly one source is used.

    ``host`` (+ ``api_key``, ``ca_cert_data`` or ``ca_cert_file``, ``validate_certs``), else
    ``kubeconfig`` (a path, or None for $KUBECONFIG / ~/.kube/config) with ``context``, when
    ``use_kubeconfig`` is set, else the in-cluster service account when ``in_cluster`` is set.
    ``validate_certs`` with no CA verifies against the system trust store; it never means
    "skip verification".
    """

    host: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_key_file: str | None = None  # read for every request, so a rotated token is used
    ca_cert_data: str | None = field(default=None, repr=False)
    ca_cert_file: str | None = None
    validate_certs: bool = True
    kubeconfig: str | None = None
    context: str | None = None
    use_kubeconfig: bool = False
    in_cluster: bool = False

    @property
    def source(self) -> str:
        """'host', 'kubeconfig' or 'in-cluster'."""
        if self.host:
            return "host"
        if self.kubeconfig or self.use_kubeconfig or self.context:
            return "kubeconfig"
        if self.in_cluster:
            return "in-cluster"
        raise K8sClientError(
            "no Kubernetes credentials given: set an API host and token, a kubeconfig, "
            "or run inside a Pod with a service account"
        )

    def describe(self) -> str:
        """A one-line description without secrets, for -vvv output."""
        source = self.source
        if source == "host":
            ca = "CA from PEM text" if self.ca_cert_data else (f"CA file {self.ca_cert_file}" if self.ca_cert_file else "system CAs")
            tls = ca if self.validate_certs else "certificate NOT verified"
            token = f"token file {self.api_key_file}" if self.api_key_file else ("bearer token" if self.api_key else "no token")
            return f"API server {self.host} ({token}, {tls})"
        if source == "kubeconfig":
            where = self.kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
            return f"kubeconfig {where}" + (f" context {self.context}" if self.context else " (current context)")
        return "in-cluster service account"


def looks_like_pem(value: str) -> bool:
    return "-----BEGIN " in value


def auth_from_credential(credential: t.Mapping[str, t.Any]) -> K8sAuth:
    """The auth of a stored k8s_bearer_credential record: host with bearer_token or
    bearer_token_file, verify_ssl and ssl_ca_cert; or in_cluster."""
    if credential.get("in_cluster"):
        if not in_cluster_available():
            raise K8sClientError("the credential is in_cluster, but this controller does not run in a Pod with a service "
                                 f"account (no KUBERNETES_SERVICE_HOST, or no {SERVICE_ACCOUNT_DIR}/token)")
        return K8sAuth(in_cluster=True)
    host = credential.get("host")
    if not isinstance(host, str) or not host.strip():
        raise K8sClientError("the credential has no host (the API server URL)")
    token = credential.get("bearer_token")
    if token is not None and not isinstance(token, str):
        raise K8sClientError("the credential's bearer_token is not a string")
    ca = credential.get("ssl_ca_cert")
    if ca is not None and not isinstance(ca, str):
        raise K8sClientError("the credential's ssl_ca_cert is not a string")
    if ca is not None and ca.strip() and not looks_like_pem(ca):
        raise K8sClientError("the credential's ssl_ca_cert is not PEM text (it must contain '-----BEGIN CERTIFICATE-----')")
    token_file = credential.get("bearer_token_file")
    if token_file is not None and not isinstance(token_file, str):
        raise K8sClientError("the credential's bearer_token_file is not a string")
    verify = credential.get("verify_ssl", True)
    return K8sAuth(
        host=host.strip(),
        api_key=token or None,
        api_key_file=token_file or None,
        ca_cert_data=ca if ca and ca.strip() else None,
        validate_certs=True if verify is None else bool(verify),
    )


def auth_from_params(params: t.Mapping[str, t.Any]) -> K8sAuth:
    """The auth described by the K8S_AUTH_ARGSPEC options (a module's params or plugin options).

    ``ca_cert`` may be a file path or PEM text. With neither ``api_host`` nor ``kubeconfig``,
    the in-cluster service account is used inside a Pod, else the default kubeconfig.
    """
    host = params.get("api_host") or None
    ca = params.get("ca_cert") or None
    ca_data = ca if ca and looks_like_pem(ca) else None
    ca_file = os.path.expanduser(ca) if ca and not ca_data else None
    validate = params.get("validate_certs")
    validate = True if validate is None else bool(validate)
    if host:
        return K8sAuth(host=host, api_key=params.get("api_key") or None, ca_cert_data=ca_data, ca_cert_file=ca_file, validate_certs=validate)
    kubeconfig = params.get("kubeconfig") or None
    context = params.get("context") or None
    if kubeconfig or context or not in_cluster_available():
        return K8sAuth(kubeconfig=kubeconfig, context=context, use_kubeconfig=True)
    return K8sAuth(in_cluster=True)


def in_cluster_available() -> bool:
    """True inside a Pod that has a service account token mounted."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(os.path.join(SERVICE_ACCOUNT_DIR, "token"))


def _write_temp_pem(pem: str, prefix: str) -> str:
    """Write PEM text to a new 0600 file (TLS wants a path); the caller removes it."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=".pem")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(pem if pem.endswith("\n") else pem + "\n")
    except BaseException:
        _remove_temp_file(path)
        raise
    return path


def _remove_temp_file(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _token_file_reader(path: str, what: str) -> t.Callable[[], str | None]:
    """A token source that reads path for every request: tokens in files rotate."""

    def read_token() -> str | None:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read().strip() or None
        except OSError as exc:
            raise K8sClientError(f"cannot read {what} {path}: {exc.strerror}") from exc

    return read_token


def _in_cluster_endpoint() -> ApiEndpoint:
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    token_file = os.path.join(SERVICE_ACCOUNT_DIR, "token")
    if not host or not os.path.exists(token_file):
        raise K8sClientError(
            "in-cluster configuration asked for, but this is not a Pod with a service account "
            f"(KUBERNETES_SERVICE_HOST unset or {token_file} missing)"
        )
    if ":" in host:
        host = f"[{host}]"

    namespace = None
    try:
        with open(os.path.join(SERVICE_ACCOUNT_DIR, "namespace"), encoding="utf-8") as handle:
            namespace = handle.read().strip() or None
    except OSError:
        pass
    return ApiEndpoint(
        f"https://{host}:{port}",
        token_source=_token_file_reader(token_file, "the service account token"),
        ca_file=os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt"),
        default_namespace=namespace,
        description="in-cluster service account",
    )


def _import_kubernetes() -> t.Any:
    try:
        import kubernetes  # pylint: disable=import-outside-toplevel
        import kubernetes.client  # pylint: disable=import-outside-toplevel
        import kubernetes.config  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise MissingLibraryError("kubernetes", KUBERNETES_REQUIREMENT, exc) from exc
    return kubernetes


def _kubeconfig_configuration(auth: K8sAuth) -> tuple[t.Any, str | None]:
    """(kubernetes Configuration, namespace of the context) loaded from a kubeconfig."""
    kubernetes = _import_kubernetes()
    from kubernetes.config.config_exception import ConfigException  # pylint: disable=import-outside-toplevel

    config_file = os.path.expanduser(auth.kubeconfig) if auth.kubeconfig else None
    where = config_file or os.environ.get("KUBECONFIG") or "~/.kube/config"
    configuration = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_kube_config(
            config_file=config_file, context=auth.context, client_configuration=configuration, persist_config=False
        )
        contexts, active = kubernetes.config.list_kube_config_contexts(config_file=config_file)
    except ConfigException as exc:
        raise K8sClientError(f"cannot use kubeconfig {where}: {exc}") from exc
    except OSError as exc:
        raise K8sClientError(f"cannot read kubeconfig {where}: {exc.strerror or exc}") from exc
    except Exception as exc:  # the loader raises assorted errors for a malformed file or failing exec plugin
        raise K8sClientError(f"cannot use kubeconfig {where}: {type(exc).__name__}: {exc}") from exc
    chosen = active
    if auth.context:
        chosen = next((c for c in contexts or [] if c.get("name") == auth.context), active)
    namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return configuration, namespace


def endpoint_from_configuration(configuration: t.Any, *, default_namespace: str | None = None, description: str = "") -> ApiEndpoint:
    """An ApiEndpoint with the settings of a kubernetes Configuration (token refresh hooks kept)."""

    def token() -> str | None:
        value = configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
        if not value and (configuration.username or configuration.password):
            value = configuration.get_basic_auth_token()
        return str(value) if value else None

    return ApiEndpoint(
        configuration.host,
        token_source=token,
        verify=bool(configuration.verify_ssl),
        ca_file=configuration.ssl_ca_cert,
        ca_data=getattr(configuration, "ca_cert_data", None) if isinstance(getattr(configuration, "ca_cert_data", None), str) else None,
        cert_file=configuration.cert_file,
        key_file=configuration.key_file,
        tls_server_name=getattr(configuration, "tls_server_name", None),
        check_hostname=configuration.assert_hostname is not False,
        proxy=configuration.proxy,
        default_namespace=default_namespace,
        description=description,
    )


def get_endpoint(auth: K8sAuth, log: LogFn | None = None) -> ApiEndpoint:
    """The light client for auth. Imports the kubernetes library only for a kubeconfig that needs it."""
    source = auth.source
    if log:
        log(f"Kubernetes API via {auth.describe()}")
    if source == "host":
        return ApiEndpoint(
            auth.host or "",
            token=auth.api_key,
            token_source=_token_file_reader(auth.api_key_file, "the credential's bearer_token_file") if auth.api_key_file else None,
            verify=auth.validate_certs,
            ca_file=os.path.expanduser(auth.ca_cert_file) if auth.ca_cert_file else None,
            ca_data=auth.ca_cert_data,
            description=auth.describe(),
        )
    if source == "in-cluster":
        return _in_cluster_endpoint()
    static = read_static_kubeconfig(auth.kubeconfig, auth.context)
    if static is not None:
        if log:
            log("kubeconfig read directly (a static one: no kubernetes library needed)")
        return _static_kubeconfig_endpoint(static, auth.describe())
    if log:
        log("kubeconfig read by the kubernetes library (plugins, basic auth, or something the direct reader leaves to it)")
    configuration, namespace = _kubeconfig_configuration(auth)
    return endpoint_from_configuration(configuration, default_namespace=namespace, description=auth.describe())


def _static_kubeconfig_endpoint(config: StaticKubeconfig, description: str) -> ApiEndpoint:
    """The endpoint for a kubeconfig read without the kubernetes library.

    A client certificate or key given as data goes to a 0600 temporary file only while the
    SSL context loads it (TLS wants a path), and is removed right after.
    """
    temp_files: dict[str, str] = {}  # path: what it holds, for messages
    try:
        cert_file, key_file = config.cert_file, config.key_file
        if config.cert_pem:
            cert_file = _write_temp_pem(config.cert_pem, "cg-cert-")
            temp_files[cert_file] = "its client-certificate-data"
        if config.key_pem:
            key_file = _write_temp_pem(config.key_pem, "cg-key-")
            temp_files[key_file] = "its client-key-data"
        endpoint = ApiEndpoint(
            config.server,
            token=config.token,
            token_source=_token_file_reader(config.token_file, "the token file") if config.token_file else None,
            verify=config.verify,
            ca_file=config.ca_file,
            ca_data=config.ca_pem,
            cert_file=cert_file,
            key_file=key_file,
            tls_server_name=config.tls_server_name,
            proxy=config.proxy,
            default_namespace=config.namespace,
            description=description,
        )
        if temp_files:
            try:
                endpoint.ssl_context()
            except K8sConnectionError as exc:
                message = str(exc)
                for path, what in temp_files.items():
                    message = message.replace(path, what)
                raise K8sConnectionError(f"{description}: {message}") from exc
        return endpoint
    finally:
        for path in temp_files:
            _remove_temp_file(path)
