# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The errors of our Kubernetes client, and the one place that words them for people.

Every API or network failure the collection meets (our own requests and watches, the
websocket handshake, ssl and socket errors) ends as a :class:`K8sClientError` whose message
says what failed and what to do next; the caller names the object. No message here contains
a token or a certificate.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import typing as t


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

    def __init__(self, status: int, reason: str | None = None, body: str | bytes | None = None,
                 retry_after: float | None = None) -> None:
        self.status = status
        self.reason = reason or ""
        self.retry_after = retry_after  # seconds, from a 429's or 503's Retry-After header
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        self.body = body
        super().__init__(f"{status} {self.reason}: {status_message(body) or ''}".strip(": "))


class K8sConnectionError(K8sClientError):
    """The API server could not be reached or its certificate could not be verified."""


class ExecError(K8sClientError):
    """The exec stream failed: it could not start, broke, or ended without an exit status."""


class ExecTimeout(ExecError):
    """The command did not finish within the timeout (the stream was closed)."""


class StdinNotSupported(ExecError):
    """The API server speaks only v4.channel.k8s.io, which cannot close stdin."""


class ExecTruncated(ExecError):
    """The command's output did not arrive whole (its end marker is missing)."""


class ExecStatusError(ExecError):
    """The command did not run to an exit code (exec failed: no such file, container gone...).

    ``status`` is the Status object the kubelet sent on channel 3.
    """

    def __init__(self, message: str, status: dict) -> None:
        super().__init__(message)
        self.status = status


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


# -- the one error translator ---------------------------------------------------------------


def causes(exc: BaseException) -> t.Iterator[BaseException]:
    """exc and everything it wraps (__cause__, __context__, exceptions among its args), once each."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for attr in ("__cause__", "__context__"):
            inner = getattr(current, attr, None)
            if isinstance(inner, BaseException):
                todo.append(inner)
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException):
                todo.append(arg)


def _http_status(exc: BaseException) -> tuple[int | None, str | None, t.Any]:
    """(status, reason, body) of the API server's HTTP error; Nones for any other error."""
    if not isinstance(exc, K8sApiError):
        return None, None, None
    return exc.status, exc.reason, exc.body


# What the API server's admission says when it refuses an object (kube-apiserver's words;
# the 403 of an RBAC denial says "cannot <verb> resource" instead).
_POD_SECURITY = re.compile(r'violates PodSecurity "(?P<level>[a-z]+):(?P<version>[^"]+)"')
_MUST_SET = re.compile(r'must set ([A-Za-z.]+)(?:=(\S+?)(?=\)|, )| to "([^"]+)")?')
_WEBHOOK = re.compile(r'admission webhook "(?P<name>[^"]+)" denied the request(?::\s*(?P<why>.*))?', re.S)
_QUOTA = re.compile(r"exceeded quota: (?P<name>[^,]+), (?P<usage>requested: .*)", re.S)


def quota_exceeded(exc: BaseException) -> str | None:
    """The words of a ResourceQuota refusal (name and usage), or None for any other error."""
    status, dummy_reason, body = _http_status(exc)
    found = _QUOTA.search(status_message(body) or "") if status == 403 else None
    return f'ResourceQuota "{found.group("name")}" ({found.group("usage").strip()})' if found else None


def _object(resource: str, name: str | None) -> str:
    """'Pod "x"' for resource pods: how admission's refusals name what they refused."""
    kind = resource.split("/")[0]
    kind = (kind[:-1] if kind.endswith("s") else kind).capitalize()
    return f'{kind} "{name}"' if name else kind


def _admission_refusal(message: str, named: str, in_ns: str) -> str | None:
    """A sentence for an admission refusal (Pod Security, a webhook, a quota); None for others."""
    found = _POD_SECURITY.search(message)
    if found:
        fields = sorted({f"{field}={value or quoted}" if value or quoted else field
                         for field, value, quoted in _MUST_SET.findall(message)})
        set_them = f" The pod spec override must set {', '.join(fields)}." if fields else ""
        return (f'Pod Security admission refused the {named}{in_ns}: the namespace enforces the "{found.group("level")}" '
                f'level ({found.group("level")}:{found.group("version")}).{set_them}')
    found = _WEBHOOK.search(message)
    if found:
        why = (found.group("why") or "").strip()
        return (f'the admission webhook "{found.group("name")}" denied the {named}{in_ns}'
                f'{": " + why if why else ""}; meet its policy in the pod spec override, or ask the webhook\'s owners.')
    found = _QUOTA.search(message)
    if found:
        return (f'the {named} does not fit in ResourceQuota "{found.group("name")}"{in_ns} '
                f'({found.group("usage").strip()}); wait for room, or ask for a larger quota.')
    return None


TLS_HINT = (
    "give the cluster's CA certificate (ssl_ca_cert of the credential, or the ca_cert option / "
    "K8S_AUTH_SSL_CA_CERT), or set validate_certs (verify_ssl) to false to skip verification, which is not recommended"
)


def _network_message(exc: BaseException, where: str) -> str | None:
    """Words for a TLS or network failure somewhere in exc's chain; None if there is none."""
    texts = []
    for cause in causes(exc):
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
    for cause in causes(exc):
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
    """One sentence for people about an API or network error.

    Understands our K8sApiError and ssl and socket errors anywhere in exc's chain.
    verb/resource/name/namespace describe what was attempted ('create', 'pods/exec', 'mypod',
    'ns'); leave name out where the caller's message names the object already.
    """
    where = f" at {host}" if host else ""
    what = resource or "resource"
    named = f'{what} "{name}"' if name else what
    in_ns = f' in namespace "{namespace}"' if namespace else ""
    status, reason, body = _http_status(exc)
    if status is not None:
        message = status_message(body) or reason or ""
        said = f" The API server said: {message}" if message else ""
        # Without a name the caller's message names the object, namespace and all.
        refused = _admission_refusal(message, _object(what, name), in_ns if name else "")
        if refused:
            return f"{refused}{said}"
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
