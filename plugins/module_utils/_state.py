# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The state store: one YAML file holding credentials and container groups.

The file holds bearer tokens, so it is created 0600 (its directory 0700 when we create it),
and a file other users can read is refused. Every read-modify-write holds an exclusive lock
on a sidecar lock file and replaces the file by renaming a complete, fsynced temp file over
it, so a crash leaves the old file or the new one, never a mix. A file that does not parse or
has an unknown version is reported and never written.

Nothing here knows its caller: problems are raised as StateError, and modules, plugins and
the action plugin turn that into their own kind of failure.
"""

from __future__ import annotations

import copy
import errno
import fcntl
import os
import stat
import tempfile
import time
import traceback
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.module_utils._describe import described, yaml_problem

YAML_IMPORT_ERROR: str | None
try:
    import yaml
except ImportError:  # the caller reports it with missing_required_lib
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None

STATE_VERSION = 1
ENV_STATE_FILE = "CONTAINER_GROUPS_STATE_FILE"
DEFAULT_STATE_FILE = "~/.ansible/container_groups.yml"

#: Seconds a writer waits for the exclusive lock before giving up with a StateError.
DEFAULT_LOCK_TIMEOUT = 60.0

#: Record fields that hold secrets; callers add their values to no_log lists.
SECRET_CREDENTIAL_FIELDS = ("bearer_token", "ssl_ca_cert")
SECRET_REGISTRY_FIELDS = ("password",)
#: The sections of the file, each a mapping of name to record.
SECTIONS = ("credentials", "registry_credentials", "container_groups")

_HEADER = (
    "# State of ephemeral.container_groups: credentials (with bearer tokens) and container\n"
    "# groups. Managed by the collection's modules; keep it private (mode 0600).\n"
)

T = t.TypeVar("T")


class StateError(Exception):
    """A problem with the state file, worded for people: the path, the cause, the next step."""


class Change(t.NamedTuple):
    """What StateStore.update did (or, in check mode, would do)."""

    before: dict
    after: dict
    changed: bool
    result: t.Any


def empty_state() -> dict:
    """The state of a store that has never been written."""
    return {"version": STATE_VERSION, **{section: {} for section in SECTIONS}}


def resolve_state_path(option: str | None = None) -> str:
    """The state file path: the option, else $CONTAINER_GROUPS_STATE_FILE, else the default."""
    path = option or os.environ.get(ENV_STATE_FILE) or DEFAULT_STATE_FILE
    return os.path.abspath(os.path.expanduser(os.path.expandvars(path)))


def secret_values(state: dict) -> set[str]:
    """Every secret string in a state, for a caller's no_log list."""
    secrets = set()
    for section, fields in (("credentials", SECRET_CREDENTIAL_FIELDS), ("registry_credentials", SECRET_REGISTRY_FIELDS)):
        for record in state.get(section, {}).values():
            for field in fields:
                value = record.get(field)
                if isinstance(value, str) and value:
                    secrets.add(value)
    return secrets


def _validate(data: t.Any, path: str) -> dict:
    """Check the shape we rely on; raise StateError naming the path and the problem."""
    fix = "Fix or move the file away; it was left untouched."
    if data is None:
        raise StateError(f"state file {path} is empty; expected a mapping with 'version: {STATE_VERSION}'. {fix}")
    if not isinstance(data, dict):
        raise StateError(f"state file {path} holds {described(data)}, expected a mapping with 'version: {STATE_VERSION}'. {fix}")
    version = data.get("version")
    if version != STATE_VERSION or isinstance(version, bool):
        raise StateError(
            f"state file {path} has version {version!r}, this collection reads version {STATE_VERSION}. "
            f"It may come from a newer release of ephemeral.container_groups; upgrade the collection "
            f"or use another file. The file was left untouched."
        )
    for section in SECTIONS:
        records = data.get(section)
        if records is None:
            data[section] = {}
            continue
        if not isinstance(records, dict):
            raise StateError(f"state file {path}: '{section}' is {described(records)}, expected a mapping. {fix}")
        for name, record in records.items():
            if not isinstance(name, str):
                raise StateError(f"state file {path}: {section} key {name!r} is not a string. {fix}")
            if not isinstance(record, dict):
                raise StateError(f"state file {path}: {section}.{name} is {described(record)}, expected a mapping. {fix}")
    return data


