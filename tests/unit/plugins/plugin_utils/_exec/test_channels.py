# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exec channel protocol: exit status, the exec path, and whole sessions (plain and under
the output guard) against a small websocket server on localhost playing the API server."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import socket
import threading
import time
import typing as t
import urllib.parse

import pytest
from websockets.utils import apply_mask

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec import channels as es
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.stdin import STDIN_CHUNK
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sApiError, K8sConnectionError, explain_api_exception
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.output_guard import GUARD_SCRIPT, GUARD_SCRIPT_COUNTED

OP_CONT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x2, 0x8, 0x9, 0xA

# -- frames --------------------------------------------------------------------------------


def server_frame(opcode: int, payload: bytes, fin: bool = True, mask: bytes | None = None, rsv: int = 0) -> bytes:
    """A frame as a server would send it (unmasked unless mask is given)."""
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    size = len(payload)
    flag = 0x80 if mask else 0
    if size < 126:
        head += bytes([flag | size])
    elif size < 1 << 16:
        head += bytes([flag | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([flag | 127]) + size.to_bytes(8, "big")
    if mask:
        return head + mask + apply_mask(payload, mask)
    return head + payload


# -- exit status ---------------------------------------------------------------------------


def status(code: int | None = None, **fields: t.Any) -> bytes:
    if code == 0:
        return json.dumps({"metadata": {}, "status": "Success"}).encode()
    if code is not None:
        return json.dumps(
            {
                "metadata": {},
                "status": "Failure",
                "message": f"command terminated with non-zero exit code: error executing command [sh -c exit {code}], exit code {code}",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
            }
        ).encode()
    return json.dumps({"metadata": {}, "status": "Failure", **fields}).encode()


@pytest.mark.parametrize("code", [0, 1, 2, 127, 255])
def test_exit_status_is_read_from_the_status(code):
    assert es.parse_exit_status(status(code)) == code


def test_a_command_that_could_not_start_is_an_error_with_the_servers_words():
    data = status(message='exec: "nope": executable file not found in $PATH', reason="InternalError")
    with pytest.raises(es.ExecStatusError, match="executable file not found") as info:
        es.parse_exit_status(data)
    assert info.value.status["reason"] == "InternalError"


def test_the_kubelets_exec_url_is_not_repeated_in_errors():
    data = status(message='error sending request: Post "https://10.0.0.1:10250/exec/ns/p/c?command=%2Fbin%2Fsh&command=x": '
                          "dial tcp 10.0.0.1:10250: connect: connection refused", reason="InternalError")
    with pytest.raises(es.ExecStatusError) as info:
        es.parse_exit_status(data)
    assert str(info.value) == (
        'the command could not be run: error sending request: Post "https://10.0.0.1:10250/exec/ns/p/c?...": '
        "dial tcp 10.0.0.1:10250: connect: connection refused"
    )


@pytest.mark.parametrize("data", [b"not json", b"[1]"])
def test_garbage_status_is_an_error(data):
    with pytest.raises(es.ExecError):
        es.parse_exit_status(data)


def test_exec_path_carries_the_command_and_streams():
    path = es.exec_path("ns", "pod-1", "worker", ["/bin/sh", "-c", "echo a&b"], True)
    assert path.startswith("/api/v1/namespaces/ns/pods/pod-1/exec?")
    assert "command=%2Fbin%2Fsh&command=-c&command=echo+a%26b" in path
    assert "container=worker" in path and "stdin=true" in path and "tty=false" in path
    path = es.exec_path("ns", "p", None, ["true"], False)
    assert "container" not in path and "stdin=false" in path


# -- whole sessions against a fake API server -----------------------------------------------


class FakeServer:
    """One-connection websocket server; `script(conn)` plays the API server's part."""

    def __init__(self, script: t.Callable[[FakeConn], None], protocols: t.Sequence[str] = (es.V5_PROTOCOL, es.V4_PROTOCOL),
                 http_error: tuple[int, dict] | None = None, connections: int = 1) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.script = script
        self.protocols = protocols
        self.http_error = http_error
        self.request_line = ""
        self.headers: dict[str, str] = {}
        self.error: BaseException | None = None
        self.connections = connections
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> ApiEndpoint:
        return ApiEndpoint(f"http://127.0.0.1:{self.port}", token="s3cret-token")

    def _serve(self) -> None:
        for dummy_index in range(self.connections):
            self._run()

    def _run(self) -> None:
        self.headers = {}
        try:
            sock, dummy_addr = self.listener.accept()
            with sock:
                conn = FakeConn(sock)
                head = conn.read_until(b"\r\n\r\n").decode()
                lines = head.split("\r\n")
                self.request_line = lines[0]
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        self.headers[key.strip().lower()] = value.strip()
                if self.http_error:
                    code, body = self.http_error
                    data = json.dumps(body).encode()
                    sock.sendall(f"HTTP/1.1 {code} Err\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
                    return
                offered = [p.strip() for p in self.headers.get("sec-websocket-protocol", "").split(",")]
                chosen = next((p for p in self.protocols if p in offered), None)
                if chosen is None:
                    data = b'{"kind":"Status","message":"requested protocol(s) are not supported"}'
                    sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n" % len(data) + data)
                    return
                accept = base64.b64encode(
                    hashlib.sha1((self.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
                ).decode()
                sock.sendall(
                    (
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {chosen}\r\n\r\n"
                    ).encode()
                )
                conn.protocol = chosen
                conn.request_line = self.request_line
                self.script(conn)
        except BaseException as exc:  # surfaced by join()
            self.error = exc

    def join(self) -> None:
        self.thread.join(30)
        self.listener.close()
        if self.error:
            raise self.error


class FakeConn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.protocol = ""
        self.request_line = ""

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.buffer += data
        index = self.buffer.index(marker) + len(marker)
        head, self.buffer = bytes(self.buffer[:index]), self.buffer[index:]
        return head

    def _read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError
            self.buffer += data
        head, self.buffer = bytes(self.buffer[:size]), self.buffer[size:]
        return head

    def read_frame(self) -> tuple[int, bytes]:
        first, second = self._read_exact(2)
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(self._read_exact(2), "big")
        elif size == 127:
            size = int.from_bytes(self._read_exact(8), "big")
        assert second & 0x80, "client frames must be masked"
        key = self._read_exact(4)
        return first & 0x0F, apply_mask(self._read_exact(size), key)

    def read_stdin(self) -> t.Iterator[bytes]:
        """Payloads of stdin messages until the v5 close of stdin (or the close frame)."""
        while True:
            opcode, payload = self.read_frame()
            if opcode == OP_CLOSE:
                return
            if payload[:1] == b"\0":
                yield payload[1:]
            elif payload == bytes([es.CLOSE, es.STDIN]):
                return

    def send(self, channel: int, data: bytes, fragment: int = 0) -> None:
        message = bytes([channel]) + data
        if not fragment:
            self.sock.sendall(server_frame(OP_BINARY, message))
            return
        pieces = [message[i:i + fragment] for i in range(0, len(message), fragment)]
        for index, piece in enumerate(pieces):
            opcode = OP_BINARY if index == 0 else OP_CONT
            self.sock.sendall(server_frame(opcode, piece, fin=index == len(pieces) - 1))

    def finish(self, code: int) -> None:
        self.send(es.ERROR, status(code))
        self.sock.sendall(server_frame(OP_CLOSE, (1000).to_bytes(2, "big")))


def run(server: FakeServer, **kwargs: t.Any) -> tuple[int, bytes, bytes]:
    out, err = bytearray(), bytearray()
    kwargs.setdefault("timeout", 30)
    kwargs.setdefault("guard_output", False)
    try:
        rc = es.exec_in_pod(server.endpoint, "ns", "pod", kwargs.pop("container", None), ["cmd"], kwargs.pop("stdin", None),
                            out.extend, err.extend, **kwargs)
    finally:
        server.join()
    return rc, bytes(out), bytes(err)


def test_output_channels_are_kept_apart_and_the_exit_code_returned():
    def script(conn: FakeConn) -> None:
        conn.send(es.STDOUT, b"")  # the empty frames the server opens with
        conn.send(es.STDERR, b"")
        conn.send(es.STDOUT, b"out-1 ")
        conn.send(es.STDERR, b"err-1")
        conn.sock.sendall(server_frame(OP_PING, b"p"))
        assert conn.read_frame() == (OP_PONG, b"p")
        conn.send(es.STDOUT, b"out-2", fragment=2)
        conn.finish(3)

    server = FakeServer(script)
    assert run(server) == (3, b"out-1 out-2", b"err-1")
    assert "stdin=false" in server.request_line
    assert server.headers["authorization"] == "Bearer s3cret-token"


def test_a_server_that_breaks_the_websocket_protocol_is_an_error():
    def script(conn: FakeConn) -> None:
        conn.sock.sendall(server_frame(OP_BINARY, b"\x01x", rsv=0x40))  # an extension nobody agreed on
        try:
            conn.read_frame()  # the client's close frame, if it gets that far
        except EOFError:
            pass

    with pytest.raises(es.ExecError, match="broke the websocket protocol"):
        run(FakeServer(script))


def test_stdin_is_delivered_in_chunks_and_closed():
    data = os.urandom(3 * STDIN_CHUNK + 5)

    def script(conn: FakeConn) -> None:
        assert conn.protocol == es.V5_PROTOCOL
        received = b"".join(conn.read_stdin())
        conn.send(es.STDOUT, hashlib.sha256(received).hexdigest().encode())
        conn.finish(0)

    server = FakeServer(script)
    rc, out, dummy_err = run(server, stdin=io.BytesIO(data))
    assert (rc, out) == (0, hashlib.sha256(data).hexdigest().encode())
    assert "stdin=true" in server.request_line
    assert server.headers["sec-websocket-protocol"] == es.V5_PROTOCOL


def test_no_deadlock_when_the_command_writes_a_lot_before_reading_stdin():
    size = 8 * 1024 * 1024
    data = os.urandom(size)
    blob = os.urandom(size)

    def script(conn: FakeConn) -> None:
        # Write all output first (more than any socket buffer), only then read stdin.
        for start in range(0, size, 32768):
            conn.send(es.STDOUT, blob[start:start + 32768])
        received = b"".join(conn.read_stdin())
        conn.send(es.STDERR, hashlib.sha256(received).hexdigest().encode())
        conn.finish(0)

    rc, out, err = run(FakeServer(script), stdin=data)
    assert rc == 0 and out == blob
    assert err == hashlib.sha256(data).hexdigest().encode()


def test_output_arrives_live_through_the_callbacks():
    seen: list[tuple[float, bytes]] = []

    def script(conn: FakeConn) -> None:
        conn.send(es.STDOUT, b"first")
        time.sleep(0.5)
        conn.send(es.STDOUT, b"second")
        conn.finish(0)

    server = FakeServer(script)
    started = time.monotonic()
    es.exec_in_pod(server.endpoint, "ns", "pod", None, ["cmd"], on_stdout=lambda d: seen.append((time.monotonic() - started, d)),
                   guard_output=False)
    server.join()
    assert [data for dummy_time, data in seen] == [b"first", b"second"]
    assert seen[0][0] < seen[1][0] - 0.3


def test_prompt_driven_stdin_waits_for_output():
    sent: list[bytes] = []

    def script(conn: FakeConn) -> None:
        conn.send(es.STDERR, b"password:")
        frames = list(conn.read_stdin())
        sent.extend(frames)
        conn.finish(0)

    stderr = bytearray()

    def answer() -> t.Iterator[bytes]:
        while b"password:" not in stderr:
            yield b""
        yield b"hunter2\n"
        yield b"payload"

    server = FakeServer(script)
    assert es.exec_in_pod(server.endpoint, "ns", "pod", None, ["cmd"], answer(), on_stderr=stderr.extend, guard_output=False) == 0
    server.join()
    assert b"".join(sent) == b"hunter2\npayload"


def test_a_stream_that_ends_without_status_is_an_error():
    def script(conn: FakeConn) -> None:
        conn.send(es.STDOUT, b"partial")
        conn.sock.shutdown(socket.SHUT_RDWR)

    with pytest.raises(es.ExecError, match="ended before the command's exit status"):
        run(FakeServer(script))


def test_v4_server_refuses_stdin_that_needs_an_end_before_anything_runs():
    ran = []
    server = FakeServer(lambda conn: ran.append(1), protocols=[es.V4_PROTOCOL])
    with pytest.raises(es.StdinNotSupported, match="v5.channel.k8s.io"):
        run(server, stdin=b"data")
    assert not ran


def test_v4_server_accepts_counted_stdin_and_commands_without_stdin():
    def script(conn: FakeConn) -> None:
        assert conn.protocol == es.V4_PROTOCOL
        received = b""
        while len(received) < 10:
            dummy_opcode, payload = conn.read_frame()
            received += payload[1:]
        conn.send(es.STDOUT, received)
        conn.finish(0)

    assert run(FakeServer(script, protocols=[es.V4_PROTOCOL]), stdin=b"0123456789", stdin_eof=False)[:2] == (0, b"0123456789")


@pytest.mark.parametrize(
    "code, body, expected",
    [
        (403, {"kind": "Status", "message": 'pods "pod" is forbidden: User "x" cannot create resource "pods/exec"'},
         "may not create pods/exec in namespace \"ns\""),
        (401, {"kind": "Status", "message": "Unauthorized"}, "bearer token is wrong, expired or revoked"),
        (404, {"kind": "Status", "message": 'pods "pod" not found'}, 'pod "pod" not found in namespace "ns"'),
    ],
)
def test_refused_exec_raises_the_api_status(code, body, expected):
    with pytest.raises(K8sApiError) as info:
        run(FakeServer(lambda conn: None, http_error=(code, body)))
    assert info.value.status == code
    message = explain_api_exception(info.value, verb="create", resource="pods/exec", name="pod", namespace="ns")
    assert expected in message
    assert "s3cret" not in message


def test_unreachable_server_is_a_connection_error(closed_port):
    with pytest.raises(K8sConnectionError, match="connection refused"):
        es.exec_in_pod(ApiEndpoint(f"http://127.0.0.1:{closed_port}"), "ns", "pod", None, ["true"], guard_output=False)


def test_timeout_closes_the_stream():
    def script(conn: FakeConn) -> None:
        try:
            conn.read_frame()
        except (EOFError, OSError):
            pass

    server = FakeServer(script)
    started = time.monotonic()
    with pytest.raises(es.ExecTimeout):
        es.exec_in_pod(server.endpoint, "ns", "pod", None, ["sleep"], timeout=0.5, guard_output=False)
    server.join()
    assert time.monotonic() - started < 5


def test_a_stalled_stream_is_an_error_once_the_idle_timeout_passes():
    def script(conn: FakeConn) -> None:
        conn.send(es.STDOUT, b"alive")
        time.sleep(0.3)
        conn.send(es.STDERR, b"\n")  # a keepalive: the stream is still there
        try:
            conn.read_frame()  # then nothing more, the connection open: a stalled stream
        except (EOFError, OSError):
            pass

    server = FakeServer(script)
    out = bytearray()
    started = time.monotonic()
    with pytest.raises(es.ExecError, match=r"silent for 0.5s \(a stalled connection\)"):
        es.exec_in_pod(server.endpoint, "ns", "pod", None, ["follow"], on_stdout=out.extend, guard_output=False,
                       idle_timeout=0.5)
    server.join()
    assert out == b"alive" and 0.8 < time.monotonic() - started < 5


def test_callback_errors_propagate():
    def script(conn: FakeConn) -> None:
        conn.send(es.STDOUT, b"x")
        try:
            conn.read_frame()
        except (EOFError, OSError):
            pass

    def boom(_data: bytes) -> None:
        raise RuntimeError("disk full")

    server = FakeServer(script)
    with pytest.raises(RuntimeError, match="disk full"):
        es.exec_in_pod(server.endpoint, "ns", "pod", None, ["cmd"], on_stdout=boom, guard_output=False)
    server.join()


# -- the output guard ----------------------------------------------------------------------------
def _read_framed_input(conn: FakeConn) -> bytes:
    """What GUARD_SCRIPT's loop hands the command: frames "<n>\\n" + bytes until "0\\n"."""
    stream = bytearray()
    data = bytearray()
    while True:
        dummy_opcode, payload = conn.read_frame()
        assert payload[:1] == b"\0"
        stream += payload[1:]
        while True:
            newline = stream.find(b"\n")
            if newline < 0:
                break
            size = int(stream[:newline])
            if size == 0:
                assert len(stream) == newline + 1
                return bytes(data)
            if len(stream) < newline + 1 + size:
                break
            data += stream[newline + 1:newline + 1 + size]
            del stream[:newline + 1 + size]


def _guard_script(truncate: bool) -> t.Callable[[FakeConn], None]:
    """Plays GUARD_SCRIPT around `cat`: input in, output out, markers, wait for our EOF."""

    def script(conn: FakeConn) -> None:
        query = conn.request_line.split(" ")[1].split("?", 1)[1]
        argv = [v for k, v in urllib.parse.parse_qsl(query) if k == "command"]
        assert argv[:3] == ["/bin/sh", "-c", GUARD_SCRIPT] and argv[5:] == ["cat"]
        marker = argv[4].encode()
        data = _read_framed_input(conn)
        conn.send(es.STDOUT, data, fragment=70_000)
        if truncate:
            conn.finish(0)
            return
        conn.send(es.STDOUT, marker[:5])
        conn.send(es.STDOUT, marker[5:])
        conn.send(es.STDERR, b"warn" + marker)
        assert list(conn.read_stdin()) == []  # only the end of stdin, once both markers arrived
        conn.finish(0)

    return script


def test_guarded_run_strips_markers_and_waits_for_them():
    data = os.urandom(300_000)
    server = FakeServer(_guard_script(truncate=False))
    out, err = bytearray(), bytearray()
    rc = es.exec_in_pod(server.endpoint, "ns", "pod", None, ["cat"], data, out.extend, err.extend, timeout=30)
    server.join()
    assert (rc, bytes(out), bytes(err)) == (0, data, b"warn")


def test_guarded_run_reports_truncated_output():
    server = FakeServer(_guard_script(truncate=True))
    with pytest.raises(es.ExecTruncated, match="cut short"):
        es.exec_in_pod(server.endpoint, "ns", "pod", None, ["cat"], b"abc", timeout=30)
    server.join()


@pytest.mark.parametrize("read", [300_000, 1000])
def test_counted_guarded_run_hands_stdin_over_unframed(read):
    """stdin_eof=False: the command (here `head -c N` reading all or part of it) gets our
    bytes as they are; stdin ends once both markers arrived, and no sooner."""
    data = os.urandom(300_000)

    def script(conn: FakeConn) -> None:
        query = conn.request_line.split(" ")[1].split("?", 1)[1]
        argv = [v for k, v in urllib.parse.parse_qsl(query) if k == "command"]
        assert argv[:3] == ["/bin/sh", "-c", GUARD_SCRIPT_COUNTED] and argv[5:] == ["head", "-c", str(read)]
        marker = argv[4].encode()
        received = bytearray()
        while len(received) < read:
            opcode, payload = conn.read_frame()
            assert opcode == OP_BINARY and payload[:1] == b"\0"
            received += payload[1:]
        conn.send(es.STDOUT, bytes(received[:read]) + marker)
        conn.send(es.STDERR, marker)
        tail = b"".join(conn.read_stdin())  # what `cat > /dev/null` drains, then the end of stdin
        assert len(received) + len(tail) <= len(data)
        conn.finish(0)

    server = FakeServer(script)
    out = bytearray()
    rc = es.exec_in_pod(server.endpoint, "ns", "pod", None, ["head", "-c", str(read)], data, out.extend,
                        timeout=30, stdin_eof=False)
    server.join()
    assert (rc, bytes(out)) == (0, data[:read])


def test_guarded_run_falls_back_to_a_plain_run_on_a_v4_server():
    def script(conn: FakeConn) -> None:
        assert "%2Fbin%2Fsh" not in conn.request_line
        conn.send(es.STDOUT, b"plain")
        conn.finish(0)

    server = FakeServer(script, protocols=[es.V4_PROTOCOL], connections=2)
    out = bytearray()
    assert es.exec_in_pod(server.endpoint, "ns", "pod", None, ["echo"], on_stdout=out.extend, timeout=30) == 0
    server.join()
    assert bytes(out) == b"plain"
