# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Requests to the Kubernetes API: one endpoint (address, TLS, proxy, token) and its JSON calls.

:class:`ApiEndpoint` needs only the standard library. The connection plugin runs once per
task in a freshly forked worker, and importing the ``kubernetes`` package costs 0.3-1.5 s
each time; this endpoint keeps that out of every task (``auth`` builds it from a
credential, a kubeconfig or the in-cluster service account). It opens the sockets that the
exec transport (``websocket``) speaks over, so both share one TLS and proxy setup.

:func:`pod_path` is the one builder of Pod API paths.
"""

from __future__ import annotations

import functools
import json
import socket
import ssl
import typing as t
import urllib.parse

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import (
    K8sApiError,
    K8sClientError,
    K8sConnectionError,
    explain_api_exception,
)

if t.TYPE_CHECKING:
    import http.client

# http.client and urllib.request are imported where they are used: the connection plugin is
# imported afresh for every task, they cost it ~25 ms, and its exec stream needs neither.

DEFAULT_NAMESPACE = "default"

LogFn = t.Callable[[str], None]


#: The most of an error response's body kept (a Status is a few hundred bytes).
_MAX_ERROR_BODY_BYTES = 1 << 20
#: The Accept header of a metadata-only list (a full list where the server cannot give one).
_METADATA_ONLY = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"


def pod_path(namespace: str, name: str | None = None, subresource: str | None = None) -> str:
    """The API path of the Pods of a namespace, of one Pod, or of one of its subresources."""
    return core_path("pods", namespace, name, subresource)


def core_path(resource: str, namespace: str, name: str | None = None, subresource: str | None = None) -> str:
    """The API path of a core (v1) resource of a namespace, of one object, or of a subresource."""
    path = f"/api/v1/namespaces/{urllib.parse.quote(namespace, safe='')}/{resource}"
    if name:
        path += "/" + urllib.parse.quote(name, safe="")
        if subresource:
            path += "/" + subresource
    return path


class ApiEndpoint:
    """An API server address with its TLS and auth settings, and a small JSON client.

    One per connection or job: the SSL context is built once and reused by every request and
    exec stream. It holds no socket between calls, so there is nothing to close.
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
        #: HTTP requests and exec connections made through this endpoint (for the benchmarks).
        self.requests = 0

    def __repr__(self) -> str:
        return f"ApiEndpoint({self.host!r})"

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

    def open_socket(self, timeout: float) -> socket.socket:
        """A connected socket to the API server (through the proxy, TLS-wrapped for https)."""
        self.requests += 1
        proxy = self.proxy_for()
        if proxy:
            import http.client  # pylint: disable=import-outside-toplevel,redefined-outer-name

            # http.client speaks the CONNECT handshake; the tunnel's socket is ours after it.
            tunnel = http.client.HTTPConnection(proxy[0], proxy[1], timeout=timeout)
            tunnel.set_tunnel(self.hostname, self.port)
            tunnel.connect()
            sock, tunnel.sock = tunnel.sock, None
        else:
            sock = socket.create_connection((self.hostname, self.port), timeout=timeout)
        context = self.ssl_context()
        if context is None:
            return sock
        try:
            return context.wrap_socket(sock, server_hostname=self.tls_server_name or self.hostname)
        except BaseException:
            sock.close()
            raise

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

    def _send(self, method: str, path: str, query: t.Sequence[tuple[str, str]] | None, body: t.Any,
              timeout: float, accept: str = "application/json",
              patch_type: str = "merge") -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send one request; the open connection and its response (headers read)."""
        import http.client  # pylint: disable=import-outside-toplevel,redefined-outer-name

        self.requests += 1
        url = self.base_path + path
        if query:
            url += "?" + urllib.parse.urlencode(list(query))
        headers = {"Accept": accept, "User-Agent": "ephemeral.container_groups"}
        auth = self.authorization()
        if auth:
            headers["Authorization"] = auth
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            # A PATCH says how to apply it: a JSON merge patch, or a strategic merge patch (which
            # can remove one item of a list merged by key, as one scheduling gate).
            headers["Content-Type"] = f"application/{patch_type}-patch+json" if method == "PATCH" else "application/json"
        conn = self._http_connection(timeout)
        try:
            conn.request(method, url, body=payload, headers=headers)
            response = conn.getresponse()
            if response.status >= 400:
                data = response.read(_MAX_ERROR_BODY_BYTES)  # a Status is small; a proxy's page may not be
                response.close()  # the rest unread: the socket goes now, not when the response is collected
                raise K8sApiError(response.status, response.reason, data, _retry_after(response.getheader("Retry-After")))
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise K8sConnectionError(explain_api_exception(exc, host=self.host)) from exc
        except BaseException:
            conn.close()
            raise
        return conn, response

    def request(
        self,
        method: str,
        path: str,
        *,
        query: t.Sequence[tuple[str, str]] | None = None,
        body: t.Any = None,
        timeout: float = 30.0,
        metadata_only: bool = False,
        patch_type: str = "merge",
    ) -> t.Any:
        """One JSON API call; raises K8sApiError for an error status, K8sConnectionError if unreachable.

        metadata_only asks a list for its items' metadata alone (a PartialObjectMetadataList), so
        listing Secrets does not bring their data to the controller. patch_type is "merge" or
        "strategic-merge".
        """
        import http.client  # pylint: disable=import-outside-toplevel,redefined-outer-name

        conn, response = self._send(method, path, query, body, timeout, _METADATA_ONLY if metadata_only else "application/json",
                                    patch_type)
        try:
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise K8sConnectionError(explain_api_exception(exc, host=self.host)) from exc
        finally:
            conn.close()
        try:
            return json.loads(data) if data else None
        except ValueError as exc:
            raise K8sClientError(f"the API server at {self.host} sent a response that is not JSON") from exc

    def watch(self, path: str, *, query: t.Sequence[tuple[str, str]], seconds: int) -> t.Generator[dict, None, None]:
        """The events of a watch (``{"type": ..., "object": ...}``) as the API server sends them.

        The server ends the watch after ``seconds``; an ERROR event (410 Gone: the
        resourceVersion is too old) is raised as K8sApiError, so the caller can list again.
        """
        import http.client  # pylint: disable=import-outside-toplevel,redefined-outer-name

        query = [*query, ("watch", "1"), ("timeoutSeconds", str(seconds))]
        conn, response = self._send("GET", path, query, None, seconds + 10.0)
        try:
            for line in response:
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except ValueError as exc:
                    raise K8sClientError(f"the API server at {self.host} sent a watch event that is not JSON") from exc
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise K8sApiError(int(status.get("code") or 500), str(status.get("reason") or ""), json.dumps(status))
                yield event
        except (OSError, http.client.HTTPException) as exc:
            raise K8sConnectionError(explain_api_exception(exc, host=self.host)) from exc
        finally:
            conn.close()

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


def _retry_after(value: str | None) -> float | None:
    """Seconds of a Retry-After header given in seconds (the API server's form); None otherwise."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
