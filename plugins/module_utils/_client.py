# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Access to the Kubernetes API, shared by the modules, the connection plugin and the action plugin.

One description of where the credentials come from (:class:`K8sAuth`), one resolution of it
into an address, TLS settings and a bearer token, and two things built from that resolution:

* :func:`get_api_client` - a ``kubernetes.client.ApiClient`` for callers that want the full
  generated client (modules, the action plugin).
* :func:`get_endpoint` - an :class:`ApiEndpoint`, a small client that needs only the standard
  library: the exec stream and a few JSON calls. The connection plugin runs once per task in a
  freshly forked worker, and importing the ``kubernetes`` package costs 0.3-1.5 s each time;
  the endpoint keeps that out of every task, unless a kubeconfig needs what only the library
  does (exec or auth-provider plugins, basic auth: see ``_kubeconfig``).

Errors are raised as :class:`K8sClientError` subclasses, never turned into ``fail_json``;
:func:`explain_api_exception` is the one place that words an API or network error for people.
No message, log line or ``repr`` here contains a token or a certificate.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import socket
import ssl
import tempfile
import threading
import typing as t
import urllib.parse
from dataclasses import dataclass, field

from ansible_collections.ephemeral.container_groups.plugins.module_utils._kubeconfig import (
    StaticKubeconfig,
    read_static_kubeconfig,
)

if t.TYPE_CHECKING:
    import http.client

# http.client and urllib.request are imported where they are used: the connection plugin is
# imported afresh for every task, they cost it ~25 ms, and its exec stream needs neither.

#: What to install when the kubernetes library is missing (get_api_client, or a kubeconfig with plugins, needs it).
KUBERNETES_REQUIREMENT = "kubernetes>=36.0.0"

#: Where a Pod finds its service account (in-cluster configuration).
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

DEFAULT_NAMESPACE = "default"

LogFn = t.Callable[[str], None]

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


class K8sClientError(Exception):
    """Something went wrong talking to Kubernetes; the message is meant for people."""


class MissingLibraryError(K8sClientError):
    """A Python library this code path needs is not installed on the controller."""

    def __init__(self, library: str, requirement: str, exc: BaseException | None = None) -> None:
        self.library = library
        self.requirement = requirement
        detail = f" ({exc})" if exc else ""
        super().__init__(
            f"the {library} Python library is required on the controller but could not be imported{detail}: "
            f"install it in the Python that runs Ansible, e.g. pip install '{requirement}'"
        )


class K8sApiError(K8sClientError):
    """The API server answered with an HTTP error status (its Status object is in ``body``)."""

    def __init__(self, status: int, reason: str | None = None, body: str | bytes | None = None) -> None:
        self.status = status
        self.reason = reason or ""
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        self.body = body
        super().__init__(f"{status} {self.reason}: {status_message(body) or ''}".strip(": "))


class K8sConnectionError(K8sClientError):
    """The API server could not be reached or its certificate could not be verified."""


