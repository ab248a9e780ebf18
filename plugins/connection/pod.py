# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pod
short_description: Run tasks in a Kubernetes Pod through the Kubernetes API
version_added: 0.1.0
author:
  - ephemeral.container_groups maintainers (@ephemeral)
description:
  - Runs commands in, and copies files to and from, a container of a running Pod. It talks to
    the Kubernetes API directly (the C(pods/exec) subresource over a websocket); no C(kubectl)
    binary is needed and no credential ever appears on a command line.
  - Commands run as the container's user. O(remote_user) is ignored (with a warning); use
    C(become) with C(sudo) or C(su) to run as another user where the image has them.
  - Pipelining is on by default, so a module costs one exec. It needs the
    C(v5.channel.k8s.io) exec protocol (Kubernetes 1.30 or later), which can close a command's
    stdin; against an older API server, set O(pipelining=false).
  - Files are copied in one exec per file, streamed in chunks (any size, constant memory), and
    their byte count is checked at the other end; C(put) keeps the local file's mode, C(fetch)
    the container file's mode less the controller's umask (as sftp does). C(put)
    sends the size first, so the command in the container stops by itself and no end of stdin
    is needed (it works with C(v4.channel.k8s.io) too).
  - Every command runs under a small C(/bin/sh) wrapper that keeps its output open until all of
    it has arrived, because under load container runtimes can drop the end of a command's output
    when it exits. Output that still arrives incomplete fails the task instead of passing silently.
  - Credentials come from one of, in this order, O(container_group) (its credential in the state
    file, and the namespace of its pod spec), O(api_host) with O(api_key), O(kubeconfig) or
    O(context), the Pod's own service account when Ansible runs inside a Pod, else
    E(KUBECONFIG) or C(~/.kube/config).
requirements:
  - websockets (Python library, 13.0 or later)
  - kubernetes (Python library; only for a kubeconfig whose user has an exec or auth-provider plugin
    or basic auth. A kubeconfig with a token, token file or client certificate is read without it)
  - PyYAML (only for O(container_group))
  - C(/bin/sh), C(head), C(cat), C(chmod) and C(wc) in the container; C(stat) to keep the mode of fetched files
extends_documentation_fragment:
  - ephemeral.container_groups.k8s_auth
options:
  pod:
    description:
      - Name of the Pod.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: ansible_pod_name
  namespace:
    description:
      - Namespace of the Pod.
      - When not set, the namespace of O(container_group)'s pod spec, else the kubeconfig context's
        namespace, else the service account's namespace, else V(default).
    type: str
    env:
      - name: K8S_AUTH_NAMESPACE
    vars:
      - name: ansible_pod_namespace
  container:
    description:
      - Name of the container to run in.
      - When not set, the Pod's only container, or the one named by its
        C(kubectl.kubernetes.io/default-container) annotation, else its first container.
    type: str
    vars:
      - name: ansible_pod_container
  container_group:
    description:
      - Name of a container group from the state file. Its credential gives the API server,
        token, CA and certificate verification; the namespace of its pod spec is the default
        O(namespace).
      - When set, the O(api_host), O(api_key), O(ca_cert), O(validate_certs), O(kubeconfig) and
        O(context) options are not used.
    type: str
    vars:
      - name: ansible_pod_container_group
  state_file:
    description:
      - Path of the state file that holds O(container_group).
      - When not set, E(CONTAINER_GROUPS_STATE_FILE), else C(~/.ansible/container_groups.yml).
    type: path
    env:
      - name: CONTAINER_GROUPS_STATE_FILE
    vars:
      - name: ansible_pod_state_file
  connect_timeout:
    description:
      - Seconds to wait for the API server to accept a connection and start a command.
    type: int
    default: 30
    env:
      - name: ANSIBLE_POD_CONNECT_TIMEOUT
    vars:
      - name: ansible_pod_connect_timeout
  pipelining:
    description:
      - Send modules to the Python interpreter on stdin instead of copying them to a temporary
        file first; one exec per module instead of several.
      - On by default, unlike other connections. Needs an API server that speaks
        C(v5.channel.k8s.io) (Kubernetes 1.30 or later).
    type: bool
    default: true
    env:
      - name: ANSIBLE_PIPELINING
    ini:
      - section: defaults
        key: pipelining
      - section: connection
        key: pipelining
    vars:
      - name: ansible_pipelining
      - name: ansible_pod_pipelining
  remote_user:
    description:
      - Ignored, with a warning; commands run as the container's user. Use C(become).
    type: str
    vars:
      - name: ansible_user
    env:
      - name: ANSIBLE_REMOTE_USER
    ini:
      - section: defaults
        key: remote_user
    cli:
      - name: user
    keyword:
      - name: remote_user
