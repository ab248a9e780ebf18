# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Run a command in a Pod through the ``pods/exec`` subresource, streaming both ways.

The Kubernetes exec protocol multiplexes the command's streams over one websocket: every
message starts with a channel byte (0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4
resize). ``v5.channel.k8s.io`` (Kubernetes 1.30+) adds a close message (255, channel), which
is how the client says "end of stdin"; ``v4.channel.k8s.io`` has none, so stdin can never
reach end-of-file there.

The websocket is ``websocket``'s; this module speaks the channel protocol over it in one
non-blocking select loop:

* stdin is sent one bounded chunk at a time while output is read, so a command that fills
  its stdout pipe before reading stdin cannot deadlock us, and no input is ever held whole;
* stdout and stderr are handed to callbacks as they arrive;
* the exit status comes from the channel-3 Status; a stream that ends without one is an
  error, never a silent success with missing output.

Why not the kubernetes client's ``stream()``: the connection plugin would pay the library's
import (0.3-1.5 s measured here) on every task, and its WSClient sends stdin with blocking
writes from the thread that also reads the output, so a command that writes a lot before it
reads its input stalls both sides. The lost-frames bug that was our first reason
(kubernetes-client/python#2414) is fixed in the kubernetes 37 we test with.

By default the command runs under the output guard (``output_guard``).
"""

from __future__ import annotations

import json
import re
import selectors
import ssl
import time
import typing as t
import urllib.parse
from dataclasses import dataclass

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.stdin import StdinSource, stdin_chunks
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint, LogFn, pod_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import (
    ExecError,
    ExecStatusError,
    ExecTimeout,
    ExecTruncated,
    K8sApiError,
    StdinNotSupported,
    explain_api_exception,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.output_guard import (
    MarkerFilter,
    OutputFn,
    counted_guarded_stdin,
    guarded_argv,
    guarded_stdin,
    new_marker,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.websocket import WebSocket

STDIN = 0
STDOUT = 1
STDERR = 2
ERROR = 3
RESIZE = 4
CLOSE = 255

V5_PROTOCOL = "v5.channel.k8s.io"
V4_PROTOCOL = "v4.channel.k8s.io"

#: The channel-3 Status is small; more than this is a protocol error.
MAX_STATUS_BYTES = 1024 * 1024

#: websocket opcodes (RFC 6455) of the frames that carry a message.
_OP_CONT, _OP_TEXT, _OP_BINARY = 0x0, 0x1, 0x2

_V4_STDIN_MESSAGE = (
    "the API server does not speak the v5.channel.k8s.io exec protocol (Kubernetes 1.30+), the only "
    "one that can close a command's stdin; commands that read stdin to its end cannot be run "
    "(disable pipelining to avoid sending modules on stdin)"
)


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


def exec_path(namespace: str, pod: str, container: str | None, argv: t.Sequence[str], stdin: bool) -> str:
    """The path and query of pods/exec for argv."""
    query = [("command", arg) for arg in argv]
    if container:
        query.append(("container", container))
    query += [("stdin", "true" if stdin else "false"), ("stdout", "true"), ("stderr", "true"), ("tty", "false")]
    return f"{pod_path(namespace, pod, 'exec')}?{urllib.parse.urlencode(query)}"


class _Session:
    """The state of one running exec: what is left to send, what came in."""

    def __init__(self, protocol: str | None, stdin: StdinSource, on_stdout: OutputFn | None,
                 on_stderr: OutputFn | None, log: LogFn | None) -> None:
        self.protocol = protocol
        self.outputs = {STDOUT: on_stdout, STDERR: on_stderr}
        self.log = log
        self.stdin_iter = stdin_chunks(stdin) if stdin is not None else None
        self.stdin_waiting = False  # the stdin producer said "not yet"
        self.channel: int | None = None  # channel of the message being received
        self.status = bytearray()
        self.bytes_in = {STDOUT: 0, STDERR: 0}
        self.bytes_stdin = 0

    def feed(self, opcode: int, data: bytes | bytearray | memoryview) -> None:
        """One frame from the server; control frames are the websocket layer's business."""
        if opcode in (_OP_BINARY, _OP_TEXT):
            self.channel = None
        elif opcode != _OP_CONT:
            return
        piece = memoryview(data)
        if self.channel is None:
            if not len(piece):
                return
            self.channel = piece[0]
            piece = piece[1:]
        if not len(piece) or self.channel == CLOSE:
            return  # CLOSE: the server closing one of its streams; the Status still comes on 3
        channel = self.channel
        if channel in self.outputs:
            self.bytes_in[channel] += len(piece)
            self.stdin_waiting = False  # output came: the stdin producer may have more now
            callback = self.outputs[channel]
            if callback is not None:
                callback(bytes(piece))
        elif channel == ERROR:
            if len(self.status) + len(piece) > MAX_STATUS_BYTES:
                raise ExecError("the API server sent an oversized exit status")
            self.status += piece
        # other channels (resize) carry nothing for us

    def fill(self, ws: WebSocket) -> None:
        """Queue the next stdin message once the last one is on its way."""
        if ws.wants_write or self.stdin_iter is None or self.stdin_waiting:
            return
        chunk = next(self.stdin_iter, None)
        if chunk is None:
            self.stdin_iter = None
            if self.protocol == V5_PROTOCOL:
                ws.send_binary(bytes([CLOSE, STDIN]))
                if self.log:
                    self.log(f"exec stream: stdin closed after {self.bytes_stdin} bytes")
            return
        if not len(chunk):
            self.stdin_waiting = True
            return
        self.bytes_stdin += len(chunk)
        ws.send_binary(b"\0" + chunk)

    def stop_stdin(self, ws: WebSocket, why: BaseException) -> None:
        # The command may have exited without reading all its stdin; the server then closes
        # the stream. Keep reading for the exit status.
        self.stdin_iter = None
        ws.discard_output()
        if self.log:
            self.log(f"exec stream: sending stdin stopped: {why}")


def _pump(ws: WebSocket, session: _Session, deadline: float | None, host: str, idle: float | None) -> None:
    selector = selectors.DefaultSelector()
    heard = time.monotonic()  # when the server last sent anything
    events = selectors.EVENT_READ
    selector.register(ws.sock, events)
    try:
        while not ws.closed:
            session.fill(ws)
            wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if ws.wants_write else 0)
            if wanted != events:
                selector.modify(ws.sock, wanted)
                events = wanted
            ends = [t for t in (deadline, None if idle is None else heard + idle) if t is not None]
            wait = max(0.0, min(ends) - time.monotonic()) if ends else None
            if ws.pending():
                wait = 0
            ready = 0
            for _key, mask in selector.select(wait):
                ready |= mask
            if not ready and not ws.pending():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    raise ExecTimeout("the command did not finish in time; the exec stream was closed")
                if idle is not None and now >= heard + idle:
                    raise ExecError(f"the exec stream was silent for {idle:g}s (a stalled connection)")
                continue
            if ready & selectors.EVENT_WRITE:
                try:
                    ws.flush()
                except OSError as exc:
                    if session.stdin_iter is None:
                        raise
                    session.stop_stdin(ws, exc)
            for frame in ws.receive():
                heard = time.monotonic()
                session.feed(frame.opcode, frame.data)
    except (OSError, ssl.SSLError) as exc:
        raise ExecError(f"the exec stream broke: {explain_api_exception(exc, host=host)}") from exc
    finally:
        selector.close()


