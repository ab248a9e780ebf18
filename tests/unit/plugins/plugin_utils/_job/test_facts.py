# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts kept between jobs: the runner's answer read, the files kept whole."""

from __future__ import annotations

import base64
import json
import threading

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.facts import FactsError, keep_facts, written_facts


def test_the_runners_answer_is_file_names_and_contents():
    answer = json.dumps({"s1_web1": base64.b64encode(b'{"a": 1}').decode()}).encode()
    assert written_facts(answer) == {"s1_web1": b'{"a": 1}'}
    assert written_facts(b"") == {}


@pytest.mark.parametrize(("answer", "message"), [
    (b"[1]", "no mapping"),
    (b"{not json", "no JSON"),
    (json.dumps({"../web1": "e30="}).encode(), "'../web1', which is no file name"),
    (json.dumps({"web1": "not base64!"}).encode(), "'web1' is not in base64"),
])
def test_an_answer_that_is_not_a_list_of_plain_files_is_refused(answer, message):
    with pytest.raises(FactsError, match=message):
        written_facts(answer)


def test_jobs_keeping_the_same_hosts_at_once_never_leave_a_torn_file(tmp_path):
    contents = [bytes([65 + writer]) * 200_000 for writer in range(4)]
    torn: list[int] = []
    done = threading.Event()

    def write(content: bytes) -> None:
        for dummy_round in range(30):
            keep_facts(str(tmp_path), {"s1_web1": content})

    def read() -> None:
        while not done.is_set():
            try:
                data = (tmp_path / "s1_web1").read_bytes()
            except FileNotFoundError:
                continue
            if data not in contents:
                torn.append(len(data))

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(content,)) for content in contents]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    assert not torn, "a reader saw a file half written"
    assert (tmp_path / "s1_web1").read_bytes() in contents and len(list(tmp_path.iterdir())) == 1
