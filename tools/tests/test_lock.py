"""Unit tests of tools/lock.py: what makes an input or a lock unfit to build from."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import lock  # noqa: E402  pylint: disable=wrong-import-position

HASH = "--hash=sha256:" + "0" * 64


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _locked(directory: Path, name: str, body: str, python: str = "3.11", digest: str | None = None) -> None:
    source = (directory / f"{name}.in").read_bytes()
    header = lock._HEADER.format(name=name, digest=digest or hashlib.sha256(source).hexdigest(), python=python)
    _write(directory, f"{name}.txt", header + body)


@pytest.fixture(name="reqs")
def _reqs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(lock, "REQUIREMENTS_DIR", tmp_path)
    _write(tmp_path, "env.in", "# python: 3.11\nfoo==1.2.0\n# a comment\nBar_Baz==2.0\n")
    return tmp_path


def test_a_fresh_full_lock_passes(reqs: Path) -> None:
    _locked(reqs, "env", f"foo==1.2.0 \\\n    {HASH}\nbar-baz==2.0 \\\n    {HASH}\n    # via foo\nqux==0.1 {HASH}\n")
    lock.check(["env"])


@pytest.mark.parametrize("line", ["foo", "foo>=1.2", "foo~=1.2", "foo==1.*", "git+https://example.invalid/foo.git"])
def test_an_input_without_an_exact_pin_is_refused(reqs: Path, line: str) -> None:
    _write(reqs, "env.in", f"# python: 3.11\n{line}\n")
    with pytest.raises(lock.LockError, match="is not pinned"):
        lock.read_input(reqs / "env.in")


def test_an_input_must_say_its_python(reqs: Path) -> None:
    _write(reqs, "env.in", "foo==1.2.0\n")
    with pytest.raises(lock.LockError, match="python: X.Y"):
        lock.read_input(reqs / "env.in")


@pytest.mark.parametrize(
    ("body", "options", "message"),
    [
        (f"foo==1.2.0 {HASH}\nbar-baz==2.0 {HASH}\n", {"digest": "1" * 64}, "older than env.in"),
        (f"foo==1.2.0 {HASH}\nbar-baz==2.0\n", {}, "bar-baz==2.0 has no hash"),
        (f"foo==1.2.0 {HASH}\nbar-baz==2.0 {HASH}\nqux>=1 {HASH}\n", {}, "'qux>=1' is not pinned"),
        (f"foo==1.3.0 {HASH}\nbar-baz==2.0 {HASH}\n", {}, "has foo==1.3.0, env.in pins 1.2.0"),
        (f"foo==1.2.0 {HASH}\nbar-baz==2.0 {HASH}\n", {"python": "3.13"}, "locked for Python 3.13"),
    ],
    ids=["older than its input", "an entry without a hash", "an entry without a pin", "disagrees with a pin",
         "for another Python"],
)
def test_a_lock_unfit_to_build_from_is_refused(reqs: Path, body: str, options: dict, message: str) -> None:
    _locked(reqs, "env", body, **options)
    with pytest.raises(lock.LockError, match=message):
        lock.check(["env"])


def test_a_missing_lock_is_refused(reqs: Path) -> None:
    with pytest.raises(lock.LockError, match="missing"):
        lock.check(["env"])


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ("foo", "needs a lower bound"),
        ("foo==1.2.0", "needs a lower bound"),
        ("absent>=1.0", "absent is declared, but the env lock does not test it"),
        ("foo>=1.10", "foo>=1.10, but the env lock tests 1.2.0"),
    ],
)
def test_user_requirements_the_locks_do_not_honour_are_refused(tmp_path: Path, declared: str, message: str) -> None:
    path = _write(tmp_path, "requirements.txt", f"# a comment\n{declared}\n")
    with pytest.raises(lock.LockError, match=message):
        lock.check_user_requirements(path, {"env": {"foo": "1.2.0"}})


def test_user_requirements_at_or_below_the_locks_pass(tmp_path: Path) -> None:
    path = _write(tmp_path, "requirements.txt", "Foo >= 1.2\nbar>=0.9.1  # why\n")
    lock.check_user_requirements(path, {"env": {"foo": "1.2.0", "bar": "0.10"}})


def test_the_projects_own_locks_pass() -> None:
    lock.check([])
