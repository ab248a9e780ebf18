# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job's events: parsed and masked, per-host stats."""

from __future__ import annotations

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.events import (
    parse_events,
    stats_of,
)
from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._job.secrets import JobSecrets

STATS = {"event": "playbook_on_stats", "event_data": {
    "ok": {"web1": 3, "web2": 2}, "changed": {"web1": 1}, "dark": {"db1": 1}, "failures": {"web2": 1},
    "skipped": {}, "rescued": {}, "ignored": {"web2": 1}, "processed": {"web1": 1, "web2": 1, "db1": 1}}}


def test_stats_come_from_the_last_playbook_on_stats_per_host():
    events = [{"event": "playbook_on_start"}, {"event": "playbook_on_stats", "event_data": {"ok": {"old": 1}}}, STATS]
    assert stats_of(events) == {
        "db1": {"ok": 0, "changed": 0, "failed": 0, "unreachable": 1, "skipped": 0, "rescued": 0, "ignored": 0},
        "web1": {"ok": 3, "changed": 1, "failed": 0, "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0},
        "web2": {"ok": 2, "changed": 0, "failed": 1, "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 1},
    }
    assert stats_of([{"event": "playbook_on_start"}]) == {}


def test_events_are_parsed_in_order_masked_and_a_cut_line_left_out():
    data = b'{"counter": 1, "msg": "pw=hunter22"}\n\n{"counter": 2}\n[1]\n{"counter": 3, "cut'
    events = parse_events(data, JobSecrets(become_password="hunter22"))
    assert events == [{"counter": 1, "msg": "pw=********"}, {"counter": 2}]


def test_a_malformed_stats_event_gives_what_it_can_and_never_raises():
    assert stats_of([{"event": "playbook_on_stats", "event_data": "nonsense"}]) == {}
    assert stats_of([{"event": "playbook_on_stats", "event_data": {"ok": ["web1"], "processed": {"web1": 1},
                                                                   "changed": {"web1": "many"}, "dark": {"web1": None}}}]) == {
        "web1": {"ok": 0, "changed": 0, "failed": 0, "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0}}
