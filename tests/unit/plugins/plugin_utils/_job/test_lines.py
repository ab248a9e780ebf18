# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lines out of chunks: whole, in order, capped, the rest counted."""

from __future__ import annotations

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.lines import LineAssembler


def _all(assembler: LineAssembler, *chunks: bytes) -> list[tuple[bytes, int]]:
    lines = [line for chunk in chunks for line in assembler.feed(chunk)]
    rest = assembler.rest()
    return lines + ([rest] if rest is not None else [])


def test_lines_are_whole_whatever_the_chunks():
    assert _all(LineAssembler(100), b"a", b"b\nc", b"d\n\ne", b"", b"\n") == [(b"ab", 0), (b"cd", 0), (b"", 0), (b"e", 0)]


def test_the_last_line_without_a_newline_comes_at_the_end_and_none_when_there_is_none():
    assert _all(LineAssembler(100), b"x\ny") == [(b"x", 0), (b"y", 0)]
    assert _all(LineAssembler(100), b"x\n") == [(b"x", 0)]


def test_a_line_past_the_cap_keeps_its_start_and_counts_the_rest_across_chunks():
    assert _all(LineAssembler(4), b"abc", b"defg", b"hi\nshort\nlonger-than-4") == [
        (b"abcd", 5), (b"shor", 1), (b"long", 9)]


def test_a_line_of_many_chunks_comes_out_once_whole():
    assembler = LineAssembler(16 << 20)
    chunk = b"x" * (64 << 10)
    assert [line for dummy in range(128) for line in assembler.feed(chunk)] == []
    assert list(assembler.feed(b"\n")) == [(chunk * 128, 0)]
