# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Run a command in a Pod through the ``pods/exec`` subresource, streaming both ways.

The Kubernetes exec protocol multiplexes the command's streams over one websocket: every
message starts with a channel byte (0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4
resize). ``v5.channel.k8s.io`` (Kubernetes 1.30+) adds a close message (255, channel), which
is how the client says "end of stdin". ``v4.channel.k8s.io`` has no such message, so stdin
can never reach end-of-file there.

websocket-client does the HTTP upgrade (TLS, proxies); after that this module reads and
writes frames on the socket itself in one non-blocking select loop:

* every byte the socket yields is parsed - the loop drains the TLS layer until it would
  block, so frames already decrypted into the SSL buffer are never left behind (the cause
  of the truncated-output bugs of the kubernetes client's WSClient);
* stdin is sent in bounded chunks while output is read, so a command that fills its
  stdout pipe before reading stdin cannot deadlock us, and no input is ever held whole;
* stdout and stderr are handed to callbacks chunk by chunk as they arrive;
* the exit status comes from the channel-3 Status; a stream that ends without one is an
  error, never a silent success with missing output.

On a server that picks v4, stdin that needs end-of-file is refused with
StdinNotSupported before the command starts (we offer only v5 for it); callers that send a
known number of bytes to a command that stops reading by itself (``head -c N``) may pass
``stdin_eof=False`` and work on v4 too.

Reading every byte is not enough: under load the container runtime (containerd 1.6 here;
kubectl is hit the same way) can drop the end of a command's output when the command exits,
and still report its exit status. So by default the command runs under a small shell
wrapper (GUARD_SCRIPT) that prints an end marker on stdout and stderr after the command and
then waits for our end of stdin, which we send only once both markers have arrived: the
output is complete before anything exits, and a missing marker is reported (ExecTruncated)
instead of passing silently.
"""

from __future__ import annotations

import collections
import io
import json
import os
import re
import selectors
import ssl
import stat
import time
import typing as t
import urllib.parse

from ansible_collections.ephemeral.container_groups.plugins.module_utils._client import (
    ApiEndpoint,
    K8sApiError,
    K8sClientError,
    K8sConnectionError,
    LogFn,
    MissingLibraryError,
    endpoint_from_api_client,
    explain_api_exception,
)

STDIN = 0
STDOUT = 1
STDERR = 2
ERROR = 3
RESIZE = 4
CLOSE = 255

V5_PROTOCOL = "v5.channel.k8s.io"
V4_PROTOCOL = "v4.channel.k8s.io"

#: Bytes of stdin per websocket message.
STDIN_CHUNK = 256 * 1024
#: Bytes read from the socket before they are decoded.
READ_CHUNK = 256 * 1024
#: The largest TLS record payload: a read into less room than this could be cut short.
_TLS_RECORD = 16 * 1024
#: The channel-3 Status is small; more than this is a protocol error.
MAX_STATUS_BYTES = 1024 * 1024

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

StdinSource = t.Union[bytes, bytearray, memoryview, t.BinaryIO, t.Iterable[t.Union[bytes, memoryview]], None]
OutputFn = t.Callable[[bytes], None]


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


# -- frames ----------------------------------------------------------------------------------


#: XOR tables: _XOR[k] maps every byte b to b ^ k. Each is built when a mask key first needs
#: it: all 256 at once would cost every task (a fresh worker) about 30 ms.
_XOR: list[bytes | None] = [None] * 256


def _xor_table(key_byte: int) -> bytes:
    table = _XOR[key_byte]
    if table is None:
        table = _XOR[key_byte] = bytes(value ^ key_byte for value in range(256))
    return table


#: Room for the longest client frame header: 2 bytes, an 8-byte length, the 4-byte mask key.
_HEADER_ROOM = 14


def _mask_in_place(key: bytes, buffer: bytearray, start: int, end: int) -> None:
    """XOR buffer[start:end] with the 4-byte key repeated (RFC 6455 5.3), in place.

    Four strided lanes, each one bytes.translate with the XOR table of its key byte: all in
    C. In place, it is about twice as fast as into a new buffer, and masking is most of the
    CPU a 200 MB put costs us.
    """
    # Lanes past the end are skipped: an empty extended-slice assignment counts as a resize,
    # which a buffer with a memoryview on it refuses.
    for lane in range(min(4, end - start)):
        buffer[start + lane:end:4] = buffer[start + lane:end:4].translate(_xor_table(key[lane]))


def mask_payload(key: bytes, data: bytes | bytearray | memoryview) -> bytearray:
    """data XORed with the 4-byte key repeated (a copy; masking is its own inverse)."""
    out = bytearray(data)
    _mask_in_place(key, out, 0, len(out))
    return out


def _frame_header(opcode: int, size: int, mask_key: bytes) -> bytes:
    """The header of one complete (FIN) masked client frame with a payload of size bytes."""
    if size < 126:
        length = bytes([0x80 | size])
    elif size < 1 << 16:
        length = bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        length = bytes([0x80 | 127]) + size.to_bytes(8, "big")
    return bytes([0x80 | opcode]) + length + mask_key


def encode_frame(opcode: int, payload: bytes | memoryview, mask_key: bytes | None = None) -> bytes:
    """One complete (FIN) client frame; client frames are always masked."""
    if mask_key is None:
        mask_key = os.urandom(4)
    return _frame_header(opcode, len(payload), mask_key) + mask_payload(mask_key, payload)


class _StdinFrames:
    """Builds stdin frames in one reused buffer: channel byte and data are copied in once and
    masked in place, and the header goes in the room left before them."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def frame(self, data: bytes | memoryview) -> memoryview:
        """The frame for data, valid until the next call."""
        size = len(data)
        if len(self._buffer) < _HEADER_ROOM + 1 + size:
            self._buffer = bytearray(_HEADER_ROOM + 1 + max(size, STDIN_CHUNK))
        buffer = self._buffer
        start = _HEADER_ROOM
        end = start + 1 + size
        buffer[start] = STDIN
        buffer[start + 1:end] = data
        key = os.urandom(4)
        _mask_in_place(key, buffer, start, end)
        header = _frame_header(OP_BINARY, size + 1, key)
        buffer[start - len(header):start] = header
        return memoryview(buffer)[start - len(header):end]


class FrameDecoder:
    """Incremental decoder of server frames, fed whatever the socket gave.

    Data frame payloads are passed on in pieces as they arrive (never buffered whole):
    ``on_data(piece, message_start)`` where message_start is True for the first piece of a
    new message (so the channel byte is its first byte). Control frames (at most 125 bytes)
    are collected and passed whole to ``on_control(opcode, payload)``.
    """

    def __init__(self, on_data: t.Callable[[memoryview, bool], None], on_control: t.Callable[[int, bytes], None]) -> None:
        self._on_data = on_data
        self._on_control = on_control
        self._header = bytearray()
        self._remaining = 0  # payload bytes left in the current frame
        self._in_frame = False
        self._opcode = 0
        self._fin = True
        self._mask: bytes | None = None
        self._mask_offset = 0
        self._control = bytearray()
        self._message_start = False
        self._in_message = False

    def feed(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        pos = 0
        end = len(view)
        while pos < end:
            if not self._in_frame:
                pos = self._read_header(view, pos)
                if not self._in_frame:
                    return  # header incomplete; wait for more bytes
                if self._remaining == 0:
                    self._finish_frame()
                continue
            take = min(self._remaining, end - pos)
            piece = view[pos:pos + take]
            pos += take
            self._remaining -= take
            if self._mask is not None:
                piece = memoryview(self._unmask(piece))
            if self._opcode >= 0x8:
                self._control += piece
            else:
                first = self._message_start
                self._message_start = False
                self._on_data(piece, first)
            if self._remaining == 0:
                self._finish_frame()

    def _unmask(self, piece: memoryview) -> bytes:
        offset = self._mask_offset % 4
        key = (self._mask or b"\0\0\0\0")[offset:] + (self._mask or b"\0\0\0\0")[:offset]
        self._mask_offset += len(piece)
        return bytes(mask_payload(key, piece))

    def _read_header(self, view: memoryview, pos: int) -> int:
        # Accumulate just enough bytes for the header; it is at most 14 bytes.
        need = 2
        while True:
            if len(self._header) < need:
                take = min(need - len(self._header), len(view) - pos)
                self._header += view[pos:pos + take]
                pos += take
                if len(self._header) < need:
                    return pos
            header = self._header
            length = header[1] & 0x7F
            masked = bool(header[1] & 0x80)
            full = 2 + (2 if length == 126 else 8 if length == 127 else 0) + (4 if masked else 0)
            if need < full:
                need = full
                continue
            break
        first, second = header[0], header[1]
        if first & 0x70:
            raise ExecError("the API server sent a websocket frame with reserved bits set (an extension we did not ask for)")
        opcode = first & 0x0F
        length = second & 0x7F
        offset = 2
        if length == 126:
            length = int.from_bytes(header[2:4], "big")
            offset = 4
        elif length == 127:
            length = int.from_bytes(header[2:10], "big")
            offset = 10
        self._mask = bytes(header[offset:offset + 4]) if second & 0x80 else None
        self._mask_offset = 0
        fin = bool(first & 0x80)
        if opcode >= 0x8:
            if length > 125 or not fin:
                raise ExecError("the API server sent a malformed websocket control frame")
        elif opcode == OP_CONT:
            if not self._in_message:
                raise ExecError("the API server sent a websocket continuation frame outside a message")
        elif opcode in (OP_TEXT, OP_BINARY):
            if self._in_message:
                raise ExecError("the API server started a websocket message inside another one")
            self._in_message = True
            self._message_start = True
        else:
            raise ExecError(f"the API server sent a websocket frame with unknown opcode {opcode}")
        self._fin = fin
        self._opcode = opcode
        self._remaining = length
        self._in_frame = True
        self._header = bytearray()
        return pos

    def _finish_frame(self) -> None:
        self._in_frame = False
        if self._opcode >= 0x8:
            payload, self._control = bytes(self._control), bytearray()
            self._on_control(self._opcode, payload)
        elif self._fin:
            if self._message_start:
                # An empty message: nothing was delivered, the channel byte is missing too.
                self._message_start = False
            self._in_message = False


def parse_exit_status(data: bytes) -> int:
    """The exit code in a channel-3 Status; raises ExecStatusError if the command did not run."""
    try:
        status = json.loads(data.decode("utf-8", "replace"))
    except ValueError as exc:
        raise ExecError(f"the exit status sent by the API server is not JSON: {data[:200]!r}") from exc
    if not isinstance(status, dict):
        raise ExecError(f"the exit status sent by the API server is not a Status object: {data[:200]!r}")
    if status.get("status") == "Success":
        return 0
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
                try:
                    return int(str(cause.get("message")))
                except (TypeError, ValueError):
                    break
    message = str(status.get("message") or status.get("reason") or "unknown failure")
    # The kubelet's errors quote its own exec URL, whose query is the whole command: drop it.
    message = re.sub(r'(https?://[^\s"?]+)\?[^\s"]*', r"\1?...", message)
    raise ExecStatusError(f"the command could not be run: {message}", status)


# -- stdin -----------------------------------------------------------------------------------


def _stdin_chunks(stdin: StdinSource, size: int) -> t.Iterator[bytes | memoryview]:
    """Bounded chunks of stdin; an empty chunk from an iterable means "nothing yet"."""
    if stdin is None:
        return
    if isinstance(stdin, str):
        raise TypeError("stdin must be bytes, a binary file or an iterable of bytes, not str")
    if isinstance(stdin, (bytes, bytearray, memoryview)):
        view = memoryview(stdin).cast("B")
        for start in range(0, len(view), size):
            yield view[start:start + size]
        return
    read = getattr(stdin, "read", None)
    if read is not None:
        while True:
            chunk = read(size)
            if not chunk:
                return
            if isinstance(chunk, str):
                raise TypeError("stdin file must be opened in binary mode")
            yield chunk
    for item in stdin:
        if isinstance(item, str):
            raise TypeError("stdin iterable must yield bytes, not str")
        if not item:
            yield b""
            continue
        view = memoryview(item).cast("B")
        for start in range(0, len(view), size):
            yield view[start:start + size]


# -- the stream ------------------------------------------------------------------------------


def exec_url(endpoint: ApiEndpoint, namespace: str, pod: str, container: str | None, argv: t.Sequence[str], stdin: bool) -> str:
    """The websocket URL of pods/exec for argv."""
    scheme = "wss" if endpoint.scheme == "https" else "ws"
    netloc = urllib.parse.urlsplit(endpoint.host).netloc
    path = (
        f"{endpoint.base_path}/api/v1/namespaces/{urllib.parse.quote(namespace, safe='')}"
        f"/pods/{urllib.parse.quote(pod, safe='')}/exec"
    )
    query = [("command", arg) for arg in argv]
    if container:
        query.append(("container", container))
    query += [("stdin", "true" if stdin else "false"), ("stdout", "true"), ("stderr", "true"), ("tty", "false")]
    return f"{scheme}://{netloc}{path}?{urllib.parse.urlencode(query)}"


def _import_websocket() -> t.Any:
    try:
        import websocket  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise MissingLibraryError("websocket-client", "websocket-client>=1.0", exc) from exc
    return websocket


def _open(
    endpoint: ApiEndpoint,
    url: str,
    protocols: list[str],
    connect_timeout: float,
    where: dict,
) -> tuple[t.Any, str | None]:
    """Do the HTTP upgrade; (raw socket, negotiated subprotocol)."""
    websocket = _import_websocket()
    sslopt: dict[str, t.Any] = {}
    context = endpoint.ssl_context()
    if context is not None:
        sslopt["context"] = context
        sslopt["check_hostname"] = context.check_hostname
        if endpoint.tls_server_name:
            sslopt["server_hostname"] = endpoint.tls_server_name
    headers = []
    auth = endpoint.authorization()
    if auth:
        headers.append(f"Authorization: {auth}")
    options: dict[str, t.Any] = {"header": headers, "subprotocols": protocols, "timeout": connect_timeout, "suppress_origin": True}
    if endpoint.proxy:
        proxy = endpoint.proxy_for()
        if proxy:
            options.update(http_proxy_host=proxy[0], http_proxy_port=proxy[1], proxy_type="http")
    ws = websocket.WebSocket(sslopt=sslopt, skip_utf8_validation=True, enable_multithread=False)
    try:
        ws.connect(url, **options)
    except websocket.WebSocketBadStatusException as exc:
        body = exc.resp_body
        message = explain_api_exception(exc, host=endpoint.host, **where)
        if exc.status_code == 400 and V5_PROTOCOL in protocols and "protocol" in (str(body or "").lower()):
            raise StdinNotSupported(_V4_STDIN_MESSAGE) from exc
        raise K8sApiError(exc.status_code, exc.status_message, body) from exc
    except websocket.WebSocketException as exc:
        if "subprotocol" in str(exc).lower():
            raise StdinNotSupported(_V4_STDIN_MESSAGE) from exc
        raise ExecError(f"the exec stream could not be opened: {exc}") from exc
    except (OSError, ssl.SSLError) as exc:
        raise K8sConnectionError(explain_api_exception(exc, host=endpoint.host, **where)) from exc
    sock, ws.sock = ws.sock, None  # the socket is ours from here on
    return sock, ws.subprotocol


_V4_STDIN_MESSAGE = (
    "the API server does not speak the v5.channel.k8s.io exec protocol (Kubernetes 1.30+), the only "
    "one that can close a command's stdin; commands that read stdin to its end cannot be run "
    "(disable pipelining to avoid sending modules on stdin)"
)


class _Session:
    """The state of one running exec: what is left to send, what came in."""

    def __init__(self, sock: t.Any, protocol: str | None, stdin: StdinSource,
                 on_stdout: OutputFn | None, on_stderr: OutputFn | None, log: LogFn | None) -> None:
        self.sock = sock
        self.protocol = protocol
        self.on_stdout = on_stdout
        self.on_stderr = on_stderr
        self.log = log
        self.stdin_iter = _stdin_chunks(stdin, STDIN_CHUNK) if stdin is not None else None
        self.stdin_frames = _StdinFrames()
        self.stdin_waiting = False  # the stdin producer said "not yet"
        self.pending: collections.deque[bytes] = collections.deque()
        self.current: memoryview | None = None
        self.channel: int | None = None  # channel of the message being received
        self.status = bytearray()
        self.closed = False  # the server closed the stream
        self.bytes_in = {STDOUT: 0, STDERR: 0}
        self.bytes_stdin = 0
        self.decoder = FrameDecoder(self._data, self._control)

    # incoming

    def _data(self, piece: memoryview, message_start: bool) -> None:
        if message_start:
            self.channel = None
        if self.channel is None:
            if not len(piece):
                return
            self.channel = piece[0]
            piece = piece[1:]
            if self.channel == CLOSE and len(piece):
                return  # the server closing one of its streams; the Status still comes on 3
        if not len(piece):
            return
        channel = self.channel
        if channel == STDOUT:
            self.bytes_in[STDOUT] += len(piece)
            if self.on_stdout is not None:
                self.on_stdout(bytes(piece))
        elif channel == STDERR:
            self.bytes_in[STDERR] += len(piece)
            if self.on_stderr is not None:
                self.on_stderr(bytes(piece))
        elif channel == ERROR:
            if len(self.status) + len(piece) > MAX_STATUS_BYTES:
                raise ExecError("the API server sent an oversized exit status")
            self.status += piece
        # other channels (resize, close) carry nothing for us

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_PING:
            self.pending.append(encode_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            self.closed = True

    # outgoing

    def next_frame(self) -> memoryview | None:
        if self.current is not None:
            return self.current
        if self.pending:
            self.current = memoryview(self.pending.popleft())
            return self.current
        if self.stdin_iter is None or self.stdin_waiting:
            return None
        chunk = next(self.stdin_iter, None)
        if chunk is None:
            self.stdin_iter = None
            if self.protocol == V5_PROTOCOL:
                self.current = memoryview(encode_frame(OP_BINARY, bytes([CLOSE, STDIN])))
                if self.log:
                    self.log(f"exec stream: stdin closed after {self.bytes_stdin} bytes")
            return self.current
        if not len(chunk):
            self.stdin_waiting = True
            return None
        self.bytes_stdin += len(chunk)
        self.current = self.stdin_frames.frame(chunk)
        return self.current

    def sent(self, count: int) -> None:
        if self.current is None:
            return
        self.current = self.current[count:] if count < len(self.current) else None


def exec_in_pod(
    client: t.Any,
    namespace: str,
    pod: str,
    container: str | None,
    argv: t.Sequence[str],
    stdin: StdinSource = None,
    on_stdout: OutputFn | None = None,
    on_stderr: OutputFn | None = None,
    timeout: float | None = None,
    *,
    connect_timeout: float = 30.0,
    stdin_eof: bool = True,
    guard_output: bool = True,
    protocols: t.Sequence[str] | None = None,
    log: LogFn | None = None,
) -> int:
    """Run argv in a container of a Pod; return its exit status.

    client: an ApiEndpoint (see _client.get_endpoint) or a kubernetes ApiClient.
    container: None lets the API server choose (it refuses if the Pod has several).
    stdin: None (no input), bytes, a binary file-like object (read in chunks), or an
    iterable of bytes; an empty chunk from the iterable means "nothing to send yet", and it is
    asked again once more output has arrived (for prompt-driven input such as a sudo
    password). After the last chunk stdin is closed (v5). With stdin_eof=False the command
    is trusted to stop reading by itself (``head -c N``): a v4-only server is accepted too,
    and the output guard passes stdin to the command as it is.
    on_stdout/on_stderr: called with each piece of output as it arrives.
    timeout: seconds for the whole command; ExecTimeout after that (the stream is closed).
    guard_output: run argv under a small /bin/sh wrapper (needs /bin/sh and head in the
    container) that keeps the command's output open until we have received all of it. Under
    load, the container runtime can drop the end of a command's output when the command
    exits (kubectl loses it too); the wrapper prints an end marker on stdout and stderr and
    waits for our end of stdin, which we send only once both markers arrived. The markers are
    removed from the output; ExecTruncated if they never come. Falls back to an unguarded run
    on a v4-only server. Pass False for images without a shell.
    protocols: the subprotocols to offer, best first (default: v5 then v4; only v5 when stdin
    needs an end). Meant for tests of the v4 behaviour.

    Raises K8sApiError (the server refused the exec: 401/403/404/400, see
    explain_api_exception), K8sConnectionError (unreachable, TLS), StdinNotSupported,
    ExecStatusError (the command could not be started), ExecTimeout, ExecTruncated, ExecError
    (stream broken or ended without an exit status); exceptions raised by the callbacks or by
    reading stdin propagate after the stream is closed.
    """
    endpoint = client if isinstance(client, ApiEndpoint) else endpoint_from_api_client(client)
    run = _Run(endpoint, namespace, pod, container, timeout, connect_timeout, log)
    if guard_output and (protocols is None or V5_PROTOCOL in protocols):
        marker = ("CG-END-" + os.urandom(12).hex()).encode("ascii")
        out = _MarkerFilter(on_stdout, marker)
        err = _MarkerFilter(on_stderr, marker)

        def markers_seen() -> bool:
            return out.done and err.done

        guarded: t.Iterator[bytes | memoryview]
        if stdin_eof:
            script, guarded = GUARD_SCRIPT, _guarded_stdin(stdin, markers_seen)
        else:
            script, guarded = GUARD_SCRIPT_COUNTED, _counted_guarded_stdin(stdin, markers_seen)
        try:
            status = run.once(["/bin/sh", "-c", script, "sh", marker.decode("ascii"), *argv], guarded,
                              out, err, [V5_PROTOCOL])
        except StdinNotSupported:
            if log:
                log("exec stream: the API server speaks only v4.channel.k8s.io: running without the output guard")
        else:
            if not (out.done and err.done):
                raise ExecTruncated(
                    f"the output of the command in pod {namespace}/{pod} was cut short: its end marker never arrived "
                    f"(exit status {status}). The container runtime drops the end of a command's output under load; "
                    "the command ran, but its result is unknown"
                )
            return status
    needs_v5 = stdin is not None and stdin_eof
    if protocols is None:
        protocols = [V5_PROTOCOL] if needs_v5 else [V5_PROTOCOL, V4_PROTOCOL]
    elif needs_v5:
        if V5_PROTOCOL not in protocols:
            raise StdinNotSupported(_V4_STDIN_MESSAGE)
        protocols = [V5_PROTOCOL]
    return run.once(argv, stdin, on_stdout, on_stderr, list(protocols))


#: The output guard. $1 is the end marker, the rest the command. Our stdin carries the
#: command's input as frames ("<length>\n" + bytes, "0\n" at the end), then ends only once
#: we have seen both markers - so the command's output is complete before this shell exits.
#: If the command stops reading early, head dies of SIGPIPE, the loop stops, and cat drains
#: the rest after the markers.
#: What both guards do once the command has ended: the markers, then wait for our end of stdin.
_GUARD_END = 'rc=$?; printf %s "$m"; printf %s "$m" >&2; cat > /dev/null; exit $rc'
GUARD_SCRIPT = (
    'm=$1; shift; '
    'while IFS= read -r n && [ "$n" -gt 0 ] 2>/dev/null; do head -c "$n" || break; done | "$@"; '
    + _GUARD_END
)

#: The output guard for a command that reads a known number of bytes and stops by itself
#: (stdin_eof=False): it reads our stdin directly, with no framing and no extra process
#: copying every byte, which is what keeps a big put fast.
GUARD_SCRIPT_COUNTED = 'm=$1; shift; "$@"; ' + _GUARD_END


class _MarkerFilter:
    """Passes output on as it comes, minus the end marker.

    Only a tail that could be the start of the marker is held back (until the next piece),
    so live output is not delayed.
    """

    def __init__(self, callback: OutputFn | None, marker: bytes) -> None:
        self.callback = callback
        self.marker = marker
        self.tail = b""
        self.done = False

    def __call__(self, data: bytes) -> None:
        if self.done:
            return  # nothing follows the marker; ignore anything that would
        data = self.tail + data if self.tail else data
        index = data.find(self.marker)
        if index >= 0:
            self.done = True
            self.tail = b""
            if index and self.callback is not None:
                self.callback(data[:index])
            return
        keep = 0
        start = max(0, len(data) - len(self.marker) + 1)
        while True:
            start = data.find(self.marker[:1], start)
            if start < 0:
                break
            if self.marker.startswith(data[start:]):
                keep = len(data) - start
                break
            start += 1
        if keep < len(data) and self.callback is not None:
            self.callback(data[:len(data) - keep])
        self.tail = data[len(data) - keep:] if keep else b""


def _guarded_stdin(stdin: StdinSource, done: t.Callable[[], bool]) -> t.Iterator[bytes]:
    """The frames GUARD_SCRIPT reads: the input, "0\n", then nothing until done()."""
    size: int | None = None
    if isinstance(stdin, (bytes, bytearray, memoryview)):
        size = memoryview(stdin).nbytes
    elif stdin is not None and hasattr(stdin, "read") and hasattr(stdin, "fileno"):
        try:
            source = t.cast(t.BinaryIO, stdin)
            info = os.fstat(source.fileno())
            if stat.S_ISREG(info.st_mode):
                size = info.st_size - source.tell()
        except (OSError, ValueError, io.UnsupportedOperation):
            size = None
    if size is not None:
        # One frame for the whole input: the length is known.
        sent = 0
        first = True
        for chunk in _stdin_chunks(stdin, STDIN_CHUNK):
            piece = bytes(chunk)
            sent += len(piece)
            if sent > size:
                raise ExecError("stdin grew while it was being sent")
            yield (b"%d\n" % size + piece) if first else piece
            first = False
        if sent != size:
            raise ExecError(f"stdin ended after {sent} of {size} bytes")
    elif stdin is not None:
        # Small pieces are gathered into bigger frames (each frame costs the wrapper a head
        # process); "nothing yet" flushes what is gathered, so prompted input is not held.
        pending = bytearray()
        for chunk in _stdin_chunks(stdin, STDIN_CHUNK):
            if len(chunk):
                pending += chunk
                if len(pending) < STDIN_CHUNK:
                    continue
            if pending:
                yield b"%d\n" % len(pending) + bytes(pending)
                pending = bytearray()
            if not len(chunk):
                yield b""
        if pending:
            yield b"%d\n" % len(pending) + bytes(pending)
    yield b"0\n"
    while not done():
        yield b""


def _counted_guarded_stdin(stdin: StdinSource, done: t.Callable[[], bool]) -> t.Iterator[bytes | memoryview]:
    """The stdin GUARD_SCRIPT_COUNTED passes on as it is: the input, then nothing until done()."""
    for chunk in _stdin_chunks(stdin, STDIN_CHUNK):
        if done():
            return  # the command has ended: nothing reads the rest
        yield chunk
    while not done():
        yield b""


class _Run:
    """One exec against one endpoint and Pod (the guarded and the plain run share it)."""

    def __init__(self, endpoint: ApiEndpoint, namespace: str, pod: str, container: str | None,
                 timeout: float | None, connect_timeout: float, log: LogFn | None) -> None:
        self.endpoint = endpoint
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.log = log

    def once(self, argv: t.Sequence[str], stdin: StdinSource, on_stdout: OutputFn | None, on_stderr: OutputFn | None,
             protocols: list[str]) -> int:
        where = {"verb": "create", "resource": "pods/exec", "name": self.pod, "namespace": self.namespace}
        url = exec_url(self.endpoint, self.namespace, self.pod, self.container, argv, stdin is not None)
        started = time.monotonic()
        sock, protocol = _open(self.endpoint, url, protocols, self.connect_timeout, where)
        log = self.log
        if log:
            log(f"exec stream: {protocol or 'no subprotocol'} to pod {self.namespace}/{self.pod} after {time.monotonic() - started:.3f}s")
        session = _Session(sock, protocol, stdin, on_stdout, on_stderr, log)
        try:
            _pump(session, None if self.timeout is None else started + self.timeout, self.endpoint.host)
        finally:
            _close(sock, session)
        if log:
            log(
                f"exec stream: {session.bytes_stdin} bytes stdin, {session.bytes_in[STDOUT]} stdout, "
                f"{session.bytes_in[STDERR]} stderr in {time.monotonic() - started:.3f}s"
            )
        if not session.status:
            raise ExecError(
                f"the exec stream to pod {self.namespace}/{self.pod} ended before the command's exit status arrived "
                "(the connection was cut, or the container stopped); output may be incomplete"
            )
        return parse_exit_status(bytes(session.status))


def _pump(session: _Session, deadline: float | None, host: str) -> None:
    sock = session.sock
    sock.setblocking(False)
    buffer = bytearray(READ_CHUNK)
    view = memoryview(buffer)
    is_ssl = isinstance(sock, ssl.SSLSocket)
    read_wants_write = False
    selector = selectors.DefaultSelector()
    events = selectors.EVENT_READ
    selector.register(sock, events)
    try:
        while not session.closed:
            frame = session.next_frame()
            wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if frame is not None or read_wants_write else 0)
            if wanted != events:
                selector.modify(sock, wanted)
                events = wanted
            wait = None
            if deadline is not None:
                wait = max(0.0, deadline - time.monotonic())
            if is_ssl and sock.pending():
                wait = 0
            ready = 0
            for _key, mask in selector.select(wait):
                ready |= mask
            if not ready and not (is_ssl and sock.pending()):
                if deadline is not None and time.monotonic() >= deadline:
                    raise ExecTimeout("the command did not finish in time; the exec stream was closed")
                continue
            if ready & selectors.EVENT_WRITE and frame is not None:
                try:
                    session.sent(sock.send(frame))
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError, InterruptedError):
                    pass
                except OSError as exc:
                    if session.stdin_iter is None and session.current is None:
                        raise
                    # The command may have exited without reading all its stdin; the
                    # server then closes the stream. Keep reading for the exit status.
                    session.stdin_iter = None
                    session.current = None
                    session.pending.clear()
                    if session.log:
                        session.log(f"exec stream: sending stdin stopped: {exc}")
            read_wants_write = False
            # Drain the socket (and the TLS layer) until it would block. What comes is
            # gathered and decoded in big pieces: a TLS read yields one record at most, often
            # a few kB, and decoding each alone would cost more than the data is worth.
            filled = 0
            while not session.closed:
                try:
                    count = sock.recv_into(view[filled:])
                except (ssl.SSLWantReadError, BlockingIOError, InterruptedError):
                    break
                except ssl.SSLWantWriteError:
                    read_wants_write = True
                    break
                except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
                    session.closed = True
                    break
                if count == 0:
                    session.closed = True
                    break
                filled += count
                session.stdin_waiting = False  # output came: the stdin producer may have more now
                if len(buffer) - filled < _TLS_RECORD:
                    session.decoder.feed(view[:filled])
                    filled = 0
            if filled:
                session.decoder.feed(view[:filled])
    except (OSError, ssl.SSLError) as exc:
        raise ExecError(f"the exec stream broke: {explain_api_exception(exc, host=host)}") from exc
    finally:
        selector.close()


def _close(sock: t.Any, session: _Session) -> None:
    """Say goodbye politely if we can, then close the socket."""
    try:
        sock.setblocking(True)
        sock.settimeout(1.0)
        sock.sendall(encode_frame(OP_CLOSE, (1000).to_bytes(2, "big")))
    except (OSError, ValueError):
        pass
    try:
        sock.close()
    except OSError:
        pass