def _plain(value: t.Any) -> t.Any:
    """Plain builtin types only, so safe_dump never meets a str or dict subclass."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    raise StateError(f"cannot store a value of type {type(value).__name__} in the state file")


if HAS_YAML:

    class _Dumper(yaml.SafeDumper):
        """SafeDumper writing multi-line strings (PEM certificates) as literal blocks."""

    def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        if "\n" in value:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    _Dumper.add_representer(str, _represent_str)
    _Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _sorted(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def dump_state(state: dict) -> str:
    """The text we write for a state: version first, then the sections, keys sorted within."""
    plain = _sorted(_plain(state))
    first = ("version", *SECTIONS)
    ordered = {key: plain[key] for key in first if key in plain}
    ordered.update((key, value) for key, value in plain.items() if key not in first)
    return _HEADER + yaml.dump(ordered, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)


class StateStore:
    """One state file. read() for readers; update() for every read-modify-write."""

    def __init__(self, path: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        if not HAS_YAML:
            raise StateError("the state store needs the PyYAML Python package; install it on the controller")
        self.path = path
        # Write through symlinks (a dotfiles setup) instead of replacing the link itself.
        self._real_path = os.path.realpath(path)
        self._dir = os.path.dirname(self._real_path)
        self.lock_path = self._real_path + ".lock"
        self.lock_timeout = lock_timeout

    # -- reading -----------------------------------------------------------------------

    def read(self) -> dict:
        """The current state, under a shared lock; the empty state if the file does not exist."""
        if not os.path.lexists(self._real_path):
            return empty_state()
        try:
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            # No writer has ever locked here (a hand-made file). Writers rename complete
            # files into place, so reading without the lock still sees a whole file.
            return self._load()
        except OSError as exc:
            raise StateError(f"cannot open lock file {self.lock_path}: {exc.strerror}. Check its owner and permissions.") from exc
        try:
            self._lock(fd, fcntl.LOCK_SH)
            return self._load()
        finally:
            os.close(fd)

    def group_and_credential(self, name: str) -> tuple[dict, dict]:
        """Read the state: the group called name and its credential, which a job needs.

        StateError, naming this file, when the group is not defined, has no credential
        (kubernetes: false), or names a credential that is not defined.
        """
        return self._group_and_credential(self.read(), name)

    def job_records(self, name: str) -> tuple[dict, dict, dict | None]:
        """Read the state once: the group, its credential, and its image pull credential (None
        when it has none). StateError as group_and_credential, or for a pull credential that
        is not defined."""
        state = self.read()
        group, credential = self._group_and_credential(state, name)
        pull_name = group.get("image_pull_credential")
        if pull_name is None:
            return group, credential, None
        pull = state["registry_credentials"].get(pull_name)
        if pull is None:
            raise StateError(
                f"container group {name!r} uses image_pull_credential {pull_name!r}, which is not defined in state "
                f"file {self.path}. Define it with ephemeral.container_groups.registry_credential or give the "
                "group another one."
            )
        return group, credential, pull

    def _group_and_credential(self, state: dict, name: str) -> tuple[dict, dict]:
        groups = state["container_groups"]
        if name not in groups:
            known = ", ".join(sorted(groups)) or "none"
            raise StateError(
                f"container group {name!r} is not defined in state file {self.path} (defined: {known}). "
                "Define it with the ephemeral.container_groups.container_group module, "
                f"or point {ENV_STATE_FILE} at the right file."
            )
        group = groups[name]
        credential_name = group.get("credential")
        if credential_name is None:
            raise StateError(
                f"container group {name!r} has no credential (kubernetes: false) in state file {self.path}, "
                "so it has no Kubernetes cluster to reach; give it one with the credential option of "
                "ephemeral.container_groups.container_group"
            )
        credential = state["credentials"].get(credential_name)
        if credential is None:
            raise StateError(
                f"container group {name!r} uses credential {credential_name!r}, which is not "
                f"defined in state file {self.path}. Define it with ephemeral.container_groups.k8s_bearer_credential "
                "or give the group another credential."
            )
        return group, credential

    def _load(self) -> dict:
        """Parse and validate the file; no lock handling here."""
        try:
            fd = os.open(self._real_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return empty_state()
        except OSError as exc:
            raise StateError(f"cannot read state file {self.path}: {exc.strerror}. Check its owner and permissions.") from exc
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise StateError(f"state file {self.path} is not a regular file. Point the state_file option or {ENV_STATE_FILE} at a file.")
        with os.fdopen(fd, "rb") as handle:
            mode = stat.S_IMODE(st.st_mode)
            if mode & 0o077:
                raise StateError(
                    f"state file {self.path} has mode {mode:04o}: other users may read or change it, and it holds bearer tokens. "
                    f"It was not used. Run 'chmod 600 {self.path}' (and rotate the tokens if others could read them), then retry."
                )
            raw = handle.read()
        try:
            data = yaml.load(raw, Loader=_Loader)
        except yaml.YAMLError as exc:
            raise StateError(f"state file {self.path} is not valid YAML ({yaml_problem(exc)}). Fix or move the file away; it was left untouched.") from exc
        return _validate(data, self.path)

    # -- writing -----------------------------------------------------------------------

    def update(self, fn: t.Callable[[dict], T], check_mode: bool = False) -> Change:
        """Read, let fn change the state, write the result if it differs.

        fn gets a deep copy of the state to modify in place; what it returns is passed back
        as Change.result. If fn raises, nothing is written and the exception propagates.
        fn is first tried on a plain read: when it changes nothing (or in check mode) no lock
        file, directory or state file is created or changed. Otherwise it runs again on a
        fresh read under the exclusive lock, so it may be called twice and must change
        nothing but the state it is given.
        """
        change = self._apply(self.read(), fn)
        if check_mode or not change.changed:
            return change
        self._ensure_dir()
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StateError(f"cannot create lock file {self.lock_path}: {exc.strerror}. Check the directory's owner and permissions.") from exc
        try:
            self._keep_owner(fd)
            self._lock(fd, fcntl.LOCK_EX)
            before = self._load()
            change = self._apply(before, fn)
            if change.changed:
                self._write(change.after)
            return change
        finally:
            os.close(fd)  # closing releases the lock

    @staticmethod
    def _apply(before: dict, fn: t.Callable[[dict], T]) -> Change:
        after = copy.deepcopy(before)
        result = fn(after)
        return Change(before=before, after=after, changed=after != before, result=result)

    def _owner(self) -> tuple[int, int] | None:
        """Whom the state file (and its lock) must stay owned by when root writes it: the
        file's owner, else its directory's (``sudo -E`` keeps HOME, so root may update a
        user's file, which would otherwise become root's 0600 and lock the user out). None
        when not root, or when that owner is root."""
        if os.geteuid() != 0:
            return None
        for path in (self._real_path, self._dir):
            try:
                info = os.stat(path)
            except OSError:
                continue
            return (info.st_uid, info.st_gid) if info.st_uid != 0 else None
        return None

    def _keep_owner(self, fd: int) -> None:
        owner = self._owner()
        if owner is None:
            return
        try:
            os.fchown(fd, *owner)
        except OSError as exc:
            raise StateError(f"cannot give {self.path} back to its owner (uid {owner[0]}): {exc.strerror}. "
                             "Run as that user instead of root.") from exc

    def _ensure_dir(self) -> None:
        if os.path.isdir(self._dir):
            return
        try:
            os.makedirs(self._dir, mode=0o700, exist_ok=True)
            parent = os.stat(os.path.dirname(self._dir))
            if os.geteuid() == 0 and parent.st_uid != 0:  # root making a user's ~/.ansible: the user's
                os.chown(self._dir, parent.st_uid, parent.st_gid)
        except OSError as exc:
            raise StateError(f"cannot create directory {self._dir} for state file {self.path}: {exc.strerror}.") from exc

    def _lock(self, fd: int, operation: int) -> None:
        """flock with a deadline, so a hung writer gives an error rather than a hang."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, operation | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise StateError(f"cannot lock {self.lock_path}: {exc.strerror}.") from exc
            if time.monotonic() >= deadline:
                raise StateError(
                    f"another process has held the lock on {self.lock_path} for over {self.lock_timeout:.0f}s. "
                    "Wait for other runs that use this state file to finish, then retry."
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _write(self, state: dict) -> None:
        """Write a complete new file beside the old one, fsync it, rename it over, fsync the dir."""
        text = dump_state(state).encode("utf-8")
        base = os.path.basename(self._real_path)
        try:
            fd, tmp_path = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=self._dir)
        except OSError as exc:
            raise StateError(f"cannot create a temporary file in {self._dir} to update {self.path}: {exc.strerror}.") from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                self._keep_owner(handle.fileno())
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_path, self._real_path)
        except BaseException as exc:
            try:
                os.unlink(tmp_path)
            except OSError:
                pass
            if isinstance(exc, OSError):
                raise StateError(f"cannot write state file {self.path}: {exc.strerror}. The old file is unchanged.") from exc
            raise
        dir_fd = os.open(self._dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
