"""Fan-out: the change log's commits after each endpoint's cursor become deliveries.

One transaction per batch of commits and workspace, holding the workspace's fan-out lock (two
processes fanning out one workspace take turns, the second starting where the first stopped),
the batch's events are read once, each endpoint keeps those of its event types, its owner's
readable record types and its filter (one statement per record type for the whole batch), the
deliveries are inserted and the cursors moved, together. So a crash leaves no event fanned out
twice nor skipped; commit numbers are gapless and in commit order (0008_change_log.sql), so a
commit that becomes visible later never lands behind a cursor.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.principal import Principal
from relasi.db import Database, system_connection
from relasi.jobs import enqueue
from relasi.resolvers.webhooks import endpoints, filters, owners, payloads

BATCH_COMMITS = 200
# A batch holds a connection while it reads its records through another (payloads.py): a few
# at a time per process, so fan-outs can never take the whole pool and wait on each other.
_running = asyncio.Semaphore(2)

_EVENTS = """SELECT c.sequence, e.seq, e.occurred_at, e.type, e.record_type, e.record_id,
                    e.changes::text AS changes, e.actor_workflow_id
               FROM change_commits c JOIN change_events e
                 ON e.workspace_id = c.workspace_id AND e.xid = c.xid
              WHERE c.workspace_id = $1 AND c.sequence > $2 AND c.sequence <= $3
              ORDER BY c.sequence, e.seq"""

# the enabled endpoints whose owner is entitled to them (the sweep disables the others), their
# owners' scopes as they are now (owners.current), and the head
_TARGETS = f"""SELECT e.*, h.last AS head, {owners.NOW_COLUMNS} FROM webhook_endpoints e
                 JOIN change_heads h ON h.workspace_id = e.workspace_id
                 {owners.NOW_JOINS}
                WHERE e.workspace_id = $1 AND e.enabled AND {owners.ACTIVE}
                ORDER BY e.id"""

# a batch's deliveries, and the targets' cursors moved past it, in one statement
_INSERT = """WITH moved AS (
                 UPDATE webhook_endpoints SET after_sequence = $10
                  WHERE workspace_id = $1 AND id = ANY($9::uuid[]) AND after_sequence < $10)
             INSERT INTO webhook_deliveries (workspace_id, endpoint_id, sequence, seq, event_type,
                                             record_id, occurred_at, body)
             SELECT $1, * FROM unnest($2::uuid[], $3::bigint[], $4::bigint[], $5::text[],
                                      $6::uuid[], $7::timestamptz[], $8::text[])
             ON CONFLICT DO NOTHING"""

_BEHIND = """SELECT EXISTS (SELECT FROM webhook_endpoints e
                              JOIN change_heads h ON h.workspace_id = e.workspace_id
                             WHERE e.workspace_id = $1 AND e.enabled AND e.after_sequence < h.last)"""

# Once caught up, a fan-out looks again after each of these pauses (0.31 s in all) before its
# job ends: a commit that lands as the job finishes finds it still running and queues no other
# (its dedupe); what lands after the last look, the sweep finds within a second.
LINGER = (0.01, 0.02, 0.04, 0.08, 0.16)


async def behind(db: Database) -> list[UUID]:
    """Workspaces with an enabled endpoint whose cursor is behind the log."""
    async with system_connection(db) as conn:
        rows = await conn.fetch(
            """SELECT DISTINCT e.workspace_id FROM webhook_endpoints e
                 JOIN change_heads h ON h.workspace_id = e.workspace_id
                WHERE e.enabled AND e.after_sequence < h.last"""
        )
    return [r["workspace_id"] for r in rows]


async def fan_out(
    db: Database,
    workspace_id: UUID,
    batch: int = BATCH_COMMITS,
    stopping: asyncio.Event | None = None,
) -> int:
    """Fan out everything committed in the workspace until nothing more comes for a moment
    (LINGER), or until `stopping` is set (after the batch in hand: each commits on its own,
    the rest waits for the next worker's sweep); how many deliveries it made. Each endpoint
    that got some has a `webhooks.deliver` job queued with them."""
    stopping = stopping or asyncio.Event()
    made = 0
    while True:
        async with _running:
            while True:
                count, more = await _batch(db, workspace_id, batch)
                made += count
                if not more or stopping.is_set():
                    break
        if stopping.is_set():
            return made
        for pause in LINGER:
            await asyncio.sleep(pause)
            async with system_connection(db) as conn:
                if await conn.fetchval(_BEHIND, workspace_id):
                    break
        else:
            return made


async def enqueue_delivery(conn: asyncpg.Connection, workspace_id: UUID, endpoint_id: UUID) -> None:
    """Queue the job that sends an endpoint's due deliveries (once while one is queued)."""
    await enqueue(
        conn,
        "webhooks.deliver",
        {"workspace_id": str(workspace_id), "endpoint_id": str(endpoint_id)},
        dedupe_key=f"webhooks.deliver:{endpoint_id}",
    )


async def _batch(db: Database, workspace_id: UUID, batch: int) -> tuple[int, bool]:
    async with system_connection(db) as conn, conn.transaction():
        # fan-outs of one workspace take turns (not a row lock: deliveries settling meanwhile
        # update the endpoints' health and must not wait for a whole batch)
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('webhooks.fanout:' || $1, 0))",
            str(workspace_id),
        )
        # nothing is rendered for an owner who is gone; the others' payloads are rendered
        # with their scopes as they are now (owners.py)
        targets = await _entitled(conn, workspace_id)
        if not targets:
            return 0, False
        head = targets[0]["head"]
        low = min(t["after_sequence"] for t in targets)
        if low >= head:
            return 0, False
        high = min(head, low + batch)
        events = await conn.fetch(_EVENTS, workspace_id, low, high)
        rows = await _deliveries(conn, db, workspace_id, targets, events)
        columns = zip(*rows, strict=True) if rows else [[]] * 7
        await conn.execute(_INSERT, workspace_id, *columns, [t["id"] for t in targets], high)
        for endpoint_id in sorted({row[0] for row in rows}):
            await enqueue_delivery(conn, workspace_id, endpoint_id)
    return len(rows), high < head