notes:
  - C(become) with C(sudo) works with or without a password (the password goes to C(sudo -S)
    on stdin). C(su) works where it needs no password (from C(root)); C(su) with a password
    needs a terminal, which this connection does not provide.
  - There is no persistent connection to reuse between tasks. Each task builds one client, and
    every command or file transfer is one websocket to the API server.
"""

EXAMPLES = r"""
# Inventory: a Pod reached with a container group's credential (namespace from its pod spec)
# all:
#   hosts:
#     my-pod:
#       ansible_connection: ephemeral.container_groups.pod
#       ansible_pod_container_group: builders

- name: Run in a Pod with a token and a CA file
  hosts: my-pod
  gather_facts: false
  vars:
    ansible_connection: ephemeral.container_groups.pod
    ansible_pod_api_host: https://k8s.example.com:6443
    ansible_pod_api_key: "{{ vault_k8s_token }}"
    ansible_pod_ca_cert: /etc/pki/k8s-ca.pem
    ansible_pod_namespace: jobs
    ansible_pod_container: worker
  tasks:
    - name: Show the kernel
      ansible.builtin.command: uname -a
      changed_when: false

- name: Run in a Pod with the current kubeconfig context, as another user
  hosts: my-pod
  gather_facts: false
  vars:
    ansible_connection: ephemeral.container_groups.pod
  tasks:
    - name: Install a package
      ansible.builtin.package:
        name: git
      become: true
"""

import os
import stat
import tempfile
import typing as t

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.stdin import STDIN_CHUNK
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.api import ApiEndpoint, pod_path
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.auth import get_endpoint
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import (
    ExecStatusError,
    K8sApiError,
    K8sClientError,
    StdinNotSupported,
    explain_api_exception,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._exec.channels import exec_in_pod
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.pod_status import container_problem
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.target import resolve_target

display = Display()

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"

# put: write the announced number of bytes of stdin to the file, set the mode, print the
# size written so we can check it. Counted, the command needs no end of stdin: one process
# reads the stream (under the output guard too), and a v4-only server works the same way.
# dd with 64 KiB blocks where it can count bytes (GNU coreutils; probed on nothing, so no
# input is consumed), else head -c: head copies in 8 KiB pieces, and that made a 100 MB put
# 0.9x kubectl's speed on two busy cores; dd makes it 1.16x (README, Measured).
PUT_SCRIPT = (
    'if dd if=/dev/null of=/dev/null bs=65536 iflag=fullblock,count_bytes count=0 status=none 2>/dev/null; '
    'then dd of="$1" bs=65536 iflag=fullblock,count_bytes count="$3" status=none; '
    'else head -c "$3" > "$1"; fi && chmod "$2" "$1" && wc -c < "$1"'
)
# fetch: a header line "<size> <octal mode or ->" on stdout, then the bytes of the file.
FETCH_SCRIPT = (
    'if [ ! -e "$1" ]; then echo "no such file: $1" >&2; exit 66; fi; '
    'if [ -d "$1" ]; then echo "is a directory: $1" >&2; exit 65; fi; '
    's=$(wc -c < "$1") || exit 1; '
    'm=$(stat -c %a "$1" 2>/dev/null) || m=-; '
    'printf "%s %s\\n" "$s" "$m" && exec cat "$1"'
)
FETCH_NOT_FOUND = 66


def _operand(path: str) -> str:
    """A path that no command will take for an option."""
    return "./" + path if path.startswith("-") else path


class PodConnectionFailure(AnsibleConnectionFailure):
    """A connection failure whose message already says the cause.

    ansible-core 2.19+ appends the messages of chained exceptions to an error's message;
    ours are summarised in the message, so only the traceback keeps them (-vvv).
    """

    _include_cause_message = False


class _FetchSink:
    """Writes a fetch's stdout to a file: the header line first, then the bytes as they come."""

    def __init__(self, handle: t.BinaryIO) -> None:
        self.handle = handle
        self.header = bytearray()
        self.size: int | None = None
        self.mode: int | None = None
        self.written = 0

    def __call__(self, data: bytes) -> None:
        if self.size is None:
            self.header += data
            newline = self.header.find(b"\n")
            if newline < 0:
                if len(self.header) > 256:
                    raise PodConnectionFailure("fetch: the container sent an unexpected header")
                return
            line, rest = bytes(self.header[:newline]), bytes(self.header[newline + 1:])
            self.header = bytearray()
            parts = line.split()
            try:
                self.size = int(parts[0])
                self.mode = int(parts[1], 8) if len(parts) > 1 and parts[1] != b"-" else None
            except (IndexError, ValueError):
                raise PodConnectionFailure(f"fetch: the container sent an unexpected header {line[:80]!r}") from None
            data = rest
        if data:
            self.handle.write(data)
            self.written += len(data)


