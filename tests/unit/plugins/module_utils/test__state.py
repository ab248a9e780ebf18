# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import fcntl
import hashlib
import multiprocessing
import os
import stat

import pytest
import yaml

from ansible_collections.ephemeral.container_groups.plugins.module_utils import _state
from ansible_collections.ephemeral.container_groups.plugins.module_utils._state import (
    DEFAULT_STATE_FILE,
    ENV_STATE_FILE,
    STATE_VERSION,
    StateError,
    StateStore,
    dump_state,
    empty_state,
    resolve_state_path,
    secret_values,
)

TOKEN = "tok-0123456789abcdef"
REGISTRY_PASSWORD = "registry-pass-0123"


def sample_state() -> dict:
    return {
        "version": 1,
        "credentials": {
            "prod": {
                "host": "https://k8s.example:6443",
                "bearer_token": TOKEN,
                "verify_ssl": True,
                "ssl_ca_cert": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            },
        },
        "registry_credentials": {
            "quay": {"host": "quay.example", "username": "robot", "password": REGISTRY_PASSWORD},
        },
        "container_groups": {
            "builds": {"credential": "prod", "pod_spec_override": {}, "max_concurrent_jobs": 0, "max_forks": 0},
            "local": {"credential": None, "pod_spec_override": {}, "max_concurrent_jobs": 0, "max_forks": 0},
            "private": {"credential": "prod", "pod_spec_override": {}, "max_concurrent_jobs": 0, "max_forks": 0,
                        "image_pull_credential": "quay"},
        },
    }


def write_file(path, text: str | bytes, mode: int = 0o600) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(data)
    path.chmod(mode)
    return data


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "cg" / "state.yml"


# -- resolve_state_path --------------------------------------------------------------------


def test_resolve_option_wins(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_STATE_FILE, "/from/env.yml")
    assert resolve_state_path(str(tmp_path / "x.yml")) == str(tmp_path / "x.yml")


def test_resolve_env_then_default(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(ENV_STATE_FILE, "~/env.yml")
    assert resolve_state_path(None) == str(tmp_path / "env.yml")
    monkeypatch.delenv(ENV_STATE_FILE)
    assert resolve_state_path(None) == os.path.join(str(tmp_path), DEFAULT_STATE_FILE[2:])
    assert resolve_state_path("") == os.path.join(str(tmp_path), DEFAULT_STATE_FILE[2:])


def test_resolve_relative_becomes_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert resolve_state_path("rel/state.yml") == str(tmp_path / "rel" / "state.yml")


# -- reading -------------------------------------------------------------------------------


def test_missing_file_is_empty_state_and_creates_nothing(store_path):
    assert StateStore(str(store_path)).read() == {"version": STATE_VERSION, "credentials": {}, "registry_credentials": {},
                                                  "container_groups": {}}
    assert not store_path.parent.exists()


def test_empty_state_is_fresh():
    first = empty_state()
    first["credentials"]["x"] = {}
    assert empty_state()["credentials"] == {}


def test_read_back_what_was_written(store_path):
    store = StateStore(str(store_path))
    store.update(lambda s: s.update(sample_state()))
    assert store.read() == sample_state()


def test_missing_sections_read_as_empty(tmp_path):
    path = tmp_path / "s.yml"
    write_file(path, "version: 1\n")
    assert StateStore(str(path)).read() == empty_state()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602, 0o610])
def test_file_open_to_others_is_refused_and_untouched(tmp_path, mode):
    path = tmp_path / "s.yml"
    data = write_file(path, dump_state(sample_state()), mode)
    store = StateStore(str(path))
    with pytest.raises(StateError) as exc:
        store.read()
    assert str(path) in str(exc.value) and f"{mode:04o}" in str(exc.value) and "chmod 600" in str(exc.value)
    with pytest.raises(StateError):
        store.update(lambda s: s["container_groups"].pop("builds"))
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == mode