@dataclass(frozen=True)
class _Run:
    """One exec against one endpoint and Pod (the guarded and the plain run share it)."""

    endpoint: ApiEndpoint
    namespace: str
    pod: str
    container: str | None
    timeout: float | None
    connect_timeout: float
    log: LogFn | None
    idle_timeout: float | None = None

    def _open(self, argv: t.Sequence[str], stdin: bool, protocols: list[str]) -> WebSocket:
        where = {"verb": "create", "resource": "pods/exec", "name": self.pod, "namespace": self.namespace}
        path = exec_path(self.namespace, self.pod, self.container, argv, stdin)
        try:
            ws = WebSocket.connect(self.endpoint, path, protocols, self.connect_timeout, where)
        except K8sApiError as exc:
            if exc.status == 400 and V5_PROTOCOL in protocols and "protocol" in (exc.body or "").lower():
                raise StdinNotSupported(_V4_STDIN_MESSAGE) from exc
            raise
        if protocols == [V5_PROTOCOL] and ws.subprotocol != V5_PROTOCOL:
            ws.close()
            raise StdinNotSupported(_V4_STDIN_MESSAGE)
        return ws

    def once(self, argv: t.Sequence[str], stdin: StdinSource, on_stdout: OutputFn | None, on_stderr: OutputFn | None,
             protocols: list[str]) -> int:
        started = time.monotonic()
        ws = self._open(argv, stdin is not None, protocols)
        log = self.log
        if log:
            log(f"exec stream: {ws.subprotocol or 'no subprotocol'} after {time.monotonic() - started:.3f}s")
        session = _Session(ws.subprotocol, stdin, on_stdout, on_stderr, log)
        try:
            _pump(ws, session, None if self.timeout is None else started + self.timeout, self.endpoint.host, self.idle_timeout)
        finally:
            ws.close()
        if log:
            log(
                f"exec stream: {session.bytes_stdin} bytes stdin, {session.bytes_in[STDOUT]} stdout, "
                f"{session.bytes_in[STDERR]} stderr in {time.monotonic() - started:.3f}s"
            )
        if not session.status:
            raise ExecError(
                "the exec stream ended before the command's exit status arrived "
                "(the connection was cut, or the container stopped); output may be incomplete"
            )
        return parse_exit_status(bytes(session.status))


