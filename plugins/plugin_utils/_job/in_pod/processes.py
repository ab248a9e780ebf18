# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The target's processes, for the runner (``runner.py``) that runs beside this file in the Pod.

Found from /proc (its process group, and everything below the supervisor, which is a child
subreaper), reaped, and stopped: SIGTERM, then SIGKILL after a grace. The standard library
only, Python 3.6+, like the runner.
"""

import ctypes
import os
import signal
import time
from typing import Callable, Dict, List, Optional, Tuple

POLL_SECONDS = 0.05
#: prctl(2) option that makes orphaned descendants this process's children.
_PR_SET_CHILD_SUBREAPER = 36


def stat(pid: int) -> Optional[List[str]]:
    """The fields of /proc/PID/stat after the command name (state, ppid, pgrp, ...); None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (ended, not yet reaped by the container's init) counts as gone.
    fields = stat(pid)
    return fields is None or fields[0] != "Z"


def become_subreaper() -> None:
    try:
        # The running interpreter's own symbols include libc's (glibc and musl alike).
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux (or no libc): stop still reaches the target's process group


def reap(ended: Dict[int, int]) -> None:
    """Reap every ended child, adopted orphans too (no zombie lingers); note each wait status."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ended[pid] = status


def _processes() -> Dict[int, Tuple[int, int]]:
    """{pid: (parent pid, process group)} of every live (not zombie) process, from /proc."""
    table = {}
    for name in os.listdir("/proc"):
        fields = stat(int(name)) if name.isdigit() else None
        if fields is not None and fields[0] != "Z":  # None: not a process, or gone meanwhile
            table[int(name)] = (int(fields[1]), int(fields[2]))
    return table


def target_processes(supervisor: Optional[int], pgid: int) -> List[int]:
    """The target's live processes: its process group, and everything below the supervisor."""
    table = _processes()
    children = {}  # type: Dict[int, List[int]]
    for pid, (parent, _group) in table.items():
        children.setdefault(parent, []).append(pid)
    found = set(pid for pid, (_parent, group) in table.items() if group == pgid)
    todo = list(children.get(supervisor, [])) if supervisor is not None else []
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    found.discard(os.getpid())
    return sorted(found)


def _signal_all(pids: List[int], pgid: int, signum: int) -> None:
    _signal_group(pgid, signum)
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def stop_everything(supervisor: Optional[int], pgid: int, grace: float, wait: Callable[[], None]) -> Tuple[bool, bool]:
    """SIGTERM to the target's processes, SIGKILL after grace: (whether SIGKILL was needed,
    whether any is still running)."""
    left = target_processes(supervisor, pgid)
    _signal_all(left, pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        wait()
        left = target_processes(supervisor, pgid)
        _signal_all(left, pgid, signal.SIGTERM)  # and to what was started meanwhile
    if not left:
        return False, False
    deadline = time.monotonic() + 2
    while left and time.monotonic() < deadline:
        _signal_all(left, pgid, signal.SIGKILL)
        time.sleep(POLL_SECONDS)
        wait()
        left = target_processes(supervisor, pgid)
    return True, bool(left)


def _signal_group(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
        return True
    except (ProcessLookupError, PermissionError):
        return False


#: Where the container's memory cgroup keeps its OOM kill count and its limit: cgroup v2,
#: then v1 (whose kernel kills only the largest process, so the container lives on and
#: Kubernetes reports nothing).
_MEMORY_CGROUPS = (("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory.max"),
                   ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory/memory.limit_in_bytes"))
#: A v1 limit above this is "no limit" (the kernel writes PAGE_COUNTER_MAX pages there).
_NO_LIMIT = 1 << 62


def oom_kills() -> Tuple[int, int]:
    """(processes the OOM killer killed in this container, its memory limit in bytes or 0 for
    none); (0, 0) where the memory cgroup cannot be read."""
    for events_path, limit_path in _MEMORY_CGROUPS:
        try:
            with open(events_path) as events:
                kills = [int(line.split()[1]) for line in events if line.startswith("oom_kill ")]
            with open(limit_path) as limit_file:
                limit = limit_file.read().strip()
        except (OSError, ValueError, IndexError):
            continue
        limit_bytes = int(limit) if limit.isdigit() else 0
        return (kills[0] if kills else 0), (limit_bytes if limit_bytes < _NO_LIMIT else 0)
    return 0, 0
