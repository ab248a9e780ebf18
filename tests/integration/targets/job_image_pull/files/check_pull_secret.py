# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks that a job's image pull Secret is its Pod's (for job_image_pull/runme.sh).

    python files/check_pull_secret.py SECRETS PODS REGISTRY

SECRETS and PODS are `kubectl get secrets|pods -l <ours> -o json` taken while the job ran.
There must be one of each: a kubernetes.io/dockerconfigjson Secret owned by the Pod alone,
in the Pod's imagePullSecrets, with a login for REGISTRY, the registry of the Pod's image.
Prints the two names; an AssertionError (exit status 1) says what is wrong.
"""

from __future__ import annotations

import base64
import json
import sys


def _items(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["items"]


def main() -> None:
    secrets, pods, registry = _items(sys.argv[1]), _items(sys.argv[2]), sys.argv[3]
    assert len(secrets) == 1 and len(pods) == 1, (len(secrets), len(pods))
    secret, pod = secrets[0], pods[0]
    assert secret["type"] == "kubernetes.io/dockerconfigjson", secret["type"]
    owners = secret["metadata"].get("ownerReferences") or []
    assert [(o["kind"], o["name"], o["uid"]) for o in owners] == [("Pod", pod["metadata"]["name"], pod["metadata"]["uid"])], owners
    assert {"name": secret["metadata"]["name"]} in pod["spec"]["imagePullSecrets"], pod["spec"]["imagePullSecrets"]
    assert registry in json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
    assert pod["spec"]["containers"][0]["image"].startswith(registry + "/")
    print("pull Secret", secret["metadata"]["name"], "owned by Pod", pod["metadata"]["name"])


if __name__ == "__main__":
    main()
