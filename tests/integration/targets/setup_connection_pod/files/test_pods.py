#!/usr/bin/env python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create or delete the Pod the connection tests run in, with the least-privilege test token.

    test_pods.py CONFIG create NAME   # create, wait until its long-running containers run
    test_pods.py CONFIG delete NAME   # delete (no error if it is gone)

CONFIG is ansible-test's integration_config.yml (cg_test_host, cg_test_token, ...). Uses the
kubernetes library directly, not the code under test.
"""

from __future__ import annotations

import sys
import time

import kubernetes
import yaml

# The Pod has three containers: "main" (root, set here: the image runs as uid 1000), "runner"
# (uid 1000), and "done", which exits at once, for the "container not running" case.
RUNNING = ("main", "runner")


def pod_manifest(name: str, image: str) -> dict:
    sleeper = {"image": image, "command": ["sleep", "infinity"], "imagePullPolicy": "IfNotPresent",
               "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "connection-pod-tests"}},
        "spec": {
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "activeDeadlineSeconds": 7200,
            "containers": [
                {**sleeper, "name": "main", "securityContext": {"runAsUser": 0, "runAsGroup": 0},
                 "env": [{"name": "HOME", "value": "/root"}]},
                {**sleeper, "name": "runner", "securityContext": {"runAsUser": 1000, "runAsGroup": 1000},
                 "env": [{"name": "HOME", "value": "/home/runner"}]},
                {"name": "done", "image": image, "command": ["true"], "imagePullPolicy": "IfNotPresent"},
            ],
        },
    }


def main() -> int:
    config_path, action, name = sys.argv[1:4]
    with open(config_path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    configuration = kubernetes.client.Configuration(host=config["cg_test_host"])
    configuration.api_key = {"authorization": config["cg_test_token"]}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    configuration.ssl_ca_cert = config["cg_test_ca_file"]
    namespace = config["cg_test_namespace"]
    with kubernetes.client.ApiClient(configuration) as api_client:
        core = kubernetes.client.CoreV1Api(api_client)
        if action == "delete":
            try:
                core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
            except kubernetes.client.ApiException as exc:
                if exc.status != 404:
                    raise
            return 0
        core.create_namespaced_pod(namespace, pod_manifest(name, config["cg_test_image"]))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            pod = core.read_namespaced_pod(name, namespace)
            states = {s.name: s.state for s in pod.status.container_statuses or []}
            if all(states.get(c) is not None and states[c].running for c in RUNNING) and states.get("done") and states["done"].terminated:
                print(f"pod {namespace}/{name} is running")
                return 0
            for container in RUNNING:
                state = states.get(container)
                if state is not None and state.terminated:
                    # Fail at once, with what the container said (its last log lines).
                    log = core.read_namespaced_pod_log(name, namespace, container=container, tail_lines=5)
                    print(f"pod {namespace}/{name}: container {container} exited {state.terminated.exit_code} "
                          f"({state.terminated.reason}): {log.strip()}", file=sys.stderr)
                    return 1
            if pod.status.phase in ("Failed", "Succeeded"):
                break
            time.sleep(1)
        print(f"pod {namespace}/{name} did not start (phase {pod.status.phase})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
