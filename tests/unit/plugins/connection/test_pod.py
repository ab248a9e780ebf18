# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pod connection's own logic: options, the fetch header, become input, diagnosis."""

from __future__ import annotations

import io
import os
import subprocess

import pytest
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader

from ansible_collections.ephemeral.container_groups.plugins.connection import pod as pod_module
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sApiError


@pytest.fixture()
def connection():
    conn = connection_loader.get("ephemeral.container_groups.pod", PlayContext(), os.devnull)
    conn.set_options(var_options={"inventory_hostname": "mypod"})
    return conn


def test_options_and_defaults(connection):
    assert connection.transport == "ephemeral.container_groups.pod"
    assert connection.get_option("pod") == "mypod"
    assert connection.get_option("pipelining") is True
    assert connection.get_option("validate_certs") is True
    assert connection.get_option("connect_timeout") == 30
    assert connection.has_pipelining and not connection.has_tty


def test_pod_variables_win_over_the_inventory_name(connection):
    connection.set_options(var_options={"inventory_hostname": "h", "ansible_host": "addr", "ansible_pod_name": "real-pod"})
    assert connection.get_option("pod") == "real-pod"
    connection.set_options(var_options={"inventory_hostname": "h", "ansible_pipelining": False, "ansible_pod_namespace": "ns"})
    assert connection.get_option("pod") == "h"
    assert connection.get_option("pipelining") is False
    assert connection.get_option("namespace") == "ns"


def test_setup_errors_name_the_pod(connection):
    connection.set_options(var_options={"inventory_hostname": "mypod", "ansible_pod_api_host": "ftp://nope"})
    with pytest.raises(AnsibleConnectionFailure, match='Pod mypod: cannot set up the Kubernetes client: .*not an http'):
        connection._connect()


# -- fetch header -----------------------------------------------------------------------------


@pytest.mark.parametrize("step", [1, 3, 1000])
def test_fetch_sink_splits_header_and_content(step):
    data = b"12 644\n" + b"hello\nworld\n"
    out = io.BytesIO()
    sink = pod_module._FetchSink(out)
    for start in range(0, len(data), step):
        sink(data[start:start + step])
    assert (sink.size, sink.mode, sink.written, out.getvalue()) == (12, 0o644, 12, b"hello\nworld\n")


def test_fetch_sink_without_mode_and_with_a_bad_header():
    sink = pod_module._FetchSink(io.BytesIO())
    sink(b"0 -\n")
    assert (sink.size, sink.mode, sink.written) == (0, None, 0)
    with pytest.raises(AnsibleConnectionFailure, match="unexpected header"):
        pod_module._FetchSink(io.BytesIO())(b"garbage\n")


# -- become -----------------------------------------------------------------------------------


class FakeBecome:
    prompt = "[sudo via ansible, key=k] password:"

    def check_success(self, out: bytes) -> bool:
        return b"BECOME-SUCCESS-k" in out

    def check_password_prompt(self, out: bytes) -> bool:
        return self.prompt.encode() in out

    def get_option(self, name: str, playcontext: object = None) -> str:
        assert name == "become_pass"
        return "pa55"


@pytest.mark.parametrize("in_data, expected", [(b"module", [b"pa55\n", b"module"]), (None, [b"pa55\n"])])
def test_become_input_waits_for_the_prompt(connection, in_data, expected):
    connection.become = FakeBecome()
    stdout, stderr = bytearray(), bytearray()
    feed = connection._become_input(in_data, stdout, stderr)
    assert next(feed) == b"" and next(feed) == b""
    stderr.extend(FakeBecome.prompt.encode())
    assert list(feed) == expected


def test_become_input_skips_the_password_when_no_prompt_comes(connection):
    connection.become = FakeBecome()
    stdout, stderr = bytearray(), bytearray()
    feed = connection._become_input(b"module", stdout, stderr)
    assert next(feed) == b""
    stdout.extend(b"BECOME-SUCCESS-k\n")
    assert list(feed) == [b"module"]


# -- diagnosis of a refused exec ----------------------------------------------------------------


