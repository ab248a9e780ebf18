# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exec stream and the plugin's file transfer, called directly against the real cluster.

    CG_COLLECTIONS_ROOT=<dir holding ansible_collections> python test_stream.py CONFIG POD WORKDIR

Checks what a playbook cannot see: every byte of a large binary output and input (sha256),
live delivery, exit codes, the v4 protocol behaviour, and that put_file keeps the file mode and
fetch_file keeps it less the umask.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import typing as t

import yaml
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader, init_plugin_loader

# The collection loader must be in place before anything under ansible_collections is imported.
init_plugin_loader([os.environ["CG_COLLECTIONS_ROOT"]])

# pylint: disable=wrong-import-position
from ansible_collections.ephemeral.container_groups.plugins.connection.pod import PUT_SCRIPT
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.auth import K8sAuth, get_endpoint
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import (
    ExecStatusError,
    ExecTimeout,
    K8sApiError,
    StdinNotSupported,
    explain_api_exception,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.channels import V4_PROTOCOL, exec_in_pod

MB = 1024 * 1024


class Run:
    def __init__(self, config: dict, pod: str) -> None:
        self.config = config
        self.pod = pod
        self.namespace = config["cg_test_namespace"]
        self.auth = K8sAuth(host=config["cg_test_host"], api_key=config["cg_test_token"], ca_cert_file=config["cg_test_ca_file"])
        self.endpoint = get_endpoint(self.auth)

    def run(self, argv: list[str], stdin: t.Any = None, **kwargs: t.Any) -> tuple[int, bytes, bytes]:
        out, err = bytearray(), bytearray()
        rc = exec_in_pod(self.endpoint, self.namespace, self.pod, "main", argv, stdin, out.extend, err.extend, **kwargs)
        return rc, bytes(out), bytes(err)


def test_large_binary_output_arrives_whole(r: Run) -> None:
    digest = hashlib.sha256()
    count = [0]

    def take(data: bytes) -> None:
        digest.update(data)
        count[0] += len(data)

    size = 100 * MB
    script = f"head -c {size} /dev/urandom > /tmp/cg-out && sha256sum < /tmp/cg-out >&2 && cat /tmp/cg-out"
    err = bytearray()
    rc = exec_in_pod(r.endpoint, r.namespace, r.pod, "main", ["sh", "-c", script], None, take, err.extend)
    assert rc == 0, err
    assert count[0] == size, count[0]
    assert err.split()[0].decode() == digest.hexdigest(), (err, digest.hexdigest())
    r.run(["rm", "-f", "/tmp/cg-out"])


def test_large_binary_input_arrives_whole(r: Run) -> None:
    data = os.urandom(64 * MB)
    rc, out, dummy_err = r.run(["sha256sum"], stdin=data)
    assert rc == 0 and out.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_interleaved_input_and_output(r: Run) -> None:
    # cat echoes what it reads: input and output flow at the same time.
    data = os.urandom(32 * MB)
    rc, out, dummy_err = r.run(["cat"], stdin=iter([data[i:i + 1_000_000] for i in range(0, len(data), 1_000_000)]))
    assert rc == 0 and out == data


def test_exit_codes_and_streams(r: Run) -> None:
    assert r.run(["sh", "-c", "echo out; echo err >&2; exit 42"]) == (42, b"out\n", b"err\n")
    assert r.run(["true"])[0] == 0


def test_missing_executable(r: Run) -> None:
    # Guarded, the wrapper shell reports it; unguarded, the runtime refuses to start it.
    rc, dummy_out, err = r.run(["/no/such/binary"])
    assert rc == 127 and b"not found" in err, (rc, err)
    try:
        r.run(["/no/such/binary"], guard_output=False)
    except ExecStatusError as exc:
        assert "no/such/binary" in str(exc), exc
    else:
        raise AssertionError("expected ExecStatusError")


def test_output_survives_the_command_exiting_at_once(r: Run) -> None:
    # Unguarded, the runtime sometimes drops the end of this output under load.
    r.run(["sh", "-c", "head -c 20000000 /dev/urandom > /tmp/cg-exit"])
    for dummy_index in range(5):
        count = [0]
        rc = exec_in_pod(r.endpoint, r.namespace, r.pod, "main", ["sh", "-c", "echo x >&2; cat /tmp/cg-exit"], None,
                         lambda data: count.__setitem__(0, count[0] + len(data)))
        assert rc == 0 and count[0] == 20_000_000, count
    r.run(["rm", "-f", "/tmp/cg-exit"])


def test_output_is_live(r: Run) -> None:
    seen: list[float] = []
    started = time.monotonic()
    exec_in_pod(r.endpoint, r.namespace, r.pod, "main", ["sh", "-c", "echo a; sleep 2; echo b"],
                on_stdout=lambda _d: seen.append(time.monotonic() - started))
    assert len(seen) == 2 and seen[1] - seen[0] > 1.5, seen


def test_timeout(r: Run) -> None:
    started = time.monotonic()
    try:
        r.run(["sleep", "30"], timeout=1)
    except ExecTimeout:
        assert time.monotonic() - started < 10
    else:
        raise AssertionError("expected ExecTimeout")


def test_v4_protocol(r: Run) -> None:
    assert r.run(["sh", "-c", "echo v4; exit 7"], protocols=[V4_PROTOCOL]) == (7, b"v4\n", b"")
    assert r.run(["sh", "-c", "echo v4; exit 7"], protocols=[V4_PROTOCOL], guard_output=False) == (7, b"v4\n", b"")
    try:
        r.run(["cat"], stdin=b"x", protocols=[V4_PROTOCOL])
    except StdinNotSupported as exc:
        assert "v5.channel.k8s.io" in str(exc)
    else:
        raise AssertionError("expected StdinNotSupported")
    # put_file's command counts the bytes itself, so it needs no end of stdin and works on v4.
    data = os.urandom(3 * MB + 17)
    rc, out, err = r.run(["sh", "-c", PUT_SCRIPT, "sh", "/tmp/cg-v4", "0640", str(len(data))],
                         stdin=data, protocols=[V4_PROTOCOL], stdin_eof=False)
    assert rc == 0 and out.strip() == str(len(data)).encode(), (rc, out, err)
    rc, out, dummy_err = r.run(["sh", "-c", "sha256sum < /tmp/cg-v4 && stat -c %a /tmp/cg-v4 && rm /tmp/cg-v4"])
    assert out.split() == [hashlib.sha256(data).hexdigest().encode(), b"-", b"640"], out


def test_forbidden_call_is_explained(r: Run) -> None:
    try:
        r.endpoint.request("GET", f"/api/v1/namespaces/{r.namespace}/secrets")
    except K8sApiError as exc:
        message = explain_api_exception(exc, verb="list", resource="secrets", namespace=r.namespace)
        assert f'may not list secrets in namespace "{r.namespace}"' in message, message
        assert r.config["cg_test_token"] not in message
    else:
        raise AssertionError("the test token should not list secrets")


def test_plugin_put_and_fetch_keep_the_mode(r: Run, workdir: str) -> None:
    conn = connection_loader.get("ephemeral.container_groups.pod", PlayContext(), os.devnull)
    conn.set_options(
        var_options={
            "inventory_hostname": r.pod,
            "ansible_pod_api_host": r.config["cg_test_host"],
            "ansible_pod_api_key": r.config["cg_test_token"],
            "ansible_pod_ca_cert": r.config["cg_test_ca_file"],
            "ansible_pod_namespace": r.namespace,
            "ansible_pod_container": "runner",
        }
    )
    umask = os.umask(0o022)
    os.umask(umask)
    for name, mode, size in (("exe", 0o750, 1000), ("zero", 0o604, 0), ("odd ☃ name", 0o600, 70_001), ("open", 0o777, 10)):
        local = os.path.join(workdir, name)
        with open(local, "wb") as handle:
            handle.write(os.urandom(size))
        os.chmod(local, mode)
        remote = f"/tmp/cg-plugin-{name}"
        conn.put_file(local, remote)
        rc, out, dummy_err = conn.exec_command(f"stat -c '%a %s %u' '{remote}'")
        assert rc == 0 and out.decode().split() == [f"{mode:o}", str(size), "1000"], out
        back = local + ".back"
        conn.fetch_file(remote, back)
        # As sftp: the container file's mode less the umask (a 0777 file does not stay writable by all).
        assert oct(os.stat(back).st_mode & 0o777) == oct(mode & ~umask)
        with open(local, "rb") as a, open(back, "rb") as b:
            assert a.read() == b.read()
        conn.exec_command(f"rm -f '{remote}'")
    try:
        conn.fetch_file("/tmp/cg-no-such-file", os.path.join(workdir, "missing"))
    except Exception as exc:  # AnsibleFileNotFound
        assert type(exc).__name__ == "AnsibleFileNotFound", exc
        assert not os.path.exists(os.path.join(workdir, "missing"))
    else:
        raise AssertionError("expected AnsibleFileNotFound")
    conn.close()


def main() -> int:
    config_path, pod, workdir = sys.argv[1:4]
    with open(config_path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    r = Run(config, pod)
    tests = [(name, fn) for name, fn in globals().items() if name.startswith("test_")]
    for name, fn in tests:
        started = time.monotonic()
        if "workdir" in fn.__code__.co_varnames[: fn.__code__.co_argcount]:
            fn(r, workdir)
        else:
            fn(r)
        print(f"ok {name} ({time.monotonic() - started:.1f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
