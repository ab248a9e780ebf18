# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""Facts kept between jobs (AWX's use_fact_cache): what a run wrote, back on the controller.

The job ships the files of ``fact_cache_dir`` into the Pod's jsonfile fact cache and points
the run at it; after the run, the runner's ``FACTS`` answer brings the files the run wrote.
They stay opaque: the ansible-core in the Pod reads and writes its own format (2.19 changed
it). Each is replaced whole, so jobs on the same hosts at once never leave a torn file: the
last writer of a host wins.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.artifacts import replace_file
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.files import facts_argv
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.namespace import JobNamespace
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import K8sClientError


class FactsError(ValueError):
    """The runner's answer is not the mapping it should be."""


def written_facts(answer: bytes) -> dict[str, bytes]:
    """The runner's FACTS answer as file name -> content. A name that is no plain file name
    (the run writes one file per host) is refused, so nothing lands outside the cache."""
    try:
        data = json.loads(answer or b"{}")
    except ValueError as exc:
        raise FactsError(f"the runner's list of fact files is no JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FactsError("the runner's list of fact files is no mapping")
    files = {}
    for name, encoded in data.items():
        if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\0" in name or not isinstance(encoded, str):
            raise FactsError(f"the runner named a fact file {name!r}, which is no file name")
        try:
            files[name] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FactsError(f"the fact file {name!r} is not in base64: {exc}") from exc
    return files


def keep_facts(directory: str, files: t.Mapping[str, bytes]) -> None:
    """Each file into directory (created 0700), replaced whole."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for name, data in files.items():
        replace_file(os.path.join(directory, name), [data])


def bring_back_facts(api: JobNamespace, pod: str, container: str, directory: str) -> None:
    """The fact files the run in pod wrote, into directory; losing them is said, not fatal (the
    run itself is done)."""

    def once() -> bytes:
        said: list[bytes] = []
        rc = api.exec_once(pod, container, facts_argv(), on_stdout=said.append)
        if rc != 0:
            raise FactsError(f"the runner's facts command ended with exit status {rc}")
        return b"".join(said)

    try:
        keep_facts(directory, written_facts(api.retried(once, f"read the facts of {api.where(pod)}")))
    except (K8sClientError, FactsError, OSError) as exc:
        api.notice(f"the facts of this run in {api.where(pod)} were not kept in {directory}: {exc}", True)
