"""Matching the change log against a workspace's enabled workflows (the `workflows.match`
job, queued by the database at every commit of a workspace with one: 0013_workflows.sql).

One transaction per batch of commits, holding the workspace's matching lock: the events after
the workspace's cursor are read once, each is tried against an index of the enabled
workflows' triggers by event type (so 50 workflows that watch other events cost a dictionary
look-up per event), a run is started per matching (workflow, event) - the first trigger that
matches names it, and the run's dedupe key is the event's place in the log - and the cursor
moves, together. A crash leaves both or neither; the runs' dedupe keys make a second look
harmless. A workflow sees only the changes committed after it was saved enabled.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from relasi.db import Database, system_connection
from relasi.resolvers.workflows import engine, triggers

BATCH_COMMITS = 500

_EVENTS = """SELECT c.sequence, e.seq, e.type, e.record_type, e.record_id, e.changes::text AS changes,
                    e.actor_workflow_id, e.actor_workflow_run_id,
                    (SELECT r.depth FROM workflow_runs r WHERE r.workspace_id = e.workspace_id
                        AND r.id = e.actor_workflow_run_id) AS actor_depth
               FROM change_commits c JOIN change_events e
                 ON e.workspace_id = c.workspace_id AND e.xid = c.xid
              WHERE c.workspace_id = $1 AND c.sequence > $2 AND c.sequence <= $3
                AND e.type = ANY($4::text[])
              ORDER BY c.sequence, e.seq"""


async def behind(db: Database) -> list[UUID]:
    """Workspaces with an enabled workflow whose matching is behind their log."""
    async with system_connection(db) as conn:
        rows = await conn.fetch(
            """SELECT DISTINCT w.workspace_id FROM workflows w
                 JOIN change_heads h ON h.workspace_id = w.workspace_id
                 LEFT JOIN workflow_cursors c ON c.workspace_id = w.workspace_id
                WHERE w.enabled AND coalesce(c.after_sequence, 0) < h.last"""
        )
    return [r["workspace_id"] for r in rows]


async def match(
    db: Database,
    workspace_id: UUID,
    batch: int = BATCH_COMMITS,
    stopping: asyncio.Event | None = None,
) -> int:
    """Match everything committed so far in the workspace, or until `stopping` is set (after
    the batch in hand: each commits with its cursor, the rest waits for the next worker's
    sweep); how many runs it started."""
    started = 0
    while True:
        count, more = await _batch(db, workspace_id, batch)
        started += count
        if not more or (stopping is not None and stopping.is_set()):
            return started


def index(workflows: list[asyncpg.Record]) -> dict[str, list[tuple[Any, int, dict]]]:
    """event type -> (workflow, trigger index, matcher), in workflow then trigger order."""
    by_type: dict[str, list[tuple[Any, int, dict]]] = defaultdict(list)
    for wf in workflows:
        definition = wf["definition"]
        definition = json.loads(definition) if isinstance(definition, str) else definition
        for i, matcher in enumerate(definition.get("matchers") or []):
            for event_type in (matcher or {}).get("events", ()):
                by_type[event_type].append((wf, i, matcher))
    return by_type


def matches(
    by_type: dict[str, list[tuple[Any, int, dict]]], event: Any
) -> list[tuple[Any, int, UUID]]:
    """(workflow, trigger index, record id) of each workflow the event fires, once each."""
    candidates = by_type.get(event["type"])
    if not candidates:
        return []
    changes = json.loads(event["changes"], parse_float=Decimal)
    fired: dict[UUID, tuple[Any, int, UUID]] = {}
    for wf, i, matcher in candidates:
        if wf["id"] in fired or event["sequence"] <= wf["start_sequence"]:
            continue
        record_id = triggers.record_of(matcher, event, changes)
        if record_id is not None:
            fired[wf["id"]] = (wf, i, record_id)
    return list(fired.values())


async def _batch(db: Database, workspace_id: UUID, batch: int) -> tuple[int, bool]:
    async with system_connection(db) as conn, conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('workflows.match:' || $1, 0))",
            str(workspace_id),
        )
        low = await conn.fetchval(
            "SELECT after_sequence FROM workflow_cursors WHERE workspace_id = $1", workspace_id
        )
        head = await conn.fetchval(
            "SELECT last FROM change_heads WHERE workspace_id = $1", workspace_id
        )
        workflows = await conn.fetch(
            "SELECT id, record_type, definition, start_sequence FROM workflows"
            " WHERE workspace_id = $1 AND enabled ORDER BY created_at, id",
            workspace_id,
        )
        if head is None or not workflows:
            return 0, False
        if low is None:  # the workspace's first workflow: from its start on
            low = min(w["start_sequence"] for w in workflows)
        if low >= head:
            return 0, False
        high = min(head, low + batch)
        by_type = index(workflows)
        started = 0
        if by_type:
            events = await conn.fetch(_EVENTS, workspace_id, low, high, list(by_type))
            for event in events:
                for wf, i, record_id in matches(by_type, event):
                    depth = 0
                    if event["actor_workflow_id"] == wf["id"]:
                        depth = (event["actor_depth"] or 0) + 1
                    trigger = {
                        "index": i,
                        "kind": _kind(wf, i),
                        "eventType": event["type"],
                        "sequence": event["sequence"],
                        "seq": event["seq"],
                    }
                    run = await engine.start_run(
                        conn,
                        wf["id"],
                        wf["record_type"],
                        record_id,
                        trigger=trigger,
                        dedupe_key=f"change:{event['sequence']}:{event['seq']}",
                        depth=depth,
                    )
                    started += run is not None
        await conn.execute(
            """INSERT INTO workflow_cursors (workspace_id, after_sequence) VALUES ($1, $2)
               ON CONFLICT (workspace_id) DO UPDATE SET after_sequence = EXCLUDED.after_sequence""",
            workspace_id,
            high,
        )
    return started, high < head


def _kind(wf: Any, i: int) -> str:
    definition = wf["definition"]
    definition = json.loads(definition) if isinstance(definition, str) else definition
    return next(iter(definition["triggers"][i]))
