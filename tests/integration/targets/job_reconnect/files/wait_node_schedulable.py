# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waits until the cluster's node takes Pods again (for job_reconnect/runme.sh).

    python files/wait_node_schedulable.py KUBECONFIG

Reads the first node through the API server with KUBECONFIG (read only), once a second, 120
times at most. Exits 0 as soon as it is Ready and has no taint; otherwise exits 1 with a
message naming the node, its Ready state and its taints.
"""

from __future__ import annotations

import sys
import time

import kubernetes


def _schedulable(core: kubernetes.client.CoreV1Api) -> tuple[bool, str]:
    """Whether the first node is Ready with no taint, and what it is like."""
    node = core.list_node().items[0]
    ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
    return bool(ready and not node.spec.taints), f"node {node.metadata.name}: Ready={ready}, taints={node.spec.taints}"


def main() -> int | str:
    kubernetes.config.load_kube_config(sys.argv[1])
    core = kubernetes.client.CoreV1Api()
    state = ""
    for dummy in range(120):
        schedulable, state = _schedulable(core)
        if schedulable:
            return 0
        time.sleep(1)
    return state


if __name__ == "__main__":
    sys.exit(main())
