# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stdin sources cut into bounded chunks."""

from __future__ import annotations

import io
import os

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.stdin import known_size, stdin_chunks


def test_stdin_sources_are_chunked():
    data = os.urandom(10_000)
    assert b"".join(bytes(c) for c in stdin_chunks(data, 4096)) == data
    assert [len(c) for c in stdin_chunks(data, 4096)] == [4096, 4096, 1808]
    assert b"".join(bytes(c) for c in stdin_chunks(io.BytesIO(data), 3000)) == data
    chunks = list(stdin_chunks(iter([b"ab", b"", b"cdef"]), 3))
    assert [bytes(c) for c in chunks] == [b"ab", b"", b"cde", b"f"]
    assert list(stdin_chunks(b"", 10)) == []


@pytest.mark.parametrize("bad", ["text", io.StringIO("text"), iter(["text"])])
def test_text_stdin_is_refused(bad):
    with pytest.raises(TypeError):
        list(stdin_chunks(bad, 10))


def test_known_size_of_bytes_and_regular_files(tmp_path):
    assert known_size(b"abc") == 3
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    with open(path, "rb") as handle:
        handle.read(4)
        assert known_size(handle) == 6
    assert known_size(iter([b"a"])) is None and known_size(None) is None