def exec_in_pod(
    endpoint: ApiEndpoint,
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
    idle_timeout: float | None = None,
) -> int:
    """Run argv in a container of a Pod; return its exit status.

    container: None lets the API server choose (it refuses if the Pod has several).
    stdin: None (no input), bytes, a binary file-like object (read in chunks), or an
    iterable of bytes; an empty chunk from the iterable means "nothing to send yet", and it is
    asked again once more output has arrived (for prompt-driven input such as a sudo
    password). After the last chunk stdin is closed (v5). With stdin_eof=False the command
    is trusted to stop reading by itself (``head -c N``): a v4-only server is accepted too,
    and the output guard passes stdin to the command as it is.
    on_stdout/on_stderr: called with each piece of output as it arrives.
    timeout: seconds for the whole command; ExecTimeout after that (the stream is closed).
    idle_timeout: seconds the server may send nothing at all before the stream is taken for
    stalled (ExecError); for commands that write keepalives, such as the job's follower.
    guard_output: run argv under the output guard (see ``output_guard``; needs /bin/sh, head
    and cat in the container). Falls back to an unguarded run on a v4-only server. Pass False
    for images without a shell.
    protocols: the subprotocols to offer, best first (default: v5 then v4; only v5 when stdin
    needs an end). Meant for tests of the v4 behaviour.

    Raises K8sApiError (the server refused the exec: 401/403/404/400, see
    explain_api_exception), K8sConnectionError (unreachable, TLS), StdinNotSupported,
    ExecStatusError (the command could not be started), ExecTimeout, ExecTruncated, ExecError
    (stream broken or ended without an exit status); exceptions raised by the callbacks or by
    reading stdin propagate after the stream is closed.
    """
    run = _Run(endpoint, namespace, pod, container, timeout, connect_timeout, log, idle_timeout)
    if guard_output and (protocols is None or V5_PROTOCOL in protocols):
        marker = new_marker()
        out = MarkerFilter(on_stdout, marker)
        err = MarkerFilter(on_stderr, marker)

        def markers_seen() -> bool:
            return out.done and err.done

        guarded = guarded_stdin(stdin, markers_seen) if stdin_eof else counted_guarded_stdin(stdin, markers_seen)
        try:
            status = run.once(guarded_argv(marker, argv, stdin_eof), guarded, out, err, [V5_PROTOCOL])
        except StdinNotSupported:
            if log:
                log("exec stream: the API server speaks only v4.channel.k8s.io: running without the output guard")
        else:
            if not markers_seen():
                raise ExecTruncated(
                    "the command's output was cut short: its end marker never arrived "
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
