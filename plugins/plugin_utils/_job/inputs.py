# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""A job's inputs: the validated options of container_group_job, as one JobSpec.

The options and their defaults are declared once, in ``module_utils/_job_spec.py``; this
checks what an argument spec cannot (paths, the project, the group's max_forks).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import typing as t

#: ansible-playbook's own default, used when the job gives no forks.
DEFAULT_FORKS = 5


class JobInputError(ValueError):
    """An option of the job is wrong; the message says which and why."""


class JobSpec(t.NamedTuple):
    """What to run and how long to wait, checked. No secret is in it (see ``secrets``)."""

    group_name: str
    playbook: str  # relative to project_dir
    project_dir: str  # absolute, on the controller
    extra_vars: dict
    limit: str | None
    tags: str | None
    forks: int
    verbosity: int
    job_timeout: int
    pending_timeout: int
    reconnect_timeout: int
    #: Each inventory: (PROJECT, path relative to project_dir) or (CONTROLLER, absolute path,
    #: copied into the job). Empty: localhost in the Pod.
    inventories: tuple[tuple[str, str], ...] = ()
    skip_tags: str | None = None
    start_at_task: str | None = None
    check: bool = False
    diff: bool = False
    remote_user: str | None = None
    become_method: str | None = None
    become_user: str | None = None
    #: Each vault password file: (vault id or None, absolute path on the controller).
    vault_password_files: tuple[tuple[str | None, str], ...] = ()
    private_key_file: str | None = None  # absolute, on the controller
    events_file: str | None = None  # absolute, on the controller
    keep_pod: str = "never"  # never, on_failure, always: leave the Pod for inspection
    include_git: bool = False  # ship the project's .git
    artifacts_dir: str | None = None  # absolute, on the controller: the job's record goes below it
    fact_cache_dir: str | None = None  # absolute, on the controller: facts kept between jobs
    playbook_artifact: str | None = None  # absolute, on the controller: ansible-navigator's replay file
    slices: int = 1  # AWX's job_slice_count: the inventory's hosts over this many Pods at once


#: Where an inventory of the job comes from.
PROJECT, CONTROLLER = "project", "controller"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def group_names(value: t.Any) -> list[str]:
    """The container_group option as a list of names: one name, a list, or names separated by
    commas (no group name holds one); each once, in order."""
    names = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else None
    if names is None or not all(isinstance(name, str) for name in names):
        raise JobInputError(f"container_group: expected a group's name or a list of names, got {value!r}")
    names = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    if not names:
        raise JobInputError("container_group: no group named")
    return names


def job_spec(args: t.Mapping[str, t.Any], group: t.Mapping[str, t.Any]) -> JobSpec:
    """The JobSpec of validated arguments (JOB_ARGUMENT_SPEC) for a group; JobInputError if wrong."""
    playbook, project_dir = _locate(args["playbook"], args["project_dir"])
    for name in ("job_timeout", "pending_timeout", "reconnect_timeout"):
        if args[name] < 1:
            raise JobInputError(f"{name} must be at least 1 second, got {args[name]}")
    slices = args.get("slices") or 1
    if slices < 1:
        raise JobInputError(f"slices must be at least 1 (1: one Pod for the whole inventory), got {slices}")
    forks = args["forks"] or DEFAULT_FORKS
    max_forks = int(group.get("max_forks") or 0)
    if max_forks:
        forks = min(forks, max_forks)
    for name in args.get("job_env") or {}:
        if not _ENV_NAME.match(str(name)):
            raise JobInputError(f"job_env: {name!r} is not an environment variable name (letters, digits and _)")
    return JobSpec(
        group_name=args["container_group"],
        playbook=os.path.relpath(playbook, project_dir),
        project_dir=project_dir,
        extra_vars=args["extra_vars"] or {},
        limit=args["limit"],
        tags=args["tags"],
        forks=forks,
        verbosity=args["verbosity"],
        job_timeout=args["job_timeout"],
        pending_timeout=args["pending_timeout"],
        reconnect_timeout=args["reconnect_timeout"],
        inventories=tuple(_inventory(path, project_dir) for path in args.get("inventory") or [] if path),
        skip_tags=args.get("skip_tags"),
        start_at_task=args.get("start_at_task"),
        check=bool(args.get("check")),
        diff=bool(args.get("diff")),
        remote_user=args.get("remote_user"),
        become_method=args.get("become_method"),
        become_user=args.get("become_user"),
        vault_password_files=tuple(_vault_file(entry) for entry in args.get("vault_password_file") or [] if entry),
        private_key_file=_readable_file(args.get("private_key_file"), "private_key_file"),
        events_file=_output_file(args.get("events_file"), "events_file"),
        keep_pod=args.get("keep_pod") or "never",
        include_git=bool(args.get("include_git")),
        artifacts_dir=_controller_path(args.get("artifacts_dir")),
        fact_cache_dir=_controller_path(args.get("fact_cache_dir")),
        playbook_artifact=_output_file(args.get("playbook_artifact"), "playbook_artifact"),
        slices=slices,
    )


def _controller_path(path: str | None) -> str | None:
    return os.path.abspath(os.path.expanduser(path)) if path else None


def _inventory(path: str, project_dir: str) -> tuple[str, str]:
    """A path inside the project stays there; any other existing path is the controller's."""
    inside = os.path.normpath(os.path.join(project_dir, path))
    if not os.path.isabs(path) and os.path.commonpath([inside, project_dir]) == project_dir and os.path.exists(inside):
        return PROJECT, os.path.relpath(inside, project_dir)
    # Resolved: a link to an inventory is shipped as what it points to (a link would dangle in the Pod).
    controller = os.path.realpath(os.path.expanduser(path))
    if os.path.exists(controller):
        if not os.access(controller, os.R_OK):
            raise JobInputError(f"inventory {controller} cannot be read")
        return CONTROLLER, controller
    raise JobInputError(f"inventory {path!r} is neither in the project directory {project_dir} nor a path on the controller")


def _vault_file(entry: str) -> tuple[str | None, str]:
    # As ansible-playbook reads --vault-id: the id is what comes before the first @.
    vault_id, _sep, path = entry.partition("@") if "@" in entry else ("", "", entry)
    if path == "prompt":
        raise JobInputError(f"vault_password_file {entry!r}: a job cannot prompt; give a file or vault_password")
    return (vault_id or None), _readable_file(path, f"vault_password_file {entry!r}") or ""


def _readable_file(path: str | None, what: str) -> str | None:
    if not path:
        return None
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise JobInputError(f"{what}: {path} is not a readable file on the controller")
    return path


def _output_file(path: str | None, what: str) -> str | None:
    """A file the job writes on the controller: its directory must exist."""
    if not path:
        return None
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(os.path.dirname(path)):
        raise JobInputError(f"{what} {path}: its directory does not exist")
    return path


def _homes() -> set[str]:
    """Directories never shipped whole: /, $HOME and the user's home (they differ under sudo -E)."""
    homes = {"/", os.path.realpath(os.path.expanduser("~"))}
    with contextlib.suppress(KeyError):
        homes.add(os.path.realpath(pwd.getpwuid(os.getuid()).pw_dir))
    return homes


def _locate(playbook: str, project_dir: str | None) -> tuple[str, str]:
    """Resolved playbook and project paths (links followed: the project is shipped as what
    they point to); the playbook must lie inside the project."""
    given = bool(project_dir)
    if project_dir:
        project_dir = os.path.abspath(project_dir)
        if not os.path.isabs(playbook) and os.path.exists(os.path.join(project_dir, playbook)):
            playbook = os.path.join(project_dir, playbook)
    playbook = os.path.abspath(playbook)
    if not os.path.isfile(playbook):
        raise JobInputError(f"playbook {playbook} does not exist or is not a file")
    project_dir = project_dir or os.path.dirname(playbook)
    if not os.path.isdir(project_dir):
        raise JobInputError(f"project_dir {project_dir} is not a directory")
    project_dir, resolved = os.path.realpath(project_dir), os.path.realpath(playbook)
    if project_dir in _homes():
        raise JobInputError(
            f"project_dir {project_dir} is {'the root directory' if project_dir == '/' else 'a home directory'}"
            + ("" if given else f" (the directory of the playbook {playbook})")
            + ": the job ships its whole project directory into the Pod; keep the playbook and what it needs in a "
              "directory of their own and give that as project_dir")
    if os.path.commonpath([resolved, project_dir]) != project_dir:
        raise JobInputError(f"playbook {playbook} is not inside project_dir {project_dir}"
                            + (f" (it is a link to {resolved})" if resolved != playbook else ""))
    return resolved, project_dir
