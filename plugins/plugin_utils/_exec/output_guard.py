# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The output guard: no exec result passes with the end of its output missing.

Reading every byte of the stream is not enough: under load the container runtime
(containerd 1.6 here; kubectl is hit the same way) can drop the end of a command's output
when the command exits, and still report its exit status. So the command runs under a
small shell wrapper that prints an end marker on stdout and on stderr after the command and
then waits for our end of stdin, which we send only once both markers have arrived. The
output is complete before anything exits, and a missing marker is reported
(ExecTruncated) instead of passing silently. The wrapper needs /bin/sh, head and cat.
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.stdin import (
    STDIN_CHUNK,
    StdinSource,
    known_size,
    stdin_chunks,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import ExecError

OutputFn = t.Callable[[bytes], None]

#: What both guards do once the command has ended: the markers, then wait for our end of stdin.
_GUARD_END = 'rc=$?; printf %s "$m"; printf %s "$m" >&2; cat > /dev/null; exit $rc'

#: The guard for a command that reads its stdin to the end. $1 is the end marker, the rest
#: the command. Our stdin carries the command's input as frames ("<length>\n" + bytes, "0\n"
#: at the end), then ends only once we have seen both markers. If the command stops reading
#: early, head dies of SIGPIPE, the loop stops, and cat drains the rest after the markers.
GUARD_SCRIPT = (
    'm=$1; shift; '
    'while IFS= read -r n && [ "$n" -gt 0 ] 2>/dev/null; do head -c "$n" || break; done | "$@"; '
    + _GUARD_END
)

#: The guard for a command that reads a known number of bytes and stops by itself
#: (stdin_eof=False): it reads our stdin directly, with no framing and no extra process
#: copying every byte, which is what keeps a big put fast.
GUARD_SCRIPT_COUNTED = 'm=$1; shift; "$@"; ' + _GUARD_END


def new_marker() -> bytes:
    """An end marker no output will contain by chance."""
    return ("CG-END-" + os.urandom(12).hex()).encode("ascii")


def guarded_argv(marker: bytes, argv: t.Sequence[str], stdin_eof: bool) -> list[str]:
    """argv under the guard that fits its stdin."""
    script = GUARD_SCRIPT if stdin_eof else GUARD_SCRIPT_COUNTED
    return ["/bin/sh", "-c", script, "sh", marker.decode("ascii"), *argv]


class MarkerFilter:
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


def guarded_stdin(stdin: StdinSource, done: t.Callable[[], bool]) -> t.Iterator[bytes]:
    """The frames GUARD_SCRIPT reads: the input, "0\\n", then nothing until done()."""
    size = known_size(stdin)
    if size is not None:
        # One frame for the whole input: the length is known.
        sent = 0
        first = True
        for chunk in stdin_chunks(stdin):
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
        for chunk in stdin_chunks(stdin):
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


def counted_guarded_stdin(stdin: StdinSource, done: t.Callable[[], bool]) -> t.Iterator[bytes | memoryview]:
    """The stdin GUARD_SCRIPT_COUNTED passes on as it is: the input, then nothing until done()."""
    for chunk in stdin_chunks(stdin):
        if done():
            return  # the command has ended: nothing reads the rest
        yield chunk
    while not done():
        yield b""
