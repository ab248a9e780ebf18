# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The job's events as the job_events callback wrote them in the Pod: masked, saved, counted.

Pure functions: ``job`` reads the events file out of the Pod and hands its bytes here.
"""

from __future__ import annotations

import json
import os
import tempfile
import typing as t

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import JobSecrets

#: The per-host counters of ``stats``, and the names ansible-runner gives them in playbook_on_stats.
STAT_NAMES = {"ok": "ok", "changed": "changed", "failed": "failures", "unreachable": "dark",
              "skipped": "skipped", "rescued": "rescued", "ignored": "ignored"}


def parse_events(data: bytes, secrets: JobSecrets) -> list[dict]:
    """The events, one JSON object per line, in order, with every secret masked.

    A last line cut short (the target was killed while writing it) is left out.
    """
    events = []
    for line in data.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(secrets.mask_data(event))
    return events


def stats_of(events: t.Sequence[dict]) -> dict[str, dict[str, int]]:
    """Per host: ok, changed, failed, unreachable, skipped, rescued, ignored, from the last
    playbook_on_stats event (empty if the run never got there)."""
    for event in reversed(events):
        if event.get("event") == "playbook_on_stats":
            # The target writes this event, so its shape is checked, never trusted.
            data = event.get("event_data") if isinstance(event.get("event_data"), dict) else {}
            counters = {name: data[name] if isinstance(data.get(name), dict) else {}
                        for name in ("processed", *STAT_NAMES.values())}
            hosts = sorted(set().union(*counters.values()))
            return {host: {ours: _count(counters[theirs].get(host)) for ours, theirs in STAT_NAMES.items()}
                    for host in hosts}
    return {}


def _count(value: t.Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def write_events(path: str, events: t.Iterable[dict]) -> None:
    """Write the events to path, one JSON object per line (0600, replaced whole: a file or a
    link already there is replaced, never written through)."""
    # mkstemp: a new file of a name no one can guess, created 0600 with O_EXCL.
    descriptor, temp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            for event in events:
                handle.write(json.dumps(event, sort_keys=True) + "\n")
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
