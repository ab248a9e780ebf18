# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who owns a Pod, and when a later job may call that owner gone: only with proof."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job import owner as _owner
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.owner import (
    ANNOTATION_OWNER,
    kept_patch,
    leftovers,
    owner_id,
    owner_is_alive,
)


def _with(owner: str, **changes: str) -> str:
    host, boot, namespace, pid, ticks = owner.split("/")
    values = {"host": host, "boot": boot, "namespace": namespace, "pid": pid, "ticks": ticks, **changes}
    return "/".join(values[key] for key in ("host", "boot", "namespace", "pid", "ticks"))


def test_this_process_is_alive_and_a_gone_or_reused_pid_is_not(dead_owner):
    me = owner_id()
    assert owner_is_alive(me) is True
    assert owner_is_alive(_with(me, ticks="1")) is False, "same pid, another start time: a reused pid"
    assert owner_is_alive(dead_owner) is False


@pytest.mark.parametrize(("change", "why"), [
    ({"boot": "another-boot-id"}, "another kernel: a cloned VM or another machine with the same host name"),
    ({"host": "another-host"}, None),
    ({"namespace": "?"}, "an owner that could not read its own namespace"),
])
def test_an_owner_on_another_kernel_or_unreadable_proves_nothing(change, why):
    expected = True if why is None else None
    assert owner_is_alive(_with(owner_id(), **change)) is expected, why or "the host name alone decides nothing"


@pytest.mark.parametrize("owner", ["garbage", "host/123/456", "a/b/c/d/e", ""])
def test_an_owner_in_another_format_proves_nothing(owner):
    assert owner_is_alive(owner) is None


def test_a_killed_owner_waiting_to_be_reaped_is_not_alive():
    # A zombie keeps its /proc entry and start time until its parent reaps it.
    child = subprocess.Popen(["sh", "-c", "exit 0"])  # pylint: disable=consider-using-with
    try:
        deadline = time.monotonic() + 10
        while True:
            with open(f"/proc/{child.pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if fields[0] == "Z":
                break
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        assert owner_is_alive(_with(owner_id(), pid=str(child.pid), ticks=fields[19])) is False
    finally:
        child.wait()


class _Kernel:
    """Processes as /proc shows them to anyone: pid -> (pid inside its PID namespace, start ticks)."""

    def __init__(self, ours: str, processes: dict[str, tuple[str, str]], hides: bool = False) -> None:
        self.ours = ours
        self.processes = processes
        self.hides = hides

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(_owner.os, "listdir", lambda path: list(self.processes) + ["self", "stat"])
        monkeypatch.setattr(_owner, "_pid_namespace", lambda pid="self": self.ours)
        monkeypatch.setattr(_owner, "_proc_hides_processes", lambda: self.hides)
        monkeypatch.setattr(_owner, "_stat_fields", lambda pid: ["S"] + ["0"] * 18 + [self.processes[str(pid)][1]])
        monkeypatch.setattr(_owner, "_namespace_pid", lambda pid: self.processes[pid][0])


INITIAL = _owner.INITIAL_PID_NAMESPACE


@pytest.mark.parametrize(("ours", "processes", "hides", "expected"), [
    pytest.param(INITIAL, {"100": ("7", "500"), "101": ("101", "400")}, False, True, id="seen running"),
    pytest.param(INITIAL, {"100": ("7", "999")}, False, False, id="a reused pid"),
    pytest.param(INITIAL, {"100": ("8", "500")}, False, False, id="another process started in the same tick"),
    pytest.param(INITIAL, {}, False, False, id="nothing of it left, and the initial namespace sees all"),
    pytest.param(INITIAL, {}, True, None, id="a /proc that hides processes proves nothing"),
    pytest.param("4026532111", {}, False, None, id="from a container's namespace, nothing is proven"),
])
def test_an_owner_in_another_pid_namespace_is_judged_only_from_the_initial_one(monkeypatch, ours, processes, hides, expected):
    owner = f"host/{_owner.boot_id()}/4026532999/7/500"
    _Kernel(ours, processes, hides).install(monkeypatch)
    assert owner_is_alive(owner) is expected


@pytest.mark.parametrize(("options", "hides"), [
    ("rw", False), ("rw,hidepid=0", False), ("rw,hidepid=off", False),
    ("rw,hidepid=2", True), ("rw,hidepid=invisible", True), ("rw,subset=pid", True),
])
def test_a_proc_that_hides_other_users_processes_is_told(options, hides):
    mountinfo = ("21 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
                 f"22 27 0:21 / /proc rw,relatime - proc proc {options}\n")
    assert _owner.hides_processes(mountinfo) is hides


def test_leftovers_are_ended_pods_and_pods_of_owners_proven_gone(dead_owner):
    def pod(name, phase="Running", owner=None, deleting=False):
        metadata = {"name": name, "uid": f"uid-{name}", "annotations": {ANNOTATION_OWNER: owner} if owner else {}}
        if deleting:
            metadata["deletionTimestamp"] = "2026-12-01T00:00:00Z"
        return {"metadata": metadata, "status": {"phase": phase}}

    pods = [pod("live", owner=owner_id()), pod("done", "Succeeded"), pod("orphan", owner=dead_owner),
            pod("elsewhere", owner=_with(owner_id(), boot="another-boot-id")), pod("old-format", owner=f"host/{os.getpid()}/1"),
            pod("going", "Failed", deleting=True)]
    assert leftovers(pods) == [("done", "uid-done", "phase Succeeded"), ("orphan", "uid-orphan", "its controller process is gone")]


def test_a_kept_pod_is_left_alone_until_its_time_then_removed(dead_owner):
    kept = {"metadata": {"name": "cg-kept", "uid": "u1", "annotations": {ANNOTATION_OWNER: dead_owner, **kept_patch(1000)["metadata"]["annotations"]}},
            "status": {"phase": "Failed"}}
    assert leftovers([kept], now=999) == []
    assert leftovers([kept], now=1000) == [("cg-kept", "u1", "kept for inspection until its deadline, now past")]
