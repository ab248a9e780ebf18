# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""What of the project a job ships, chosen before the Pod exists, and the tar stream of it.

The project directory is shipped whole, except:

- the usual homes of credentials, wherever they are in the tree (``.ssh/``, ``.kube/``,
  ``.aws/``, ``.docker/config.json`` …) and the collection's state file with its lock: never;
- what the job itself writes there (its artifacts_dir, events_file, playbook_artifact and
  fact_cache_dir, which is shipped apart);
- ``.git`` (a CI checkout keeps its token in ``.git/config``): unless the job asks for it;
- what the project's ignore file (``.containergroupignore`` at its top, ``.gitignore``
  patterns, read with the ``pathspec`` library) matches;
- what is no file, directory or link (sockets, pipes).

A left-out directory is not entered, so nothing below it comes back (git's rule too).
Links are shipped as relative links when they resolve inside their tree and refused when they
lead out of it, so nothing from outside the project is shipped and nothing arrives dangling.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import time
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import job_copies
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.inputs import JobSpec

#: The project's ignore file, at its top: .gitignore patterns, relative to the project.
IGNORE_FILE = ".containergroupignore"
PATHSPEC_REQUIREMENT = "pathspec>=0.12"

#: Paths never shipped, by their last parts, wherever they are: the usual homes of credentials
#: and the state file of this collection (bearer tokens) with its lock.
NEVER_SHIPPED: tuple[tuple[str, ...], ...] = (
    (".ssh",), (".gnupg",), (".aws",), (".azure",), (".kube",), (".config", "gcloud"),
    (".docker", "config.json"), (".netrc",), (".git-credentials",), (".pypirc",), (".pgpass",),
    (".ansible", "container_groups.yml"), (".ansible", "container_groups.yml.lock"),
)

#: Why a path was left out (the keys of ProjectCopy.left_out), and how the summary says it.
CREDENTIALS, OUTPUT, GIT, IGNORED, SPECIAL = "credentials", "output", "git", "ignored", "special"
_WHY = {
    CREDENTIALS: "credentials and the state file: never shipped",
    OUTPUT: "the job's own artifacts_dir, events_file, fact_cache_dir and playbook_artifact",
    GIT: "include_git ships it",
    IGNORED: f"matched by {IGNORE_FILE}",
    SPECIAL: "neither file, directory nor link",
}
#: Paths named per reason in the summary; the rest are counted.
_NAMED_PER_REASON = 5


class ProjectFileError(Exception):
    """A file of the project (or a copy) cannot be shipped: not a transient fault of the
    stream, which is why it is no OSError (the exec would take it for a broken connection)."""


class _Entry(t.NamedTuple):
    path: str  # on the controller
    arcname: str  # in the tar
    link: str | None = None  # for a symbolic link: its relative target
    size: int | None = None  # for a file: its size


class ProjectCopy(t.NamedTuple):
    """What a job ships of its project and its controller inventories, in tar order."""

    root: str
    entries: tuple[_Entry, ...]
    files: int
    size: int
    #: Why (CREDENTIALS, GIT, IGNORED, SPECIAL, in this order) -> paths relative to their tree
    #: (directories end with /), in walk order.
    left_out: dict[str, list[str]]

    def summary(self) -> str:
        """One line: what was shipped and what was left out, and why."""
        line = f"project copy of {self.root}: {self.files} file{'' if self.files == 1 else 's'}, {_size(self.size)}"
        if self.left_out:
            line += "; left out: " + "; ".join(f"{_named(paths)} ({_WHY[why]})" for why, paths in self.left_out.items())
        return line

    def as_result(self) -> dict[str, t.Any]:
        """The job result's project_copy."""
        return {"files": self.files, "bytes": self.size, "left_out": {why: list(paths) for why, paths in self.left_out.items()}}

    def credentials_left_out(self) -> str | None:
        """The line that says which credentials stayed behind, if any did."""
        paths = self.left_out.get(CREDENTIALS)
        if not paths:
            return None
        return (f"project copy of {self.root}: left out {_named(paths)}: credentials and the state file are never "
                "shipped (a job's secrets travel as its credentials, job_env and secret_vars)")


def job_project(spec: JobSpec, state_file: str | None = None) -> ProjectCopy:
    """What the job of spec ships: its project and its controller inventories."""
    return select_project(spec.project_dir, copies=job_copies(spec), include_git=spec.include_git, state_file=state_file,
                          outputs=[path for path in (spec.artifacts_dir, spec.events_file, spec.fact_cache_dir,
                                                     spec.playbook_artifact) if path])


def select_project(project_dir: str, *, copies: t.Mapping[str, str] | None = None, include_git: bool = False,
                   state_file: str | None = None, outputs: t.Sequence[str] = ()) -> ProjectCopy:
    """What to ship of project_dir (under ``project/``) and of each copy (arcname -> a file or
    directory on the controller), leaving out state_file and the job's outputs (paths it
    writes); ProjectFileError names a file that cannot be shipped.

    Both are resolved paths. The ignore file applies to the project only."""
    state_paths = {os.path.realpath(path) for path in (state_file, f"{state_file}.lock")} if state_file else set()
    withheld = {**dict.fromkeys(state_paths, CREDENTIALS), **{os.path.realpath(path): OUTPUT for path in outputs}}
    ignored = _ignore_spec(project_dir)
    left_out: dict[str, list[str]] = {}
    entries: list[_Entry] = []
    for source, arcname in [(project_dir, "project"), *((path, name) for name, path in (copies or {}).items())]:
        walk = _Walk(source, arcname, include_git, withheld, ignored if source == project_dir else None, left_out)
        entries += walk.entries()
    sizes = [entry.size for entry in entries if entry.size is not None]
    in_order = {why: left_out[why] for why in _WHY if why in left_out}
    return ProjectCopy(project_dir, tuple(entries), len(sizes), sum(sizes), in_order)


class _Walk:
    """One tree's entries, with what it left out recorded in left_out."""

    def __init__(self, source: str, arcname: str, include_git: bool, withheld: dict[str, str],
                 ignored: t.Any, left_out: dict[str, list[str]]) -> None:
        self._source, self._arcname = source, arcname
        self._include_git, self._withheld, self._ignored = include_git, withheld, ignored
        self._left_out = left_out

    def entries(self) -> list[_Entry]:
        if not os.path.isdir(self._source):
            _readable(self._source, os.R_OK)
            return [_Entry(self._source, self._arcname, size=os.stat(self._source).st_size)]
        found = []
        for root, dirs, files in os.walk(self._source):
            rel_root = os.path.relpath(root, self._source)
            _readable(root, os.R_OK | os.X_OK)
            found.append(_Entry(root, self._arcname if rel_root == "." else f"{self._arcname}/{rel_root}"))
            kept_dirs = []
            for name in sorted([*dirs, *files]):
                path = os.path.join(root, name)
                rel = name if rel_root == "." else f"{rel_root}/{name}"
                info = os.lstat(path)
                mode = info.st_mode
                reason = self._reason(path, rel, stat.S_ISDIR(mode))
                if reason is None and not (stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                    reason = SPECIAL
                if reason is not None:
                    self._left_out.setdefault(reason, []).append(rel + ("/" if stat.S_ISDIR(mode) else ""))
                elif stat.S_ISLNK(mode):
                    found.append(self._link(path, f"{self._arcname}/{rel}"))
                elif stat.S_ISDIR(mode):
                    kept_dirs.append(name)
                else:
                    _readable(path, os.R_OK)
                    found.append(_Entry(path, f"{self._arcname}/{rel}", size=info.st_size))
            # os.walk lists a link to a directory among the directories and does not enter it.
            dirs[:] = kept_dirs
        return found

    def _reason(self, path: str, rel: str, is_dir: bool) -> str | None:
        parts = tuple(rel.split("/"))
        if path in self._withheld:
            return self._withheld[path]
        if any(parts[-len(tail):] == tail for tail in NEVER_SHIPPED):
            return CREDENTIALS
        if parts[-1] == ".git" and not self._include_git:
            return GIT
        if self._ignored is not None and self._ignored.match_file(rel + ("/" if is_dir else "")):
            return IGNORED
        return None

    def _link(self, path: str, arcname: str) -> _Entry:
        """A link that resolves inside the tree, as a relative link (it works in the Pod as
        here); one that leads out of it is refused."""
        target = os.path.realpath(path)
        if os.path.commonpath([target, self._source]) != self._source:
            raise ProjectFileError(f"{path} is a symbolic link to {target}, outside {self._source}; the job ships nothing "
                                   "from outside it: copy what the link points to into the project, or make it point inside")
        return _Entry(path, arcname, os.path.relpath(target, os.path.realpath(os.path.dirname(path))))


def _readable(path: str, mode: int) -> None:
    if not os.access(path, mode):
        raise _unreadable(path, "permission denied")


def _unreadable(path: str, cause: str) -> ProjectFileError:
    return ProjectFileError(f"cannot read {path}: {cause}; the job ships every file of the project, so make it "
                            f"readable, move it out of the project or list it in {IGNORE_FILE}")


def _ignore_spec(project_dir: str) -> t.Any:
    """The project's ignore patterns (a pathspec GitIgnoreSpec), or None without an ignore file."""
    path = os.path.join(project_dir, IGNORE_FILE)
    if not os.path.isfile(path):
        return None
    try:
        import pathspec  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise ProjectFileError(f"{path} needs the Python package {PATHSPEC_REQUIREMENT} on the controller, where "
                               f"ansible-playbook runs: pip install '{PATHSPEC_REQUIREMENT}'") from exc
    try:
        with open(path, encoding="utf-8") as handle:
            return pathspec.GitIgnoreSpec.from_lines(handle.read().splitlines())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ProjectFileError(f"cannot read the ignore file {path}: {exc}") from exc


def _named(paths: t.Sequence[str]) -> str:
    named = ", ".join(paths[:_NAMED_PER_REASON])
    return named + (f" and {len(paths) - _NAMED_PER_REASON} more" if len(paths) > _NAMED_PER_REASON else "")


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    return f"{count / 1024:.1f} KiB" if count < 1 << 20 else f"{count / (1 << 20):.1f} MiB"


class _ChunkSink(io.RawIOBase):
    """A write-only file that tarfile fills and the stream generator empties."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: t.Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def project_tar_stream(project: ProjectCopy, files: t.Mapping[str, bytes]) -> t.Iterator[bytes]:
    """A gzip'd tar of the project's entries and files (arcname -> content, 0600), in chunks.

    Built as it is sent: memory holds one file's compressed output at most, never the tar.
    """
    sink = _ChunkSink()
    with tarfile.open(fileobj=sink, mode="w|gz", format=tarfile.PAX_FORMAT) as tar:
        for entry in project.entries:
            _add(tar, entry)
            chunk = sink.take()
            if chunk:
                yield chunk
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    yield sink.take()


def _add(tar: tarfile.TarFile, entry: _Entry) -> None:
    if entry.link is not None:
        info = tarfile.TarInfo(entry.arcname)
        info.type = tarfile.SYMTYPE
        info.linkname = entry.link
        info.mode = 0o777
        tar.addfile(info)
        return
    try:
        tar.add(entry.path, arcname=entry.arcname, recursive=False)
    except OSError as exc:
        raise _unreadable(entry.path, str(exc.strerror or exc)) from exc
