# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Lines out of a stream of chunks, in time linear in their length, each one capped.

A line that arrives in many chunks is kept as a list of pieces and joined once, at its
newline: joining the partial line to every new chunk and splitting again costs the square of
the line's length (16 MiB in 64 KiB chunks took 11 s that way). Beyond ``cap`` bytes a line's
rest is counted, not kept, and the caller says how much was left out.
"""

from __future__ import annotations

import typing as t

#: The longest line of the target's output shown whole (a `slurp` at -v, a large result).
MAX_LINE_BYTES = 1 << 20


class LineAssembler:
    """Feed chunks; get back each whole line as (its first cap bytes, the bytes left out)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._pieces: list[bytes] = []
        self._kept = 0
        self._dropped = 0

    def feed(self, data: bytes) -> t.Iterator[tuple[bytes, int]]:
        """The lines this chunk ends (those it holds whole among them)."""
        if b"\n" not in data:
            self._add(data)
            return
        first, *middle, last = data.split(b"\n")
        self._add(first)
        yield self._take()
        for raw in middle:
            self._add(raw)
            yield self._take()
        self._add(last)

    def rest(self) -> tuple[bytes, int] | None:
        """The last line when it has no newline, once the stream has ended; None if there is none."""
        return self._take() if self._pieces or self._dropped else None

    def _add(self, piece: bytes) -> None:
        room = self.cap - self._kept
        if room < len(piece):
            self._dropped += len(piece) - max(room, 0)
            piece = piece[:max(room, 0)]
        if piece:
            self._pieces.append(piece)
            self._kept += len(piece)

    def _take(self) -> tuple[bytes, int]:
        line, dropped = b"".join(self._pieces), self._dropped
        self._pieces, self._kept, self._dropped = [], 0, 0
        return line, dropped
