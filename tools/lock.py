"""The locks of every Python environment the project builds, written and checked.

Each environment has an input, tools/requirements/NAME.in: its direct dependencies, each
pinned with ==, and a `# python: X.Y` line. Its lock, NAME.txt beside it, holds every
package the environment gets, direct and transitive, pinned with its hashes, under a header
that records the input's sha256. tools/venv.sh and the EE image install from the lock with
pip's hash checking and --no-deps, so nothing outside it is installed.

  lock.py compile UV [NAME...]   rewrite the locks (`make lock` passes the uv of
                                 tools/venv.sh lock)
  lock.py check [NAME...]        fail when an input names a package without ==, when a lock
                                 is missing, older than its input or not fully pinned, or
                                 when requirements.txt names a package the controller locks
                                 leave out or lock below the range it declares

Standard library only: tools/venv.sh runs the check with the system python3 before it
builds an environment.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS_DIR = REPO / "tools" / "requirements"
# The ranges users install the collection's controller dependencies from (the collection
# declares them; ansible-builder reads this file), and the locks that must honour them.
USER_REQUIREMENTS = REPO / "requirements.txt"
CONTROLLER_LOCKS = ("newest", "oldest")
# Every environment is built on x86_64 Linux with glibc (this machine, the EE image).
PLATFORM = "x86_64-manylinux_2_28"

_HEADER = "# Locked from {name}.in (sha256 {digest}) for Python {python} by `make lock`; do not edit.\n"
_HEADER_RE = re.compile(r"^# Locked from (?P<name>\S+)\.in \(sha256 (?P<digest>[0-9a-f]{64})\) for Python (?P<python>\S+) ")
_PYTHON_RE = re.compile(r"^#\s*python:\s*(?P<version>3\.\d+)\s*$")
_NAME_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")
_PIN_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[0-9][0-9A-Za-z.+!-]*)$")
_RANGE_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*(?P<version>[0-9][0-9.]*)$")


class LockError(Exception):
    """An input or a lock that the environments must not be built from."""


@dataclass(frozen=True)
class Input:
    """One environment's input file: its name, Python version and pinned direct dependencies."""

    name: str
    path: Path
    python: str
    pins: dict[str, str]

    @property
    def lock_path(self) -> Path:
        return self.path.with_suffix(".txt")

    def digest(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_lines(text: str) -> list[str]:
    """The requirement lines of a requirements file: comments, blanks and hashes left out."""
    lines = []
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def read_input(path: Path) -> Input:
    """Parses NAME.in; raises LockError for a requirement without == or no python line."""
    text = path.read_text(encoding="utf-8")
    pythons = [m.group("version") for m in map(_PYTHON_RE.match, text.splitlines()) if m]
    if len(pythons) != 1:
        raise LockError(f"{path}: needs exactly one '# python: X.Y' line, found {len(pythons)}")
    pins: dict[str, str] = {}
    for line in _requirement_lines(text):
        match = _PIN_RE.match(line.replace(" ", ""))
        if not match:
            raise LockError(f"{path}: '{line}' is not pinned: give it an exact version (name==X.Y.Z)")
        pins[_canonical(match.group("name"))] = match.group("version")
    if not pins:
        raise LockError(f"{path}: names no package")
    return Input(path.stem, path, pythons[0], pins)


def read_lock(lock_path: Path) -> tuple[dict[str, str], str, str]:
    """Parses a lock: its pins, and the input digest and Python version of its header.

    Every requirement must be name==version with at least one --hash.
    """
    text = lock_path.read_text(encoding="utf-8")
    header = _HEADER_RE.match(text)
    if not header:
        raise LockError(f"{lock_path}: has no 'Locked from' header: run `make lock`")
    pins: dict[str, str] = {}
    for entry in _requirement_lines(text):
        requirement, dummy_sep, options = entry.partition(" ")
        match = _PIN_RE.match(requirement)
        if not match:
            raise LockError(f"{lock_path}: '{requirement}' is not pinned with ==: run `make lock`")
        if "--hash=sha256:" not in options:
            raise LockError(f"{lock_path}: {requirement} has no hash: run `make lock`")
        pins[_canonical(match.group("name"))] = match.group("version")
    return pins, header.group("digest"), header.group("python")


def check_input(spec: Input) -> dict[str, str]:
    """Checks one environment's lock against its input; returns the lock's pins."""
    if not spec.lock_path.exists():
        raise LockError(f"{spec.lock_path}: missing: run `make lock`")
    pins, digest, python = read_lock(spec.lock_path)
    if digest != spec.digest():
        raise LockError(f"{spec.lock_path} is older than {spec.path.name} (made from another version of it): run `make lock`")
    if python != spec.python:
        raise LockError(f"{spec.lock_path}: locked for Python {python}, {spec.path.name} says {spec.python}: run `make lock`")
    for name, version in spec.pins.items():
        if pins.get(name) != version:
            raise LockError(f"{spec.lock_path}: has {name}=={pins.get(name)}, {spec.path.name} pins {version}: run `make lock`")
    return pins


def _release(version: str) -> tuple[int, ...]:
    release = re.match(r"^\d+(\.\d+)*", version)
    if not release:
        raise LockError(f"cannot compare version '{version}'")
    return tuple(int(part) for part in release.group(0).split("."))


def check_user_requirements(path: Path, locks: dict[str, dict[str, str]]) -> None:
    """Each package of the users' ranges is in every controller lock, at or above its bound.

    A collection declares ranges, not pins: users install it beside their own packages.
    """
    for line in _requirement_lines(path.read_text(encoding="utf-8")):
        match = _RANGE_RE.match(line)
        if not match:
            raise LockError(f"{path}: '{line}' needs a lower bound (name>=X.Y), as the collection declares ranges")
        name, bound = _canonical(match.group("name")), match.group("version")
        for lock_name, pins in locks.items():
            if name not in pins:
                raise LockError(f"{path}: {name} is declared, but the {lock_name} lock does not test it")
            if _release(pins[name]) < _release(bound):
                raise LockError(f"{path}: {name}>={bound}, but the {lock_name} lock tests {pins[name]}")


def inputs(names: list[str]) -> list[Input]:
    """The inputs named (all of them when none is), each parsed."""
    paths = sorted(REQUIREMENTS_DIR.glob("*.in"))
    known = {path.stem: path for path in paths}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise LockError(f"no tools/requirements/{unknown[0]}.in (known: {', '.join(known)})")
    return [read_input(known[name]) for name in (names or list(known))]


def check(names: list[str]) -> None:
    specs = inputs(names)
    orphans = {p.stem for p in REQUIREMENTS_DIR.glob("*.txt")} - {p.stem for p in REQUIREMENTS_DIR.glob("*.in")}
    if orphans and not names:
        raise LockError(f"tools/requirements/{sorted(orphans)[0]}.txt has no .in: remove it or add its input")
    locks = {spec.name: check_input(spec) for spec in specs}
    if not names:
        check_user_requirements(USER_REQUIREMENTS, {name: locks[name] for name in CONTROLLER_LOCKS})


def compile_locks(uv: str, names: list[str]) -> None:
    for spec in inputs(names):
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "lock.txt"
            # The input's own path is its name in the lock's "via" notes.
            subprocess.run(
                [uv, "pip", "compile", "--quiet", "--generate-hashes", "--no-header",
                 "--python-version", spec.python, "--python-platform", PLATFORM,
                 "--output-file", str(out), spec.path.name],
                cwd=REQUIREMENTS_DIR, check=True,
            )
            body = out.read_text(encoding="utf-8")
        spec.lock_path.write_text(_HEADER.format(name=spec.name, digest=spec.digest(), python=spec.python) + body, encoding="utf-8")
        check_input(spec)
        print(f"locked {spec.name}: {len(read_lock(spec.lock_path)[0])} packages for Python {spec.python}")


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["compile"] and len(argv) >= 2:
            compile_locks(argv[1], argv[2:])
        elif argv[:1] == ["check"]:
            check(argv[1:])
        else:
            print("usage: lock.py compile UV [NAME...] | lock.py check [NAME...]", file=sys.stderr)
            return 2
    except LockError as error:
        print(f"lock: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