class FakeEndpoint:
    host = "https://k8s"

    def __init__(self, pod: dict | None = None, status: int | None = None) -> None:
        self.pod = pod
        self.status = status

    def request(self, method: str, path: str) -> dict:
        assert (method, path) == ("GET", "/api/v1/namespaces/ns/pods/mypod")
        if self.status:
            raise K8sApiError(self.status, "Err", '{"message": "x"}')
        return self.pod or {}


def pod(containers, statuses, phase="Running", annotations=None):
    return {
        "metadata": {"annotations": annotations or {}},
        "spec": {"containers": [{"name": n} for n in containers]},
        "status": {"phase": phase, "containerStatuses": statuses},
    }


@pytest.mark.parametrize(
    "container, endpoint, expected",
    [
        (None, FakeEndpoint(status=404), "the Pod was not found (404): check the Pod name and namespace"),
        ("nope", FakeEndpoint(pod(["a", "b"], [])), 'the Pod has no container "nope" (its containers: a, b)'),
        ("a", FakeEndpoint(pod(["a"], [{"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}], "Succeeded")),
         'container "a" is not running: it terminated (exit code 0, Completed); the Pod is Succeeded'),
        (None, FakeEndpoint(pod(["a"], [{"name": "a", "state": {"waiting": {"reason": "ImagePullBackOff"}}}], "Pending")),
         'container "a" is not running (waiting: ImagePullBackOff); the Pod is Pending'),
        ("a", FakeEndpoint(pod(["a"], [{"name": "a", "state": {"running": {}}}])), None),
        (None, FakeEndpoint(status=403), None),
    ],
)
def test_diagnosis_reads_the_pod(connection, container, endpoint, expected):
    connection._pod, connection._namespace, connection._container = "mypod", "ns", container
    connection._endpoint = endpoint
    assert connection._diagnose() == expected


@pytest.mark.parametrize(
    "annotations, expected",
    [({}, "first"), ({"kubectl.kubernetes.io/default-container": "second"}, "second"), ({"kubectl.kubernetes.io/default-container": "x"}, "first")],
)
def test_default_container(connection, annotations, expected):
    connection._pod, connection._namespace = "mypod", "ns"
    connection._endpoint = FakeEndpoint(pod(["first", "second"], [], annotations=annotations))
    assert connection._default_container() == expected


def test_put_sends_exactly_the_size_it_announced():
    data = os.urandom(3 * pod_module.STDIN_CHUNK + 10)
    # A file that grew after its size was taken: only the announced bytes go.
    assert b"".join(pod_module._exactly(io.BytesIO(data + b"more"), len(data), "f")) == data
    assert list(pod_module._exactly(io.BytesIO(b""), 0, "f")) == []
    with pytest.raises(AnsibleError, match=r"cannot put f: it shrank to 4 bytes while being sent \(10 expected\)"):
        list(pod_module._exactly(io.BytesIO(b"abcd"), 10, "f"))


@pytest.mark.parametrize("dd_counts_bytes", [True, False], ids=["dd", "head -c (a dd that cannot count bytes)"])
def test_the_put_script_writes_exactly_the_announced_bytes_and_leaves_the_rest(tmp_path, dd_counts_bytes):
    # The script reads its size from a stream that goes on (the output guard's end comes
    # after): it must stop at the size, whichever tool copies.
    env = dict(os.environ)
    if not dd_counts_bytes:
        fake = tmp_path / "bin"
        fake.mkdir()
        (fake / "dd").write_text("#!/bin/sh\necho 'dd: invalid input flag' >&2\nexit 1\n")
        (fake / "dd").chmod(0o755)
        env["PATH"] = f"{fake}:{env['PATH']}"
    data = os.urandom(300_001)
    target = tmp_path / "put"
    script = f'{pod_module.PUT_SCRIPT}; cat > "$4"'  # what follows the put reads the rest
    done = subprocess.run(["/bin/sh", "-c", script, "sh", str(target), "0640", str(len(data)), str(tmp_path / "rest")],
                          input=data + b"AFTER", capture_output=True, env=env, timeout=30, check=True)
    assert done.stdout.strip() == str(len(data)).encode() and done.stderr == b""
    assert target.read_bytes() == data and (target.stat().st_mode & 0o777) == 0o640
    assert (tmp_path / "rest").read_bytes() == b"AFTER"
