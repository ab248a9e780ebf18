# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""What an exec's stdin may be, cut into bounded chunks so no input is ever held whole."""

from __future__ import annotations

import io
import os
import stat
import typing as t

#: Bytes of stdin per websocket message.
STDIN_CHUNK = 256 * 1024

StdinSource = t.Union[bytes, bytearray, memoryview, t.BinaryIO, t.Iterable[t.Union[bytes, memoryview]], None]


def stdin_chunks(stdin: StdinSource, size: int = STDIN_CHUNK) -> t.Iterator[bytes | memoryview]:
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


def known_size(stdin: StdinSource) -> int | None:
    """How many bytes stdin holds, when that is known before it is read (bytes, regular files)."""
    if isinstance(stdin, (bytes, bytearray, memoryview)):
        return memoryview(stdin).nbytes
    if stdin is not None and hasattr(stdin, "read") and hasattr(stdin, "fileno"):
        try:
            source = t.cast(t.BinaryIO, stdin)
            info = os.fstat(source.fileno())
            if stat.S_ISREG(info.st_mode):
                return info.st_size - source.tell()
        except (OSError, ValueError, io.UnsupportedOperation):
            return None
    return None
