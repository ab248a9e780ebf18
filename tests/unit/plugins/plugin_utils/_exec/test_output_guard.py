# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The output guard's pieces: the marker filter and the stdin it sends."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec import output_guard as og


@pytest.mark.parametrize("step", [1, 5, 7, 1000])
def test_marker_filter_strips_the_marker_across_chunks(step):
    marker = b"CG-END-0123"
    got = bytearray()
    flt = og.MarkerFilter(got.extend, marker)
    data = b"some output CG-END-01 not yet" + marker
    for start in range(0, len(data), step):
        flt(data[start:start + step])
    assert flt.done and bytes(got) == b"some output CG-END-01 not yet"


def test_marker_filter_holds_back_only_what_may_start_the_marker():
    got = bytearray()
    flt = og.MarkerFilter(got.extend, b"MARK")
    flt(b"abcdef")
    assert not flt.done and bytes(got) == b"abcdef"
    flt(b"xxMA")
    assert bytes(got) == b"abcdefxx"
    flt(b"Y")
    assert bytes(got) == b"abcdefxxMAY"
    flt(b"MMAR")
    assert bytes(got) == b"abcdefxxMAYM"
    flt(b"K")
    assert flt.done and bytes(got) == b"abcdefxxMAYM"


def test_guarded_stdin_frames_known_and_unknown_lengths():
    done = [False]
    frames = og.guarded_stdin(b"x" * 10, lambda: done[0])
    assert next(frames) == b"10\n" + b"x" * 10
    assert next(frames) == b"0\n"
    assert next(frames) == b"" and next(frames) == b""
    done[0] = True
    assert list(frames) == []
    assert list(og.guarded_stdin(iter([b"ab", b"", b"c", b"de"]), lambda: True)) == [b"2\nab", b"", b"3\ncde", b"0\n"]
    big = [os.urandom(40_000) for dummy in range(20)]
    frames = list(og.guarded_stdin(iter(big), lambda: True))
    assert len(frames) < 10 and all(len(f) < 2 * og.STDIN_CHUNK for f in frames)
    assert list(og.guarded_stdin(None, lambda: True)) == [b"0\n"]


def test_counted_guarded_stdin_passes_the_input_as_it_is_and_stops_once_done():
    done = [False]
    frames = og.counted_guarded_stdin(b"x" * 10, lambda: done[0])
    assert bytes(next(frames)) == b"x" * 10
    assert next(frames) == b"" and next(frames) == b""
    done[0] = True
    assert list(frames) == []
    # The command ended early (its markers came): the rest of the input is not sent.
    sent = [bytes(c) for c in og.counted_guarded_stdin(iter([b"ab", b"cd"]), lambda: True)]
    assert sent == []
    assert list(og.counted_guarded_stdin(None, lambda: True)) == []
