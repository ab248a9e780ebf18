# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Who runs a job: the controller process that owns a Pod, and whether it is provably gone.

A Pod (and its pull Secret) carries its owner in an annotation:
``HOST/BOOT-ID/PID-NAMESPACE/PID/START-TICKS``. The boot id names one running kernel (a
cloned VM or another machine with the same host name has another); the PID namespace's
inode tells apart controllers in containers of one kernel, whose pids overlap; the start
time tells a reused pid from its first owner. A later job judges an owner only on the same
kernel: in its own PID namespace, alive if the process is there and gone if it is not; in
another one, only from the initial PID namespace, which sees every process of the kernel
with its start time and its pid inside its namespace: gone when no process matches both.
Anything else proves nothing, and the Pod is left to its deadline. The host name is kept
for people reading it.
"""

from __future__ import annotations

import os
import socket
import time
import typing as t

ANNOTATION_OWNER = "container-groups.ephemeral.io/owner"
#: A Pod kept for inspection (keep_pod) until this time (seconds since the epoch): later jobs
#: leave it alone until then, and it holds no slot of its group.
ANNOTATION_KEPT_UNTIL = "container-groups.ephemeral.io/kept-until"
#: The inode of the kernel's initial PID namespace (PROC_PID_INIT_INO): its processes see all.
INITIAL_PID_NAMESPACE = "4026531836"
_UNKNOWN = "?"


def owner_id(pid: int | None = None) -> str:
    """HOST/BOOT-ID/PID-NAMESPACE/PID/START-TICKS of a process of ours (this one by default)."""
    pid = os.getpid() if pid is None else pid
    return "/".join((socket.gethostname(), boot_id(), _pid_namespace(pid), str(pid), _process_start_ticks(pid)))


def boot_id() -> str:
    """The running kernel's boot id (random at every boot), or "?"."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip() or _UNKNOWN
    except OSError:
        return _UNKNOWN


def _pid_namespace(pid: int | str = "self") -> str:
    """The inode of a process's PID namespace ("pid:[4026531836]" -> "4026531836"), or "?"."""
    try:
        link = os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return _UNKNOWN
    return link[link.find("[") + 1:link.rfind("]")] if "[" in link else _UNKNOWN


def _stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the parenthesised command, which may hold spaces:
    state is the first (field 3), starttime the 20th (field 22). None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields if len(fields) >= 20 else None


def _process_start_ticks(pid: int) -> str:
    """A process's start time in clock ticks since boot, "0" if there is no such process, "dead"
    for one that has exited and waits to be reaped (a zombie owns nothing any more)."""
    fields = _stat_fields(pid)
    if fields is None:
        return "0"
    return "dead" if fields[0] in ("Z", "X") else fields[19]


def _namespace_pid(pid: str) -> str | None:
    """A process's pid as its own PID namespace numbers it (the last of NSpid), None if unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return line.split()[-1]
    except OSError:
        return None
    return None


def _proc_hides_processes() -> bool:
    """Whether /proc is mounted to hide other users' processes (hidepid), or cannot be read."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
            return hides_processes(handle.read())
    except OSError:
        return True


def hides_processes(mountinfo: str) -> bool:
    """Whether the /proc mount in a mountinfo text hides processes (hidepid=1 or 2, subset=pid)."""
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == "/proc" and " - proc " in line:
            options = fields[-1].split(",")
            return "subset=pid" in options or any(
                option.startswith("hidepid=") and option not in ("hidepid=0", "hidepid=off") for option in options)
    return False


def _alive_in_another_namespace(pid: str, ticks: str) -> bool | None:
    """Whether an owner in another PID namespace lives, judged from the initial PID namespace,
    where every process of the kernel is in sight with its start time and its pid in its own
    namespace (/proc/PID/stat and status, which anyone may read). From any other namespace,
    or where /proc hides processes, nothing can be proven."""
    if _pid_namespace() != INITIAL_PID_NAMESPACE or _proc_hides_processes():
        return None
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        if fields is not None and fields[0] not in ("Z", "X") and fields[19] == ticks and _namespace_pid(entry) == pid:
            return True
    return False


def owner_is_alive(owner: str) -> bool | None:
    """True/False for an owner this controller can judge; None when it cannot tell (another
    kernel, a namespace out of sight, an owner written by an older version)."""
    parts = owner.split("/")
    if len(parts) != 5 or not parts[3].isdigit() or _UNKNOWN in parts[1:3]:
        return None
    dummy_host, boot, namespace, pid, ticks = parts
    if boot != boot_id():
        return None
    if namespace == _pid_namespace():
        now = _process_start_ticks(int(pid))
        return now not in ("0", "dead") and now == ticks
    return _alive_in_another_namespace(pid, ticks)


def describe_owner(owner: str) -> str:
    """An owner id in words for people: "HOST (pid PID)", or the id as it is when it is not one of ours."""
    parts = owner.split("/")
    if len(parts) == 5 and parts[3].isdigit():
        return f"{parts[0]} (pid {parts[3]})"
    return owner or "an unknown process"


def kept_patch(until: float) -> dict:
    return {"metadata": {"annotations": {ANNOTATION_KEPT_UNTIL: str(int(until))}}}


def kept_until(pod: dict) -> int | None:
    """Until when a Pod is kept for inspection (seconds since the epoch), None if it is not."""
    value = str(((pod.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_KEPT_UNTIL) or "")
    return int(value) if value.isdigit() else None


def leftovers(pods: t.Iterable[dict], now: float | None = None) -> list[tuple[str, str | None, str]]:
    """(name, uid, why) of the Pods of ours that no live job owns: ended ones, ones whose
    controller process is provably gone, and kept ones past their time (at now, seconds since
    the epoch). Pods being deleted and Pods kept for inspection are not counted."""
    now = time.time() if now is None else now
    found = []
    judged: dict[str, bool | None] = {}  # one judgement per owner in a sweep
    for pod in pods:
        metadata = pod.get("metadata") or {}
        name = metadata.get("name")
        if not isinstance(name, str) or metadata.get("deletionTimestamp"):
            continue
        uid = metadata.get("uid") if isinstance(metadata.get("uid"), str) else None
        kept = kept_until(pod)
        if kept is not None:
            if now >= kept:
                found.append((name, uid, "kept for inspection until its deadline, now past"))
            continue
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            found.append((name, uid, f"phase {phase}"))
            continue
        owner = str((metadata.get("annotations") or {}).get(ANNOTATION_OWNER, ""))
        if owner not in judged:
            judged[owner] = owner_is_alive(owner)
        if judged[owner] is False:
            found.append((name, uid, "its controller process is gone"))
    return found
