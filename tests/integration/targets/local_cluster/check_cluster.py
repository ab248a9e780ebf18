"""The local cluster does what the collection needs, seen through the kubernetes client.

With the least-privilege test token: a Pod using the EE image reaches Running, exec in it
runs ansible and python, and the token is refused (403) outside what a container group
needs. Exits non-zero with a message on the first failed check.
"""

from __future__ import annotations

import sys
import time
import uuid

import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream


def _api(config: dict) -> client.CoreV1Api:
    configuration = client.Configuration(host=config["cg_test_host"])
    configuration.api_key = {"authorization": config["cg_test_token"]}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    configuration.ssl_ca_cert = config["cg_test_ca_file"]
    return client.CoreV1Api(client.ApiClient(configuration))


def _check(condition: bool, message: str) -> None:
    if not condition:
        sys.exit(f"FAILED: {message}")
    print(f"ok: {message}")


def _expect_forbidden(call, what: str) -> None:
    try:
        call()
    except ApiException as exc:
        _check(exc.status == 403, f"{what} is refused with 403 (got {exc.status})")
        return
    sys.exit(f"FAILED: {what} was allowed; the test token must not have that right")


def _pod(name: str, namespace: str, image: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "containers": [{"name": "worker", "image": image, "args": ["sleep", "infinity"]}],
        },
    }


def _exec(api: client.CoreV1Api, name: str, namespace: str, argv: list[str]) -> str:
    return stream(
        api.connect_get_namespaced_pod_exec, name, namespace, command=argv,
        stdout=True, stderr=True, stdin=False, tty=False,
    )


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    namespace, image = config["cg_test_namespace"], config["cg_test_image"]
    api = _api(config)
    name = f"cg-cluster-check-{uuid.uuid4().hex[:8]}"
    api.create_namespaced_pod(namespace, _pod(name, namespace, image))
    try:
        started = time.monotonic()
        phase = None
        while time.monotonic() - started < 120:
            phase = api.read_namespaced_pod(name, namespace).status.phase
            if phase != "Pending":
                break
            time.sleep(0.2)
        _check(phase == "Running", f"Pod {namespace}/{name} with {image} is Running "
               f"after {time.monotonic() - started:.1f}s (phase {phase})")
        out = _exec(api, name, namespace, ["ansible", "--version"])
        _check(out.startswith("ansible [core "), f"exec runs ansible --version: {out.splitlines()[0]!r}")
        out = _exec(api, name, namespace, ["python3", "-c", "print(42)"])
        _check(out.strip() == "42", "exec runs python3 -c 'print(42)'")
        _expect_forbidden(lambda: api.list_namespaced_secret(namespace), f"listing Secrets in {namespace}")
        other = config["cg_test_other_namespace"]
        _expect_forbidden(
            lambda: api.create_namespaced_pod(other, _pod(name, other, image)),
            f"creating a Pod in namespace {other}",
        )
    finally:
        api.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            api.read_namespaced_pod(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                break
            raise
        time.sleep(0.2)
    else:
        sys.exit(f"FAILED: Pod {namespace}/{name} still exists 60s after delete")
    print(f"ok: Pod {namespace}/{name} deleted")


if __name__ == "__main__":
    main()
