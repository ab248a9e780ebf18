#!/usr/bin/env python
# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check through the Kubernetes API, with the least-privilege test token, that a job's Pod is gone.

    check_pods.py CONFIG GROUP POD

CONFIG is ansible-test's integration_config.yml. Fails (exit 1) when the Pod POD still exists
or when any Pod of ours labelled with the container group GROUP is left. Plain urllib, not the
code under test; the token is never printed.
"""

from __future__ import annotations

import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

import yaml

SELECTOR = "app.kubernetes.io/managed-by=ephemeral.container_groups,container-groups.ephemeral.io/group={group}"


def get(config: dict, path: str) -> tuple[int, dict]:
    context = ssl.create_default_context(cafile=config["cg_test_ca_file"])
    request = urllib.request.Request(config["cg_test_host"] + path,
                                     headers={"Authorization": f"Bearer {config['cg_test_token']}"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def main() -> int:
    config_path, group, pod = sys.argv[1:4]
    with open(config_path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    base = f"/api/v1/namespaces/{config['cg_test_namespace']}/pods"
    status = get(config, f"{base}/{pod}")[0]
    if status != 404:
        print(f"FAIL: Pod {pod} still exists (GET answered {status})", file=sys.stderr)
        return 1
    query = urllib.parse.urlencode({"labelSelector": SELECTOR.format(group=group)})
    status, listing = get(config, f"{base}?{query}")
    if status != 200:
        print(f"FAIL: listing the Pods of group {group} answered {status}", file=sys.stderr)
        return 1
    left = [item["metadata"]["name"] for item in listing.get("items", [])]
    if left:
        print(f"FAIL: Pods of group {group} left: {left}", file=sys.stderr)
        return 1
    print(f"ok: Pod {pod} is gone and no Pod of group {group} is left")
    return 0


if __name__ == "__main__":
    sys.exit(main())