async def _entitled(conn: asyncpg.Connection, workspace_id: UUID) -> list[dict[str, Any]]:
    """The targets with their owners' current scopes; an endpoint whose filter its owner may
    no longer use (personal data without pii:read) is disabled instead (OWNER_REVOKED)."""
    targets = []
    for row in await conn.fetch(_TARGETS, workspace_id):
        target = owners.current(row)
        problem = filters.problem(target)
        if problem is None:
            targets.append(target)
        else:
            reason = owners.FILTER_REASON.format(problem=problem)
            await owners.disable(conn, workspace_id, target["id"], reason)
    return targets


async def _deliveries(
    conn: asyncpg.Connection,
    db: Database,
    workspace_id: UUID,
    targets: list[dict[str, Any]],
    events: list[asyncpg.Record],
) -> list[tuple[Any, ...]]:
    """(endpoint, sequence, seq, type, record, occurred_at, body) of every matching event."""
    chosen: dict[UUID, list[asyncpg.Record]] = {}
    for target in targets:
        types = set(target["event_types"])
        scopes = target["owner_scopes"]
        chosen[target["id"]] = [
            e
            for e in events
            if e["sequence"] > target["after_sequence"]
            and (e["type"] in types if types else endpoints.readable(scopes, e["type"]))
            and endpoints.readable(scopes, e["type"])
        ]
        if target["filter"]:
            matching = await filters.matching(conn, workspace_id, target, chosen[target["id"]])
            chosen[target["id"]] = [
                e for e in chosen[target["id"]] if (e["record_type"], e["record_id"]) in matching
            ]
    # the records' current state, read once per owner (payloads show what the owner may read)
    by_owner: dict[tuple[str, ...], set[tuple[str, UUID]]] = defaultdict(set)
    for target in targets:
        by_owner[tuple(target["owner_scopes"])].update(
            (e["record_type"], e["record_id"]) for e in chosen[target["id"]]
        )
    seen: dict[tuple[str, ...], dict[UUID, Any]] = {}
    for scopes, records in by_owner.items():
        if records:
            owner = Principal(workspace_id=workspace_id, scopes=frozenset(scopes))
            seen[scopes] = await payloads.objects(db, owner, records)
    rows = []
    for target in targets:
        scopes = tuple(target["owner_scopes"])
        owner = Principal(workspace_id=workspace_id, scopes=frozenset(scopes))
        for e in chosen[target["id"]]:
            obj = seen.get(scopes, {}).get(e["record_id"])
            rows.append(
                (
                    target["id"],
                    e["sequence"],
                    e["seq"],
                    e["type"],
                    e["record_id"],
                    e["occurred_at"],
                    payloads.body(e, owner, obj),
                )
            )
    return rows