def status_message(body: t.Any) -> str | None:
    """The ``message`` of a Kubernetes Status object given as JSON text, bytes or a dict."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            text = body.strip()
            return text[:500] or None
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
    return None


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
            token = "bearer token" if self.api_key else "no token"
            return f"API server {self.host} ({token}, {tls})"
        if source == "kubeconfig":
            where = self.kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
            return f"kubeconfig {where}" + (f" context {self.context}" if self.context else " (current context)")
        return "in-cluster service account"


def looks_like_pem(value: str) -> bool:
    return "-----BEGIN " in value


def auth_from_credential(credential: t.Mapping[str, t.Any]) -> K8sAuth:
    """The auth of a stored k8s_bearer_credential record (host, bearer_token, verify_ssl, ssl_ca_cert)."""
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
    verify = credential.get("verify_ssl", True)
    return K8sAuth(
        host=host.strip(),
        api_key=token or None,
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


# -- temporary PEM files (for a CA or client certificate given as text: TLS wants a path) --

_temp_files: set[str] = set()
_temp_lock = threading.Lock()


def _remove_temp_file(path: str) -> None:
    with _temp_lock:
        _temp_files.discard(path)
    try:
        os.unlink(path)
    except OSError:
        pass


@atexit.register
def _remove_all_temp_files() -> None:
    for path in list(_temp_files):
        _remove_temp_file(path)


def _write_temp_pem(pem: str, prefix: str = "cg-ca-") -> str:
    """Write PEM text to a new 0600 file; removed by _remove_temp_file or at exit."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=".pem")
    with _temp_lock:
        _temp_files.add(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(pem if pem.endswith("\n") else pem + "\n")
    except BaseException:
        _remove_temp_file(path)
        raise
    return path


def system_ca_file() -> str | None:
    """The system trust store as one file (honours SSL_CERT_FILE), if there is one."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


# -- the light endpoint ----------------------------------------------------------------------


class ApiEndpoint:
    """An API server address with its TLS and auth settings, and a small JSON client.

    One per connection (or module run): the SSL context is built once and reused by every
    request and exec stream. Needs only the standard library (the exec stream adds the
    ``websocket`` package). Close it when done; it owns no sockets between calls.
    """

    def __init__(
        self,
        host: str,
        *,
        token: str | None = None,
        token_source: t.Callable[[], str | None] | None = None,
        verify: bool = True,
        ca_file: str | None = None,
        ca_data: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        tls_server_name: str | None = None,
        check_hostname: bool = True,
        proxy: str | None = None,
        default_namespace: str | None = None,
        description: str = "",
        on_close: t.Callable[[], None] | None = None,
    ) -> None:
        if "://" not in host:
            host = "https://" + host
        parsed = urllib.parse.urlsplit(host)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise K8sClientError(f"API host {host!r} is not an http(s) URL")
        self.host = host.rstrip("/")
        self.scheme = parsed.scheme
        self.hostname = parsed.hostname
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.base_path = parsed.path.rstrip("/")
        self._token = token
        self._token_source = token_source
        self.verify = verify
        self.ca_file = ca_file
        self._ca_data = ca_data
        self.cert_file = cert_file
        self.key_file = key_file
        self.tls_server_name = tls_server_name
        self.check_hostname = check_hostname
        self.proxy = proxy
        self.default_namespace = default_namespace or DEFAULT_NAMESPACE
        self.description = description or f"API server {self.host}"
        self._ssl_context: ssl.SSLContext | None = None
        self._on_close = on_close

    def __repr__(self) -> str:
        return f"ApiEndpoint({self.host!r})"

    def __enter__(self) -> ApiEndpoint:
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.close()

    def close(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def authorization(self) -> str | None:
        """The Authorization header value (fetched each time, so refreshed tokens are used)."""
        token = self._token_source() if self._token_source else self._token
        if not token:
            return None
        return token if token.lower().startswith(("bearer ", "basic ")) else f"Bearer {token}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The client SSL context (None for http://), built on first use."""
        if self.scheme != "https":
            return None
        if self._ssl_context is None:
            self._ssl_context = self._build_ssl_context()
        return self._ssl_context

    def _build_ssl_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context.check_hostname = self.check_hostname
            try:
                if self._ca_data:
                    context.load_verify_locations(cadata=self._ca_data)
                elif self.ca_file:
                    context.load_verify_locations(cafile=self.ca_file)
                else:
                    context.load_default_certs(ssl.Purpose.SERVER_AUTH)
            except (OSError, ssl.SSLError, ValueError) as exc:
                which = "the CA certificate given as PEM text" if self._ca_data else f"CA file {self.ca_file}"
                raise K8sConnectionError(f"cannot load {which}: {getattr(exc, 'strerror', None) or exc}") from exc
        if self.cert_file:
            try:
                context.load_cert_chain(self.cert_file, self.key_file)
            except (OSError, ssl.SSLError) as exc:
                raise K8sConnectionError(f"cannot load the client certificate {self.cert_file}: {exc}") from exc
        return context

    def proxy_for(self) -> tuple[str, int] | None:
        """The HTTP proxy (host, port) to use for this server, if any."""
        proxy = self.proxy
        if proxy is None:
            import urllib.request  # pylint: disable=import-outside-toplevel

            proxies = urllib.request.getproxies()
            proxy = proxies.get(self.scheme) or proxies.get("all")
            if proxy and urllib.request.proxy_bypass(self.hostname):
                proxy = None
        if not proxy:
            return None
        if "://" not in proxy:
            proxy = "http://" + proxy
        parsed = urllib.parse.urlsplit(proxy)
        if not parsed.hostname:
            return None
        return parsed.hostname, parsed.port or 80

    def request(
        self,
        method: str,
        path: str,
        *,
        query: t.Sequence[tuple[str, str]] | None = None,
        body: t.Any = None,
        timeout: float = 30.0,
    ) -> t.Any:
        """One JSON API call; raises K8sApiError for an error status, K8sConnectionError if unreachable."""
        import http.client  # pylint: disable=import-outside-toplevel,redefined-outer-name

        url = self.base_path + path
        if query:
            url += "?" + urllib.parse.urlencode(list(query))
        headers = {"Accept": "application/json", "User-Agent": "ephemeral.container_groups"}
        auth = self.authorization()
        if auth:
            headers["Authorization"] = auth
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        conn = self._http_connection(timeout)
        try:
            conn.request(method, url, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise K8sConnectionError(explain_api_exception(exc, host=self.host)) from exc
        finally:
            conn.close()
        if response.status >= 400:
            raise K8sApiError(response.status, response.reason, data)
        try:
            return json.loads(data) if data else None
        except ValueError as exc:
            raise K8sClientError(f"the API server at {self.host} sent a response that is not JSON") from exc

    def _http_connection(self, timeout: float) -> http.client.HTTPConnection:
        import http.client  # pylint: disable=import-outside-toplevel,redefined-outer-name

        proxy = self.proxy_for()
        target = (proxy[0], proxy[1]) if proxy else (self.hostname, self.port)
        conn: http.client.HTTPConnection
        if self.scheme == "https":
            https = _https_connection_class()(target[0], target[1], timeout=timeout, context=self.ssl_context())
            https.sni_name = self.tls_server_name or self.hostname
            conn = https
        else:
            conn = http.client.HTTPConnection(target[0], target[1], timeout=timeout)
        if proxy:
            conn.set_tunnel(self.hostname, self.port)
        return conn


@functools.lru_cache(maxsize=None)
def _https_connection_class() -> t.Any:
    """HTTPSConnection that can present a TLS server name other than the host it dials."""
    import http.client  # pylint: disable=import-outside-toplevel,redefined-outer-name

    class _HTTPSConnection(http.client.HTTPSConnection):
        sni_name: str | None = None

        def connect(self) -> None:
            http.client.HTTPConnection.connect(self)
            # _tunnel_host is http.client's (set by set_tunnel for a proxy); typeshed omits it.
            server_hostname = getattr(self, "_tunnel_host", None) or self.host
            if self.sni_name:
                server_hostname = self.sni_name
            self.sock = self._context.wrap_socket(self.sock, server_hostname=server_hostname)  # type: ignore[attr-defined]

    return _HTTPSConnection


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


def endpoint_from_api_client(api_client: t.Any) -> ApiEndpoint:
    """An ApiEndpoint for an existing kubernetes ApiClient (what exec_in_pod does with one)."""
    return endpoint_from_configuration(
        api_client.configuration, default_namespace=getattr(api_client, "cg_default_namespace", None)
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


def get_api_client(auth: K8sAuth, log: LogFn | None = None) -> t.Any:
    """A kubernetes.client.ApiClient for auth (raises MissingLibraryError without the library).

    A CA given as PEM text is written to a 0600 temporary file, removed when the client is
    closed (``close()`` or ``with``) or at exit. The namespace of a kubeconfig context (or
    the service account's) is kept as ``cg_default_namespace`` on the client.
    """
    kubernetes = _import_kubernetes()
    source = auth.source
    if log:
        log(f"Kubernetes API via {auth.describe()}")
    temp_files: list[str] = []
    namespace: str | None = None
    if source == "host":
        configuration = kubernetes.client.Configuration(host=_normalise_host(auth.host or ""))
        if auth.api_key:
            configuration.api_key = {"authorization": auth.api_key}
            configuration.api_key_prefix = {"authorization": "Bearer"}
        configuration.verify_ssl = auth.validate_certs
        if auth.validate_certs:
            if auth.ca_cert_data:
                temp_files.append(_write_temp_pem(auth.ca_cert_data))
                configuration.ssl_ca_cert = temp_files[-1]
            elif auth.ca_cert_file:
                configuration.ssl_ca_cert = os.path.expanduser(auth.ca_cert_file)
            else:
                # The library falls back to certifi's bundle; we promise the system trust store.
                configuration.ssl_ca_cert = system_ca_file()
    elif source == "in-cluster":
        endpoint = _in_cluster_endpoint()
        configuration = kubernetes.client.Configuration(host=endpoint.host)
        configuration.ssl_ca_cert = endpoint.ca_file
        configuration.api_key_prefix = {"authorization": "Bearer"}

        def refresh(config: t.Any) -> None:
            # The endpoint reads the (rotating) token file; keep the bare token.
            header = endpoint.authorization() or ""
            config.api_key = {"authorization": header.split(" ", 1)[-1]}

        refresh(configuration)
        configuration.refresh_api_key_hook = refresh
        namespace = endpoint.default_namespace
    else:
        configuration, namespace = _kubeconfig_configuration(auth)
    client = _api_client_class(kubernetes)(configuration)
    client.cg_default_namespace = namespace or DEFAULT_NAMESPACE
    client.cg_temp_files = temp_files
    return client


def _normalise_host(host: str) -> str:
    host = host.strip().rstrip("/")
    return host if "://" in host else "https://" + host


_API_CLIENT_CLASS: t.Any = None


def _api_client_class(kubernetes: t.Any) -> t.Any:
    """ApiClient whose close() also removes the temporary CA file we made for it."""
    global _API_CLIENT_CLASS  # pylint: disable=global-statement
    if _API_CLIENT_CLASS is None:

        class ContainerGroupsApiClient(kubernetes.client.ApiClient):  # type: ignore[misc]
            cg_temp_files: list[str] = []
            cg_default_namespace: str = DEFAULT_NAMESPACE

            def close(self) -> None:
                try:
                    super().close()
                finally:
                    for path in self.cg_temp_files:
                        _remove_temp_file(path)
                    self.cg_temp_files = []

        _API_CLIENT_CLASS = ContainerGroupsApiClient
    return _API_CLIENT_CLASS


# -- the one error translator ---------------------------------------------------------------


def _causes(exc: BaseException) -> t.Iterator[BaseException]:
    """exc and everything it wraps (urllib3's reason, __cause__, __context__), once each."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for attr in ("reason", "__cause__", "__context__"):
            inner = getattr(current, attr, None)
            if isinstance(inner, BaseException):
                todo.append(inner)
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException):
                todo.append(arg)


def _http_status(exc: BaseException) -> tuple[int | None, str | None, t.Any]:
    """(status, reason, body) of an HTTP error of any of the libraries we meet."""
    status = getattr(exc, "status", None)
    if status is None:
        status = getattr(exc, "status_code", None)  # websocket-client's WebSocketBadStatusException
    if not isinstance(status, int) or isinstance(status, bool) or status <= 0:
        return None, None, None
    reason = getattr(exc, "reason", None) or getattr(exc, "status_message", None)
    body = getattr(exc, "body", None)
    if body is None:
        body = getattr(exc, "resp_body", None)
    return status, reason if isinstance(reason, str) else None, body


TLS_HINT = (
    "give the cluster's CA certificate (ssl_ca_cert of the credential, or the ca_cert option / "
    "K8S_AUTH_SSL_CA_CERT), or set validate_certs (verify_ssl) to false to skip verification, which is not recommended"
)


def _network_message(exc: BaseException, where: str) -> str | None:
    """Words for a TLS or network failure somewhere in exc's chain; None if there is none."""
    texts = []
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or str(cause)
            return f"TLS verification of the API server certificate failed{where} ({detail}): {TLS_HINT}"
        if isinstance(cause, ConnectionRefusedError):
            return f"cannot reach the API server{where}: connection refused (is the host and port right, is the API server up?)"
        if isinstance(cause, socket.gaierror):
            return f"cannot reach the API server{where}: the host name does not resolve ({cause.strerror or cause})"
        if isinstance(cause, (socket.timeout, TimeoutError)):
            return f"cannot reach the API server{where}: timed out"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake with the API server failed{where}: {cause.reason or cause}"
        texts.append(str(cause))
    joined = " ".join(texts)
    if "CERTIFICATE_VERIFY_FAILED" in joined:
        return f"TLS verification of the API server certificate failed{where}: {TLS_HINT}"
    if "Connection refused" in joined:
        return f"cannot reach the API server{where}: connection refused (is the host and port right, is the API server up?)"
    if "Name or service not known" in joined or "nodename nor servname" in joined:
        return f"cannot reach the API server{where}: the host name does not resolve"
    for cause in _causes(exc):
        if isinstance(cause, OSError):
            return f"cannot reach the API server{where}: {cause.strerror or cause}"
    return None


def explain_api_exception(
    exc: BaseException,
    *,
    verb: str | None = None,
    resource: str | None = None,
    name: str | None = None,
    namespace: str | None = None,
    host: str | None = None,
) -> str:
    """One sentence for people about an API or network error, from any client we use.

    Understands kubernetes' ApiException, our K8sApiError, websocket-client's bad handshake
    status, urllib3/requests wrappers, ssl and socket errors. verb/resource/name/namespace
    describe what was attempted ('create', 'pods/exec', 'mypod', 'ns').
    """
    where = f" at {host}" if host else ""
    what = resource or "resource"
    named = f'{what} "{name}"' if name else what
    in_ns = f' in namespace "{namespace}"' if namespace else ""
    status, reason, body = _http_status(exc)
    if status is not None:
        message = status_message(body) or reason or ""
        said = f" The API server said: {message}" if message else ""
        if status == 401:
            return (
                f"the API server{where} rejected the credentials (401 Unauthorized): the bearer token "
                "is wrong, expired or revoked (or the kubeconfig's user is not valid)."
            )
        if status == 403:
            action = f"{verb} {what}" if verb else f"use {what}"
            verbs = f"'{verb}'" if verb else "the verb"
            if what.endswith(("/exec", "/attach", "/portforward")):
                # A websocket upgrade is a GET: the API server checks 'get' and 'create'.
                verbs = "'get' and 'create'"
            return (
                f"permission denied (403 Forbidden): the credentials may not {action}{in_ns}; "
                f"RBAC must grant {verbs} on '{what}' there.{said}"
            )
        if status == 404:
            # pods/exec not found means the Pod is not there: name the object, not the subresource.
            kind = what.split("/")[0]
            kind = kind[:-1] if kind.endswith("s") and "/" in what else kind
            found = f'{kind} "{name}"' if name else kind
            return f"{found} not found{in_ns} (404).{said}"
        action = f"{verb} " if verb else ""
        return f"the API server{where} refused to {action}{named}{in_ns} ({status} {reason or ''}).{said}".replace(" )", ")")
    network = _network_message(exc, where)
    if network:
        return network
    if isinstance(exc, K8sClientError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
