# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Stopping a job's playbook in its Pod through the runner, as Ctrl-C on its controller and
container_group_job_cancel both do: SIGTERM, SIGKILL after the grace; the answer in words."""

from __future__ import annotations

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import stop_argv
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.in_pod.runner import (
    KILLED,
    NOT_RUNNING,
    STILL_RUNNING,
    STOPPED,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobNamespace

#: Seconds the playbook gets to stop after SIGTERM, before SIGKILL.
STOP_GRACE_SECONDS = 3.0

#: What the runner's stop answers, in words.
STOPPED_SAID = {STOPPED: "stopped by SIGTERM", KILLED: f"was killed (SIGKILL after {STOP_GRACE_SECONDS:g}s)",
                NOT_RUNNING: "had already ended", STILL_RUNNING: "did not stop even by SIGKILL"}


def stop_playbook(api: JobNamespace, pod: str, container: str, canceled_by: str | None = None) -> str:
    """Stop the playbook in the Pod; the runner's answer (STOPPED, KILLED, STILL_RUNNING or
    NOT_RUNNING). With canceled_by (an owner id), the job is marked canceled by it.
    K8sClientError when the Pod cannot be reached."""
    said: list[bytes] = []
    api.exec_once(pod, container, stop_argv(STOP_GRACE_SECONDS, canceled_by), on_stdout=said.append,
                  timeout=STOP_GRACE_SECONDS + 10)
    return b"".join(said).decode(errors="replace").strip()
