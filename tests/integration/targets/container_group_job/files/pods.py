"""Looks at the job Pods of one container group through the Kubernetes API (test token).

  pods.py CONFIG count GROUP                    number of Pods of the group
  pods.py CONFIG names GROUP                    their names, one per line
  pods.py CONFIG wait-gone GROUP SECONDS        exit 1 unless none is left in time
  pods.py CONFIG wait-phase GROUP PHASE SECONDS exit 1 unless a Pod reaches PHASE in time
  pods.py CONFIG delete GROUP                   delete its Pods at once
  pods.py CONFIG waiter GROUP NAME             create a Pod waiting in GROUP's queue (gated, with
                                                its ticket) whose controller is on another
                                                machine and says nothing: a dead waiter
  pods.py CONFIG monitor GROUP STOPFILE         poll until STOPFILE exists; print the most
                                                Pods seen admitted at once (past the queue's
                                                scheduling gate, not being deleted), then the
                                                most seen waiting in the queue
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.parse
import urllib.request

import yaml

MANAGED = "app.kubernetes.io/managed-by=ephemeral.container_groups"
GROUP = "container-groups.ephemeral.io/group"
QUEUE_GATE = "container-groups.ephemeral.io/queue"


def _admitted(pod: dict) -> bool:
    gates = [gate.get("name") for gate in (pod.get("spec") or {}).get("schedulingGates") or []]
    return QUEUE_GATE not in gates and not pod["metadata"].get("deletionTimestamp")


def _call(config: dict, path: str, method: str = "GET", body: dict | None = None, content_type: str = "application/json") -> dict:
    url = f"{config['cg_test_host']}/api/v1/namespaces/{config['cg_test_namespace']}/pods{path}"
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {config['cg_test_token']}", "Content-Type": content_type})
    context = ssl.create_default_context(cafile=config["cg_test_ca_file"])
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return json.load(response)


def _pods(config: dict, group: str) -> list[dict]:
    return _call(config, "?labelSelector=" + urllib.parse.quote(f"{MANAGED},{GROUP}={group}"))["items"]


def _waiter(config: dict, group: str, name: str) -> None:
    labels = {"app.kubernetes.io/managed-by": "ephemeral.container_groups", GROUP: group,
              "container-groups.ephemeral.io/job-id": name}
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "labels": labels,
                        "annotations": {"container-groups.ephemeral.io/owner": "elsewhere/boot-id/4026531836/1/1"}},
           "spec": {"schedulingGates": [{"name": QUEUE_GATE}], "activeDeadlineSeconds": 600,
                    "containers": [{"name": "worker", "image": config["cg_test_image"], "args": ["sleep", "infinity"]}]}}
    created = _call(config, "", "POST", pod)
    ticket = {"metadata": {"annotations": {"container-groups.ephemeral.io/ticket": created["metadata"]["resourceVersion"]}}}
    _call(config, f"/{name}", "PATCH", ticket, "application/merge-patch+json")


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    command, group = sys.argv[2], sys.argv[3]
    if command == "count":
        print(len(_pods(config, group)))
        return 0
    if command == "names":
        for pod in _pods(config, group):
            print(pod["metadata"]["name"])
        return 0
    if command == "wait-gone":
        deadline = time.monotonic() + float(sys.argv[4])
        while time.monotonic() < deadline:
            left = _pods(config, group)
            if not left:
                return 0
            time.sleep(0.2)
        print(f"Pods of group {group} still there: {[p['metadata']['name'] for p in left]}")
        return 1
    if command == "wait-phase":
        phase, deadline = sys.argv[4], time.monotonic() + float(sys.argv[5])
        while time.monotonic() < deadline:
            pods = _pods(config, group)
            if any((p.get("status") or {}).get("phase") == phase for p in pods):
                return 0
            time.sleep(0.5)
        print(f"no Pod of group {group} reached phase {phase}")
        return 1
    if command == "delete":
        for pod in _pods(config, group):
            _call(config, f"/{pod['metadata']['name']}", "DELETE", {"gracePeriodSeconds": 0})
        return 0
    if command == "waiter":
        _waiter(config, group, sys.argv[4])
        return 0
    if command == "monitor":
        stop, most, most_waiting = sys.argv[4], 0, 0
        while not os.path.exists(stop):
            try:
                pods = _pods(config, group)
            except OSError:  # the API server restarting under a fault-injection test
                time.sleep(0.2)
                continue
            admitted = sum(map(_admitted, pods))
            most, most_waiting = max(most, admitted), max(most_waiting, len(pods) - admitted)
            time.sleep(0.1)
        print(most, most_waiting)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
