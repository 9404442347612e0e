"""The change log as live subscriptions read it: which events are news for which topic, and
the statements that read a batch of them after each workspace's last sequence seen.

`relasi/notifier.py` runs these on its LISTEN connection and fans the rows out to subscribers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

Row = Mapping[str, Any]
Note = tuple[UUID, str, UUID]  # (workspace, topic, row id): one row to deliver

# Which topics an event of the change log is news for, and the row each topic delivers: the
# event's record, or the row of an event table it was written from (`source_id`, see 0011):
# a segment_changes row, or the timeline entry a record's change put on its timelines.
RECORD_TOPICS = {
    "interaction.tracked": "interaction",
    "note.added": "timeline",
    **{
        f"case.{what}": "case"
        for what in ("created", "updated", "deleted", "restored", "status_changed")
    },
}
SOURCE_TOPICS = {
    "segment.member_entered": "segment",
    "segment.member_exited": "segment",
    **{
        t: "timeline"
        for t in (
            "case.created",
            "case.status_changed",
            "deal.created",
            "deal.stage_changed",
            "contact.created",
            "contact.journey_stage_changed",
            "task.created",
            "task.completed",
        )
    },
}
EVENT_TYPES = sorted(RECORD_TOPICS.keys() | SOURCE_TOPICS.keys())
ONCE_PER_WRITE = frozenset({"case"})  # a case updated and changing status: one caseUpdated

# The new events of some workspaces, each after its last sequence seen: every numbered commit
# (up to $3 of each workspace) with its events of the topics' types, or one row without an
# event when it has none (its sequence is seen all the same).
READ_EVENTS = """
    SELECT k.workspace_id, c.sequence, e.type, e.record_id, e.source_id
      FROM unnest($1::uuid[], $2::bigint[]) AS k(workspace_id, after)
     CROSS JOIN LATERAL (
           SELECT c.sequence, c.xid FROM change_commits c
            WHERE c.workspace_id = k.workspace_id AND c.sequence > k.after
            ORDER BY c.sequence LIMIT $3) c
      LEFT JOIN change_events e
        ON e.workspace_id = k.workspace_id AND e.xid = c.xid AND e.type = ANY($4::text[])
     ORDER BY k.workspace_id, c.sequence, e.seq"""
READ_HEAD = "SELECT coalesce(max(last), 0) FROM change_heads WHERE workspace_id = $1"

# One statement per topic reads every row of a batch of events. Timeline rows carry what the
# subscription filters need beyond their own columns: a deal event's pipeline, and the
# contacts on the deal (deal events without a contact are on each of their timelines).
READ_ROWS = {
    "interaction": """
        SELECT t.* FROM unnest($1::uuid[], $2::uuid[]) AS k(workspace_id, id)
        JOIN interactions t ON t.workspace_id = k.workspace_id AND t.id = k.id""",
    "timeline": """
        SELECT t.*, d.pipeline_id AS deal_pipeline_id,
               ARRAY(SELECT dc.contact_id FROM deal_contacts dc
                      WHERE dc.workspace_id = t.workspace_id AND dc.deal_id = t.deal_id)
                   AS deal_contact_ids
          FROM unnest($1::uuid[], $2::uuid[]) AS k(workspace_id, id)
          JOIN timeline_events t ON t.workspace_id = k.workspace_id AND t.id = k.id
          LEFT JOIN deals d ON d.workspace_id = t.workspace_id AND d.id = t.deal_id""",
    # deleted cases too: their deletion is news to a support screen (Case.deletedAt says so)
    "case": """
        SELECT t.* FROM unnest($1::uuid[], $2::uuid[]) AS k(workspace_id, id)
        JOIN cases t ON t.workspace_id = k.workspace_id AND t.id = k.id""",
    "segment": """
        SELECT t.* FROM unnest($1::uuid[], $2::uuid[]) AS k(workspace_id, id)
        JOIN segment_changes t ON t.workspace_id = k.workspace_id AND t.id = k.id""",
}

COMMITS_PER_READ = 200  # commits of one workspace read together; more: read again at once


class Batch(NamedTuple):
    last: dict[UUID, int]  # workspace -> the last sequence read
    more: set[UUID]  # workspaces with commits beyond this batch
    notes: list[Note]  # the rows to deliver, in commit order


def topics(event: Row) -> list[tuple[str, UUID]]:
    """The (topic, row id) pairs a change log event is news for."""
    found = []
    if event["type"] in RECORD_TOPICS:
        found.append((RECORD_TOPICS[event["type"]], event["record_id"]))
    if event["type"] in SOURCE_TOPICS and event["source_id"] is not None:
        found.append((SOURCE_TOPICS[event["type"]], event["source_id"]))
    return found


async def read_head(conn: asyncpg.Connection, workspace_id: UUID) -> int:
    """The workspace's last sequence: a new reader reads on from there."""
    return await conn.fetchval(READ_HEAD, workspace_id)


async def read_batch(
    conn: asyncpg.Connection, after: dict[UUID, int], wanted: Callable[[UUID, str], bool]
) -> Batch:
    """The events committed after each workspace's sequence in `after`, as the rows of the
    topics `wanted` (workspace, topic) says someone listens to."""
    workspaces = list(after)
    found = await conn.fetch(
        READ_EVENTS, workspaces, [after[w] for w in workspaces], COMMITS_PER_READ, EVENT_TYPES
    )
    last: dict[UUID, int] = {}
    commits: dict[UUID, set[int]] = {}
    notes: list[Note] = []
    once: set[tuple[UUID, int, str, UUID]] = set()
    for r in found:
        workspace_id = r["workspace_id"]
        last[workspace_id] = r["sequence"]
        commits.setdefault(workspace_id, set()).add(r["sequence"])
        for topic, pk in topics(r):
            if topic in ONCE_PER_WRITE:
                key = (workspace_id, r["sequence"], topic, pk)
                if key in once:
                    continue
                once.add(key)
            if wanted(workspace_id, topic):
                notes.append((workspace_id, topic, pk))
    more = {w for w, seen in commits.items() if len(seen) >= COMMITS_PER_READ}
    return Batch(last, more, notes)


async def read_rows(conn: asyncpg.Connection, notes: list[Note]) -> dict[Note, Row]:
    """The rows the notes name, keyed by their note; a row deleted meanwhile is missing."""
    by_topic: dict[str, list[tuple[UUID, UUID]]] = {}
    for workspace_id, topic, pk in notes:
        by_topic.setdefault(topic, []).append((workspace_id, pk))
    rows: dict[Note, Row] = {}
    # one read for the events of every workspace: past row-level security, by exact keys
    for topic, keys in by_topic.items():
        found = await conn.fetch(READ_ROWS[topic], [w for w, _ in keys], [pk for _, pk in keys])
        for row in found:
            rows[(row["workspace_id"], topic, row["id"])] = row
    return rows
