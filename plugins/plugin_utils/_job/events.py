# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""The job's events as the job_events callback wrote them in the Pod: masked and counted.

Pure functions: ``job`` reads the events file out of the Pod and hands its bytes here.
"""

from __future__ import annotations

import json
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
    data = _last_stats(events)
    counters = {name: as_mapping(data.get(name)) for name in ("processed", *STAT_NAMES.values())}
    hosts = sorted(set().union(*counters.values()))
    return {host: {ours: _count(counters[theirs].get(host)) for ours, theirs in STAT_NAMES.items()} for host in hosts}


def artifacts_of(events: t.Sequence[dict]) -> dict[str, t.Any]:
    """What set_stats handed on for the whole run (AWX's artifacts): the last playbook_on_stats
    event's artifact_data, or nothing."""
    return as_mapping(_last_stats(events).get("artifact_data"))


def facts_of(events: t.Sequence[dict]) -> dict[str, dict[str, t.Any]]:
    """Per host, the facts its results set (gather_facts, setup, set_fact), later ones winning:
    the facts of this run as plain JSON, whatever format the run's own fact cache has."""
    facts: dict[str, dict[str, t.Any]] = {}
    for event in events:
        data = as_mapping(event.get("event_data"))
        host, set_facts = data.get("host"), as_mapping(data.get("res")).get("ansible_facts")
        if event.get("event") in ("runner_on_ok", "runner_item_on_ok") and isinstance(host, str) and isinstance(set_facts, dict):
            facts.setdefault(host, {}).update(set_facts)
    return facts


def _last_stats(events: t.Sequence[dict]) -> dict[str, t.Any]:
    """The event_data of the last playbook_on_stats event (empty if the run never got there)."""
    for event in reversed(events):
        if event.get("event") == "playbook_on_stats":
            return as_mapping(event.get("event_data"))
    return {}


def as_mapping(value: t.Any) -> dict[str, t.Any]:
    """value if it is a mapping, else an empty one: the target writes the events, so their
    shape is checked, never trusted."""
    return value if isinstance(value, dict) else {}


def _count(value: t.Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