BAD_FILES = [
    pytest.param("version: 1\ncredentials: {prod: [\n", "not valid YAML", id="unparsable"),
    pytest.param("", "is empty", id="empty"),
    pytest.param("# only a comment\n", "is empty", id="comment-only"),
    pytest.param("- version: 1\n", "holds a list", id="list"),
    pytest.param("just text\n", "holds a string", id="scalar"),
    pytest.param("credentials: {}\n", "has version None", id="no-version"),
    pytest.param("version: 2\n", "has version 2", id="newer-version"),
    pytest.param("version: '1'\n", "has version '1'", id="version-string"),
    pytest.param("version: true\n", "has version True", id="version-bool"),
    pytest.param("version: 1\ncredentials: [a]\n", "'credentials' is a list", id="credentials-list"),
    pytest.param("version: 1\ncontainer_groups: {g: 3}\n", "container_groups.g is an integer", id="record-scalar"),
    pytest.param("version: 1\ncontainer_groups: {1: {}}\n", "is not a string", id="record-key-int"),
    pytest.param(b"version: 1\n\xff\xfe\n", "is not valid YAML", id="not-utf8"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_bad_file_is_refused_and_left_byte_for_byte(tmp_path, content, message):
    path = tmp_path / "s.yml"
    data = write_file(path, content)
    before = path.stat()
    store = StateStore(str(path))
    with pytest.raises(StateError) as read_exc:
        store.read()
    with pytest.raises(StateError) as update_exc:
        store.update(lambda s: s["container_groups"].update(new={}))
    for exc in (read_exc, update_exc):
        assert str(path) in str(exc.value)
        assert message in str(exc.value)
    assert path.read_bytes() == data
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_directory_as_state_file_is_refused(tmp_path):
    (tmp_path / "dir.yml").mkdir(mode=0o700)
    with pytest.raises(StateError, match="not a regular file"):
        StateStore(str(tmp_path / "dir.yml")).read()


# -- writing -------------------------------------------------------------------------------


def test_first_write_creates_private_dir_file_and_lock(store_path):
    store = StateStore(str(store_path))
    change = store.update(lambda s: s["container_groups"].update(g={"credential": None}))
    assert change.changed
    assert stat.S_IMODE(store_path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.lock_path).st_mode) == 0o600
    assert os.path.dirname(store.lock_path) == str(store_path.parent)
    text = store_path.read_text()
    assert text.startswith("# ")
    assert yaml.safe_load(text) == {"version": 1, "credentials": {}, "registry_credentials": {},
                                    "container_groups": {"g": {"credential": None}}}
    assert sorted(p.name for p in store_path.parent.iterdir()) == ["state.yml", "state.yml.lock"]


def test_existing_directory_mode_is_left_alone(tmp_path):
    tmp_path.chmod(0o755)
    StateStore(str(tmp_path / "s.yml")).update(lambda s: s["credentials"].update(c={}))
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


def test_change_reports_before_after_and_result(store_path):
    store = StateStore(str(store_path))
    store.update(lambda s: s.update(sample_state()))

    def drop(s):
        return s["container_groups"].pop("local")

    change = store.update(drop)
    assert change.changed
    assert "local" in change.before["container_groups"]
    assert "local" not in change.after["container_groups"]
    assert change.result == sample_state()["container_groups"]["local"]


def test_no_change_means_no_write(store_path):
    store = StateStore(str(store_path))
    store.update(lambda s: s.update(sample_state()))
    before = store_path.stat()
    change = store.update(lambda s: s["container_groups"].update(builds=dict(sample_state()["container_groups"]["builds"])))
    assert not change.changed
    after = store_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_check_mode_writes_nothing_not_even_the_directory(store_path):
    store = StateStore(str(store_path))
    change = store.update(lambda s: s["credentials"].update(c={"host": "https://x"}), check_mode=True)
    assert change.changed and "c" in change.after["credentials"]
    assert not store_path.parent.exists()


def test_check_mode_leaves_existing_file(store_path):
    store = StateStore(str(store_path))
    store.update(lambda s: s.update(sample_state()))
    data = store_path.read_bytes()
    listing = sorted(os.listdir(store_path.parent))
    change = store.update(lambda s: s["container_groups"].clear(), check_mode=True)
    assert change.changed
    assert store_path.read_bytes() == data
    assert sorted(os.listdir(store_path.parent)) == listing


def test_failing_function_writes_nothing(store_path):
    store = StateStore(str(store_path))
    store.update(lambda s: s.update(sample_state()))
    data = store_path.read_bytes()

    def boom(s):
        s["container_groups"].clear()
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        store.update(boom)
    assert store_path.read_bytes() == data


def test_write_is_fsynced_and_renamed(store_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(_state.os, "fsync", lambda fd: (calls.append(("fsync", stat.S_ISDIR(os.fstat(fd).st_mode))), real_fsync(fd))[1])
    monkeypatch.setattr(_state.os, "replace", lambda a, b: (calls.append(("replace", os.path.dirname(a) == os.path.dirname(b))), real_replace(a, b))[1])
    StateStore(str(store_path)).update(lambda s: s["credentials"].update(c={}))
    # File fsynced, then renamed within its directory, then the directory fsynced.
    assert calls == [("fsync", False), ("replace", True), ("fsync", True)]


def test_failed_rename_keeps_old_file_and_removes_temp(store_path, monkeypatch):
    store = StateStore(str(store_path))
    store.update(lambda s: s.update(sample_state()))
    data = store_path.read_bytes()

    def fail(a, b):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_state.os, "replace", fail)
    with pytest.raises(StateError, match="No space left on device.*old file is unchanged"):
        store.update(lambda s: s["container_groups"].clear())
    assert store_path.read_bytes() == data
    assert sorted(os.listdir(store_path.parent)) == ["state.yml", "state.yml.lock"]


def test_symlinked_state_file_is_written_through(tmp_path):
    real = tmp_path / "real" / "state.yml"
    real.parent.mkdir(mode=0o700)
    StateStore(str(real)).update(lambda s: s.update(sample_state()))
    link = tmp_path / "link.yml"
    link.symlink_to(real)
    StateStore(str(link)).update(lambda s: s["container_groups"].pop("local"))
    assert link.is_symlink()
    assert "local" not in StateStore(str(real)).read()["container_groups"]


def test_multiline_strings_are_literal_blocks_and_version_first(store_path):
    store = StateStore(str(store_path))
    store.update(lambda s: s.update(sample_state()))
    lines = [line for line in store_path.read_text().splitlines() if not line.startswith("#")]
    assert lines[0] == "version: 1"
    assert any(line.strip() == "ssl_ca_cert: |" for line in lines)


def test_str_subclasses_are_stored_as_plain_strings(store_path):
    class Unsafe(str):
        pass

    StateStore(str(store_path)).update(lambda s: s["credentials"].update({Unsafe("c"): {"host": Unsafe("https://h")}}))
    assert "!!python" not in store_path.read_text()
    assert StateStore(str(store_path)).read()["credentials"] == {"c": {"host": "https://h"}}


def test_lock_timeout_names_the_lock_file(store_path):
    store = StateStore(str(store_path), lock_timeout=0.2)
    store.update(lambda s: s["credentials"].update(c={}))
    with open(store.lock_path, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(StateError, match="held the lock on .*state.yml.lock"):
            store.update(lambda s: s["credentials"].update(d={}))
        with pytest.raises(StateError, match="held the lock"):
            store.read()
    assert "d" not in store.read()["credentials"]


def _add_group(args: tuple) -> None:
    path, index, barrier = args
    barrier.wait()
    StateStore(path).update(lambda s: s["container_groups"].update({f"g{index:02d}": {"credential": None}}))


def test_concurrent_writers_lose_nothing(store_path):
    workers = 50
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(workers)
    processes = [ctx.Process(target=_add_group, args=((str(store_path), i, barrier),)) for i in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    groups = StateStore(str(store_path)).read()["container_groups"]
    assert sorted(groups) == [f"g{i:02d}" for i in range(workers)]


# -- helpers -------------------------------------------------------------------------------


def test_secret_values():
    assert secret_values(sample_state()) == {TOKEN, sample_state()["credentials"]["prod"]["ssl_ca_cert"], REGISTRY_PASSWORD}
    assert secret_values(empty_state()) == set()


@pytest.fixture
def sample_store(store_path):
    store = StateStore(str(store_path))
    store.update(lambda s: s.update(sample_state()))
    return store


def test_group_and_credential(sample_store):
    group, credential = sample_store.group_and_credential("builds")
    assert group["credential"] == "prod" and credential["bearer_token"] == TOKEN


def test_job_records_bring_the_image_pull_credential(sample_store):
    group, credential, pull = sample_store.job_records("private")
    assert credential["bearer_token"] == TOKEN and pull == sample_state()["registry_credentials"]["quay"]
    assert sample_store.job_records("builds")[2] is None


def test_a_dangling_image_pull_credential_is_named(sample_store):
    sample_store.update(lambda s: s["registry_credentials"].pop("quay"))
    with pytest.raises(StateError, match="'private' uses image_pull_credential 'quay', which is not defined"):
        sample_store.job_records("private")


def test_an_old_file_without_registry_credentials_reads(store_path):
    store_path.parent.mkdir(mode=0o700)
    write_file(store_path, "version: 1\ncredentials: {}\ncontainer_groups: {}\n")
    assert StateStore(str(store_path)).read()["registry_credentials"] == {}


def test_a_group_without_credential_has_no_cluster(sample_store):
    with pytest.raises(StateError) as exc:
        sample_store.group_and_credential("local")
    assert "'local' has no credential (kubernetes: false)" in str(exc.value)
    assert sample_store.path in str(exc.value)


def test_missing_group_names_group_and_file(sample_store):
    with pytest.raises(StateError) as exc:
        sample_store.group_and_credential("nope")
    assert "'nope'" in str(exc.value) and sample_store.path in str(exc.value) and "builds, local, private" in str(exc.value)


def test_dangling_credential(sample_store):
    sample_store.update(lambda s: s["credentials"].pop("prod"))
    with pytest.raises(StateError, match="'builds' uses credential 'prod', which is not defined"):
        sample_store.group_and_credential("builds")


def test_a_group_in_a_missing_file_names_its_path(store_path):
    with pytest.raises(StateError, match=str(store_path)):
        StateStore(str(store_path)).group_and_credential("builds")


def test_no_change_on_a_new_path_creates_nothing(store_path):
    change = StateStore(str(store_path)).update(lambda s: s["container_groups"].pop("nope", None))
    assert not change.changed
    assert not store_path.parent.exists()


def test_function_sees_the_state_as_it_is_under_the_lock(store_path, monkeypatch):
    """A writer that lands between the first read and the lock is not overwritten."""
    store = StateStore(str(store_path))
    store.update(lambda s: s["container_groups"].update(first={}))
    real_lock = StateStore._lock

    def lock_after_another_writer(self, fd, operation):
        if operation == fcntl.LOCK_EX and "intruder" not in StateStore(str(store_path)).read()["container_groups"]:
            monkeypatch.setattr(StateStore, "_lock", real_lock)
            StateStore(str(store_path)).update(lambda s: s["container_groups"].update(intruder={}))
        real_lock(self, fd, operation)

    monkeypatch.setattr(StateStore, "_lock", lock_after_another_writer)
    change = store.update(lambda s: s["container_groups"].update(mine={}))
    assert sorted(change.after["container_groups"]) == ["first", "intruder", "mine"]
    assert sorted(store.read()["container_groups"]) == ["first", "intruder", "mine"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can write a file for another user")
def test_root_updating_a_user_s_state_file_leaves_it_and_its_lock_to_that_user(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 1000, 1000)
    store = StateStore(str(home / ".ansible" / "container_groups.yml"))

    def add(state: dict) -> None:
        state["credentials"]["lab"] = {"host": "https://lab.example:6443", "bearer_token": "t", "verify_ssl": True,
                                       "ssl_ca_cert": None}

    store.update(add)  # as `sudo -E` would: root, with the user's HOME
    for path in (home / ".ansible", home / ".ansible" / "container_groups.yml", home / ".ansible" / "container_groups.yml.lock"):
        assert (os.stat(path).st_uid, os.stat(path).st_gid) == (1000, 1000), path
    assert stat.S_IMODE(os.stat(home / ".ansible" / "container_groups.yml").st_mode) == 0o600
    store.update(lambda state: state["credentials"].pop("lab"))
    assert os.stat(home / ".ansible" / "container_groups.yml").st_uid == 1000
