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

import os
import typing as t

#: ansible-playbook's own default, used when the job gives no forks.
DEFAULT_FORKS = 5


class JobInputError(ValueError):
    """An option of the job is wrong; the message says which and why."""


class JobSpec(t.NamedTuple):
    """What to run and how long to wait, checked."""

    group_name: str
    playbook: str  # relative to project_dir
    project_dir: str  # absolute, on the controller
    inventory: str | None  # relative to project_dir; None = localhost in the Pod
    extra_vars: dict
    limit: str | None
    tags: str | None
    forks: int
    verbosity: int
    job_timeout: int
    pending_timeout: int
    reconnect_timeout: int


def job_spec(args: t.Mapping[str, t.Any], group: t.Mapping[str, t.Any]) -> JobSpec:
    """The JobSpec of validated arguments (JOB_ARGUMENT_SPEC) for a group; JobInputError if wrong."""
    playbook, project_dir = _locate(args["playbook"], args["project_dir"])
    for name in ("job_timeout", "pending_timeout", "reconnect_timeout"):
        if args[name] < 1:
            raise JobInputError(f"{name} must be at least 1 second, got {args[name]}")
    forks = args["forks"] or DEFAULT_FORKS
    max_forks = int(group.get("max_forks") or 0)
    if max_forks:
        forks = min(forks, max_forks)
    inventory = args["inventory"]
    if inventory and (os.path.isabs(inventory) or inventory.split("/")[0] == ".."):
        raise JobInputError(f"inventory {inventory!r} must be a path inside the project directory {project_dir}")
    return JobSpec(
        group_name=args["container_group"],
        playbook=os.path.relpath(playbook, project_dir),
        project_dir=project_dir,
        inventory=inventory or None,
        extra_vars=args["extra_vars"] or {},
        limit=args["limit"],
        tags=args["tags"],
        forks=forks,
        verbosity=args["verbosity"],
        job_timeout=args["job_timeout"],
        pending_timeout=args["pending_timeout"],
        reconnect_timeout=args["reconnect_timeout"],
    )


def _locate(playbook: str, project_dir: str | None) -> tuple[str, str]:
    """Absolute playbook and project paths; the playbook must lie inside the project."""
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
    if os.path.commonpath([playbook, project_dir]) != project_dir:
        raise JobInputError(f"playbook {playbook} is not inside project_dir {project_dir}")
    return playbook, project_dir
