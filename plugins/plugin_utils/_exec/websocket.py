# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""A client websocket on a non-blocking socket, for the exec channel protocol.

The websocket protocol itself (the HTTP upgrade, framing, masking, ping and close) is the
``websockets`` library's sans-I/O :class:`~websockets.client.ClientProtocol`; its C
``apply_mask`` masks 200 MiB in about 0.03 s here. This module only moves bytes between that
protocol and a socket that the API endpoint opened (TLS, proxy), so the caller can run one
select loop that reads output and writes bounded stdin at the same time.

The library's logger is replaced by a disabled one: at debug level it would log every
request header, the bearer token among them, and every frame.
"""

from __future__ import annotations

import collections
import logging
import select
import socket
import ssl
import time
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import (
    ExecError,
    K8sApiError,
    K8sConnectionError,
    MissingLibraryError,
    explain_api_exception,
)

if t.TYPE_CHECKING:
    from websockets.client import ClientProtocol
    from websockets.frames import Frame

WEBSOCKETS_REQUIREMENT = "websockets>=13.0"

#: Bytes read from the socket at a time; a TLS read yields one record (16 kB) at most.
READ_CHUNK = 256 * 1024
#: The largest message taken from the API server: the kubelet sends a command's output in
#: pieces of tens of KiB, so only a broken or hostile server sends more (which closes the stream).
MAX_MESSAGE_BYTES = 16 << 20

_QUIET = logging.getLogger("ansible_collections.ephemeral.container_groups.websocket")
_QUIET.disabled = True
_QUIET.propagate = False


class WebSocketError(ExecError):
    """The websocket broke the protocol or could not be set up (not an HTTP refusal)."""


def _import_websockets() -> t.Any:
    try:
        import websockets.client  # pylint: disable=import-outside-toplevel
        import websockets.exceptions  # pylint: disable=import-outside-toplevel,unused-import
        import websockets.frames  # pylint: disable=import-outside-toplevel,unused-import
        import websockets.protocol  # pylint: disable=import-outside-toplevel,unused-import
        import websockets.uri  # pylint: disable=import-outside-toplevel,unused-import
    except ImportError as exc:
        raise MissingLibraryError("websockets", WEBSOCKETS_REQUIREMENT, exc) from exc
    return websockets


class WebSocket:
    """One open client websocket: frames in with :meth:`receive`, out with :meth:`send_binary`.

    The socket is non-blocking once open. Outgoing bytes are queued and written by
    :meth:`flush` as far as the socket takes them; :attr:`wants_write` says whether any wait.
    """

    def __init__(self, sock: socket.socket, protocol: ClientProtocol, leftover: list[Frame]) -> None:
        self.sock = sock
        self.subprotocol: str | None = protocol.subprotocol
        self._protocol = protocol
        self._frames: list[Frame] = leftover
        self._out: collections.deque[memoryview] = collections.deque()
        self.closed = False  # the server closed the websocket or the connection
        self._websockets = _import_websockets()
        sock.setblocking(False)

    @classmethod
    def connect(cls, endpoint: ApiEndpoint, path: str, subprotocols: t.Sequence[str], timeout: float,
                where: dict[str, str]) -> WebSocket:
        """Open a websocket to path (with its query) on the API server.

        Raises K8sApiError when the server answers the upgrade with an HTTP error (its Status
        body kept), K8sConnectionError when it cannot be reached, WebSocketError otherwise.
        ``where`` (verb, resource, name, namespace) words the messages.
        """
        websockets = _import_websockets()
        scheme = "wss" if endpoint.scheme == "https" else "ws"
        port = "" if endpoint.port == (443 if scheme == "wss" else 80) else f":{endpoint.port}"
        host = f"[{endpoint.hostname}]" if ":" in endpoint.hostname else endpoint.hostname
        uri = websockets.uri.parse_uri(f"{scheme}://{host}{port}{endpoint.base_path}{path}")
        protocol = websockets.client.ClientProtocol(uri, subprotocols=list(subprotocols), max_size=MAX_MESSAGE_BYTES,
                                                    logger=_QUIET)
        request = protocol.connect()
        authorization = endpoint.authorization()
        if authorization:
            request.headers["Authorization"] = authorization
        protocol.send_request(request)
        deadline = time.monotonic() + timeout
        try:
            sock = endpoint.open_socket(timeout)
        except (OSError, ssl.SSLError) as exc:
            raise K8sConnectionError(explain_api_exception(exc, host=endpoint.host, **where)) from exc
        try:
            leftover = cls._handshake(sock, protocol, deadline, endpoint.host)
        except BaseException:
            sock.close()
            raise
        refusal = protocol.handshake_exc
        if refusal is not None:
            sock.close()
            response = getattr(refusal, "response", None)
            if response is not None:  # InvalidStatus: an HTTP refusal with its Status body
                raise K8sApiError(response.status_code, response.reason_phrase, bytes(response.body or b""))
            raise WebSocketError(f"the websocket to {endpoint.host} could not be opened: {refusal}")
        ws = cls(sock, protocol, leftover)
        try:
            ws._check_protocol()  # frames that came with the response were parsed already
        except WebSocketError:
            ws.close()
            raise
        return ws

    @staticmethod
    def _handshake(sock: socket.socket, protocol: ClientProtocol, deadline: float, host: str) -> list[Frame]:
        """Send the upgrade and read the response; frames that came with it are returned."""
        try:
            for data in protocol.data_to_send():
                if data:
                    sock.sendall(data)
            events: list[t.Any] = []
            while not events and protocol.handshake_exc is None:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                data = sock.recv(65536)
                if data:
                    protocol.receive_data(data)
                else:
                    protocol.receive_eof()
                events = protocol.events_received()
                if not data and not events:
                    break
        except (OSError, ssl.SSLError) as exc:
            raise K8sConnectionError(explain_api_exception(exc, host=host)) from exc
        if not events and protocol.handshake_exc is None:
            raise WebSocketError("the API server closed the connection during the websocket handshake")
        return t.cast("list[Frame]", events[1:])  # events[0] is the HTTP response

    # -- incoming --------------------------------------------------------------------------

    def receive(self) -> list[Frame]:
        """Every frame the socket has now (reading until it would block); [] if none.

        Replies the protocol owes (pong, the echo of a close) are queued for :meth:`flush`.
        """
        frames, self._frames = self._frames, []
        protocol = self._protocol
        while not self.closed:
            try:
                data = self.sock.recv(READ_CHUNK)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                break
            except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
                data = b""
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
                self.closed = True
            frames.extend(t.cast("list[Frame]", protocol.events_received()))
            self._check_protocol()
            if protocol.close_rcvd is not None:
                self.closed = True
        self._queue(protocol.data_to_send())
        return frames

    def _check_protocol(self) -> None:
        failure = self._protocol.parser_exc
        if failure is not None and not isinstance(failure, EOFError):  # EOF: the stream's end, judged by the caller
            raise WebSocketError(f"the API server broke the websocket protocol: {failure}")

    def pending(self) -> bool:
        """Whether frames wait that select cannot see: bytes decrypted inside the TLS layer, or
        frames that arrived with the handshake response."""
        return bool(self._frames) or (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0)

    # -- outgoing --------------------------------------------------------------------------

    def send_binary(self, data: bytes | bytearray | memoryview) -> None:
        """Queue one binary message."""
        self._protocol.send_binary(data)
        self._queue(self._protocol.data_to_send())

    @property
    def wants_write(self) -> bool:
        return bool(self._out)

    def _queue(self, chunks: list[bytes]) -> None:
        self._out.extend(memoryview(chunk) for chunk in chunks if chunk)

    def flush(self) -> None:
        """Write queued bytes until the socket would block."""
        while self._out:
            chunk = self._out[0]
            try:
                sent = self.sock.send(chunk)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError, InterruptedError):
                return
            if sent < len(chunk):
                self._out[0] = chunk[sent:]
            else:
                self._out.popleft()

    def discard_output(self) -> None:
        """Forget what is queued (the peer no longer reads it)."""
        self._out.clear()

    def close(self) -> None:
        """Say goodbye if the connection still stands (within a second), then close the socket."""
        try:
            if not self.closed and self._protocol.state is self._websockets.protocol.OPEN:
                self._protocol.send_close(1000)
                self._queue(self._protocol.data_to_send())
            deadline = time.monotonic() + 1.0
            while self._out and time.monotonic() < deadline:
                self.flush()
                if self._out:
                    select.select([], [self.sock], [], max(0.0, deadline - time.monotonic()))
        except (OSError, ValueError, self._websockets.exceptions.InvalidState):
            pass
        try:
            self.sock.close()
        except OSError:
            pass