class Connection(ConnectionBase):
    """Commands and files in a Pod, through the Kubernetes API."""

    transport = "ephemeral.container_groups.pod"
    has_pipelining = True
    has_tty = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._endpoint: ApiEndpoint | None = None
        self._pod = ""
        self._namespace = ""
        self._container: str | None = None

    # -- setup -----------------------------------------------------------------------------

    def _where(self) -> str:
        # The collection's one spelling of a Pod in messages: Pod NAMESPACE/NAME.
        where = f"Pod {self._namespace}/{self._pod}" if self._namespace else f"Pod {self._pod}"
        return where + (f' (container "{self._container}")' if self._container else "")

    def _connect(self) -> Connection:
        if self._connected:
            return self
        self._pod = self.get_option("pod")
        if not self._pod or self._pod == "inventory_hostname":
            raise PodConnectionFailure("pod connection: no Pod name (set ansible_pod_name or the inventory host name)")
        self._container = self.get_option("container") or None
        namespace = self.get_option("namespace")
        try:
            target = resolve_target(self.get_option)
            self._endpoint = get_endpoint(target.auth, log=lambda message: display.vvvv(message, host=self._pod))
        except K8sClientError as exc:
            raise PodConnectionFailure(f"{self._where()}: cannot set up the Kubernetes client: {exc}") from exc
        self._namespace = namespace or target.namespace or self._endpoint.default_namespace
        remote_user = self.get_option("remote_user")
        if remote_user:
            display.warning(
                f"The pod connection ignores remote_user ({remote_user!r}): commands in {self._where()} run as "
                "the container's user. Use become (sudo or su) to run as another user."
            )
        display.vvv(
            f"ESTABLISH POD CONNECTION to {self._namespace}/{self._pod} container {self._container or '(default)'} "
            f"via {target.source}",
            host=self._pod,
        )
        self._connected = True
        return self

    def close(self) -> None:
        self._endpoint = None
        self._connected = False

    def reset(self) -> None:
        # Nothing persists between commands: a reset is a reconnect.
        self.close()

    @property
    def _api(self) -> ApiEndpoint:
        if self._endpoint is None:
            self._connect()
        if self._endpoint is None:
            raise PodConnectionFailure(f"{self._where()}: not connected")
        return self._endpoint

    # -- the one place API errors become AnsibleConnectionFailure ----------------------------

    def _run(
        self,
        argv: list[str],
        stdin: t.Any,
        on_stdout: t.Callable[[bytes], None],
        on_stderr: t.Callable[[bytes], None],
        stdin_eof: bool = True,
    ) -> int:
        try:
            try:
                return self._exec(argv, stdin, on_stdout, on_stderr, stdin_eof)
            except K8sApiError as exc:
                if exc.status != 400 or self._container:
                    raise
                # No container given and the Pod has several: pick the default one, once.
                chosen = self._default_container()
                if not chosen:
                    raise
                self._container = chosen
                display.vvvv(f"pod connection: using container {chosen!r}", host=self._pod)
                return self._exec(argv, stdin, on_stdout, on_stderr, stdin_eof)
        except StdinNotSupported:
            raise
        except K8sApiError as exc:
            cause = None
            if exc.status in (400, 404, 500):
                cause = self._diagnose()
            if cause is None:
                # The message names the Pod already (_where): the cause need not again.
                cause = explain_api_exception(exc, verb="create", resource="pods/exec", namespace=self._namespace,
                                              host=self._api.host)
            raise PodConnectionFailure(f"{self._where()}: {cause}") from exc
        except ExecStatusError as exc:
            cause = self._diagnose() or str(exc)
            raise PodConnectionFailure(f"{self._where()}: {cause}") from exc
        except K8sClientError as exc:
            raise PodConnectionFailure(f"{self._where()}: {exc}") from exc

    def _exec(self, argv: list[str], stdin: t.Any, on_stdout: t.Callable[[bytes], None],
              on_stderr: t.Callable[[bytes], None], stdin_eof: bool) -> int:
        return exec_in_pod(
            self._api, self._namespace, self._pod, self._container, argv, stdin, on_stdout, on_stderr,
            connect_timeout=float(self.get_option("connect_timeout")), stdin_eof=stdin_eof,
            log=lambda message: display.vvvv(message, host=self._pod),
        )

    def _read_pod(self) -> dict:
        pod = self._api.request("GET", pod_path(self._namespace, self._pod))
        return pod if isinstance(pod, dict) else {}

    def _default_container(self) -> str | None:
        try:
            pod = self._read_pod()
        except K8sClientError:
            return None
        names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        annotated = ((pod.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
        if annotated in names:
            return annotated
        return names[0] if names else None

    def _diagnose(self) -> str | None:
        """Why an exec was refused, from the Pod itself: not found, no such container, not running."""
        try:
            pod = self._read_pod()
        except K8sApiError as exc:
            if exc.status == 404:
                return "the Pod was not found (404): check the Pod name and namespace"
            return None
        except K8sClientError:
            return None
        return container_problem(pod, self._container)

    # -- commands -----------------------------------------------------------------------------

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)  # type: ignore[safe-super]  # its @ensure_connect connects first
        executable = self._play_context.executable or "/bin/sh"
        argv = [executable, "-c", cmd]
        do_become = bool(self.become and self.become.expect_prompt() and sudoable)
        stdin_part = f", with stdin ({len(in_data)} bytes)" if in_data is not None else ""
        become_part = ", with become prompt" if do_become else ""
        display.vvv(f"EXEC {argv!r}{stdin_part}{become_part}", host=self._pod)
        stdout = bytearray()
        stderr = bytearray()
        stdin: t.Any = in_data
        if do_become:
            stdin = self._become_input(in_data, stdout, stderr)
        try:
            rc = self._run(argv, stdin, stdout.extend, stderr.extend)
        except StdinNotSupported as exc:
            raise PodConnectionFailure(f"{self._where()}: {exc}; set ansible_pipelining=false") from exc
        display.vvv(f"EXEC rc={rc}, {len(stdout)} bytes stdout, {len(stderr)} bytes stderr", host=self._pod)
        return rc, bytes(stdout), bytes(stderr)

    def _become_input(self, in_data: bytes | None, stdout: bytearray, stderr: bytearray) -> t.Iterator[bytes]:
        """stdin for a become command that may prompt: the password once asked, then the data."""
        if self.become is None:
            raise AnsibleError("become input asked for without a become plugin")
        while True:
            if self.become.check_success(bytes(stdout[:65536])):
                break
            if self.become.check_password_prompt(bytes(stderr[:65536])) or self.become.check_password_prompt(bytes(stdout[:65536])):
                password = self.become.get_option("become_pass", playcontext=self._play_context)
                yield to_bytes(password or "", errors="surrogate_or_strict") + b"\n"
                break
            yield b""  # nothing to send until the prompt or the success marker shows up
        if in_data:
            yield in_data

    # -- files --------------------------------------------------------------------------------

    def put_file(self, in_path: str, out_path: str) -> None:
        super().put_file(in_path, out_path)  # type: ignore[safe-super]  # its @ensure_connect connects first
        b_in_path = to_bytes(in_path, errors="surrogate_or_strict")
        if not os.path.exists(b_in_path):
            raise AnsibleFileNotFound(f"file or module does not exist: {in_path}")
        try:
            handle = open(b_in_path, "rb")  # pylint: disable=consider-using-with
        except OSError as exc:
            raise AnsibleError(f"cannot read {in_path}: {exc.strerror}") from exc
        with handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise AnsibleError(f"cannot put {in_path}: not a regular file")
            size = info.st_size
            mode = f"{stat.S_IMODE(info.st_mode):04o}"
            display.vvv(f"PUT {in_path} TO {out_path} ({size} bytes, mode {mode})", host=self._pod)
            stdout = bytearray()
            stderr = bytearray()
            argv = ["/bin/sh", "-c", PUT_SCRIPT, "sh", _operand(out_path), mode, str(size)]
            rc = self._run(argv, _exactly(handle, size, in_path), stdout.extend, stderr.extend, stdin_eof=False)
        if rc != 0:
            raise PodConnectionFailure(
                f"{self._where()}: failed to put {in_path} to {out_path} (exit status {rc}): {to_text(bytes(stderr)).strip()}"
            )
        written = to_text(bytes(stdout)).strip()
        if written != str(size):
            raise PodConnectionFailure(
                f"{self._where()}: put {in_path} to {out_path}: {size} bytes sent but the file has {written or 'an unknown number of'} bytes"
            )
        display.vvv(f"PUT done: {size} bytes", host=self._pod)

    def fetch_file(self, in_path: str, out_path: str) -> None:
        super().fetch_file(in_path, out_path)  # type: ignore[safe-super]  # its @ensure_connect connects first
        display.vvv(f"FETCH {in_path} TO {out_path}", host=self._pod)
        b_out_path = to_bytes(out_path, errors="surrogate_or_strict")
        directory = os.path.dirname(b_out_path) or b"."
        fd, b_temp = tempfile.mkstemp(prefix=b".cg-fetch-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                sink = _FetchSink(handle)
                stderr = bytearray()
                rc = self._run(["/bin/sh", "-c", FETCH_SCRIPT, "sh", _operand(in_path)], None, sink, stderr.extend)
            message = to_text(bytes(stderr)).strip()
            if rc == FETCH_NOT_FOUND:
                raise AnsibleFileNotFound(f"{self._where()}: file not found: {in_path}")
            if rc != 0:
                raise PodConnectionFailure(f"{self._where()}: failed to fetch {in_path} (exit status {rc}): {message}")
            if sink.size is None or sink.written != sink.size:
                raise PodConnectionFailure(
                    f"{self._where()}: fetch {in_path}: the file has {sink.size} bytes but {sink.written} arrived "
                    "(did it change while being fetched?)"
                )
            # As sftp does: the container file's permissions less the umask (a 0777 file in the
            # container does not become one that anyone may write here).
            os.chmod(b_temp, (sink.mode & 0o777 if sink.mode is not None else 0o666) & ~_umask())
            os.replace(b_temp, b_out_path)
        except BaseException:
            try:
                os.unlink(b_temp)
            except OSError:
                pass
            raise
        display.vvv(f"FETCH done: {sink.written} bytes", host=self._pod)


def _exactly(handle: t.BinaryIO, size: int, path: str) -> t.Iterator[bytes]:
    """The first size bytes of handle, in chunks; an error if the file ends before that."""
    left = size
    while left:
        chunk = handle.read(min(left, STDIN_CHUNK))
        if not chunk:
            raise AnsibleError(f"cannot put {path}: it shrank to {size - left} bytes while being sent ({size} expected)")
        left -= len(chunk)
        yield chunk


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
