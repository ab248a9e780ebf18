"""Looks at the job Pods of one container group through the Kubernetes API (test token).

  pods.py CONFIG count GROUP                    number of Pods of the group
  pods.py CONFIG names GROUP                    their names, one per line
  pods.py CONFIG wait-gone GROUP SECONDS        exit 1 unless none is left in time
  pods.py CONFIG wait-phase GROUP PHASE SECONDS exit 1 unless a Pod reaches PHASE in time
  pods.py CONFIG monitor GROUP STOPFILE         poll until STOPFILE exists; print the most
                                                Pods seen at once
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


def _pods(config: dict, group: str) -> list[dict]:
    selector = urllib.parse.quote(f"{MANAGED},{GROUP}={group}")
    url = f"{config['cg_test_host']}/api/v1/namespaces/{config['cg_test_namespace']}/pods?labelSelector={selector}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {config['cg_test_token']}"})
    context = ssl.create_default_context(cafile=config["cg_test_ca_file"])
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return json.load(response)["items"]


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
    if command == "monitor":
        stop, most = sys.argv[4], 0
        while not os.path.exists(stop):
            most = max(most, len(_pods(config, group)))
            time.sleep(0.1)
        print(most)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
