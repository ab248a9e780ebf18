# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Who runs a job: the controller process that owns a Pod, and whether it is still alive.

A Pod carries its owner (host/pid/start-time of the controller process) in an annotation, so
a later job on the same host can tell a live job's Pod from one left by a killed controller.
"""

from __future__ import annotations

import os
import socket
import typing as t

ANNOTATION_OWNER = "container-groups.ephemeral.io/owner"


def owner_id(pid: int | None = None) -> str:
    """host/pid/start-ticks of a process: unique even when pids are reused."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}/{pid}/{_process_start_ticks(pid)}"


def _process_start_ticks(pid: int) -> str:
    """Field 22 of /proc/PID/stat (its start time), "0" if there is no such process, "dead" for
    one that has exited and waits to be reaped (a zombie owns nothing any more)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            # The fields after the parenthesised command, which may hold spaces: state is the
            # first (field 3), starttime the 20th (field 22).
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return "0"
    if len(fields) < 20:
        return "0"
    return "dead" if fields[0] in ("Z", "X") else fields[19]


def owner_is_alive(owner: str) -> bool | None:
    """True/False for an owner on this host; None when it ran elsewhere (cannot tell)."""
    try:
        host, pid, ticks = owner.rsplit("/", 2)
        pid_number = int(pid)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    now = _process_start_ticks(pid_number)
    return now not in ("0", "dead") and now == ticks


def leftovers(pods: t.Iterable[dict]) -> list[tuple[str, str]]:
    """(name, why) of the Pods of ours that no live job owns: ended ones, and ones whose
    controller process on this host is gone. Pods being deleted are not counted."""
    found = []
    for pod in pods:
        metadata = pod.get("metadata") or {}
        name = metadata.get("name")
        if not isinstance(name, str) or metadata.get("deletionTimestamp"):
            continue
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            found.append((name, f"phase {phase}"))
        elif owner_is_alive((metadata.get("annotations") or {}).get(ANNOTATION_OWNER, "")) is False:
            found.append((name, "its controller process is gone"))
    return found
