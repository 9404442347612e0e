"""Continuing waiting runs: a `wait` step leaves its run WAITING with `wake_at` (the time, or
the timeout of a condition) and `wait` ({path, until, condition}); engine.resume_run
continues it. The clock's tick (clock.py) calls `continue_due`:

- a run whose `wake_at` has come continues (`wait.resumedBy`: TIME, or TIMEOUT when it
  waited for a condition);
- a run waiting for a condition is checked every tick: once its record passes the condition
  (the one filter form, seen with the workflow owner's rights, the record as it is now) it
  continues with CONDITION. Polling, not the change log: a condition may depend on the clock
  (`lastTouchpoint`) or on other records (the deal's account), which no single change names;
  a tick checks every waiting run in batches, one statement per batch and distinct condition.

Both happen in the run's workspace's rows only, and resume_run is a no-op for a run that is
no longer waiting, so a tick racing another (or a timeout racing its condition) continues a
run once. Runs live in the database: after a restart, the first tick continues whatever came
due meanwhile.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg

from relasi.db import use_system
from relasi.resolvers.model import entity
from relasi.resolvers.predicates import Params
from relasi.resolvers.workflows import conditions, engine

BATCH = 500

_DUE = """SELECT id, wait FROM workflow_runs
           WHERE status = 'WAITING' AND wake_at <= now()
           ORDER BY wake_at LIMIT $1 FOR UPDATE SKIP LOCKED"""

_WAITING_FOR_CONDITION = """
SELECT r.workspace_id, r.id, r.record_type, r.record_id, r.wake_at, r.wait->'condition' AS condition,
       w.owner_scopes
  FROM workflow_runs r JOIN workflows w ON w.workspace_id = r.workspace_id AND w.id = r.workflow_id
 WHERE r.status = 'WAITING' AND jsonb_typeof(r.wait->'condition') = 'object'
   AND ($1::timestamptz IS NULL OR (r.wake_at, r.id) > ($1, $2::uuid))
 ORDER BY r.wake_at, r.id LIMIT $3"""


async def continue_due(conn: asyncpg.Connection, stopping: asyncio.Event | None = None) -> int:
    """Continue the waiting runs that are due, in every workspace; how many. Once `stopping`
    is set, after the batch in hand (each commits on its own; the next tick goes on)."""
    stopping = stopping or asyncio.Event()
    resumed = await _due_by_time(conn, stopping)
    if stopping.is_set():
        return resumed
    return resumed + await _conditions_hold(conn, stopping)


async def _due_by_time(conn: asyncpg.Connection, stopping: asyncio.Event) -> int:
    resumed = 0
    while True:
        async with conn.transaction():
            await use_system(conn, local=True)
            rows = await conn.fetch(_DUE, BATCH)
            for row in rows:
                waited_for = (row["wait"] or {}).get("condition")
                by = "TIMEOUT" if waited_for else "TIME"
                resumed += await engine.resume_run(conn, row["id"], resumed_by=by)
        if len(rows) < BATCH or stopping.is_set():
            return resumed


async def _conditions_hold(conn: asyncpg.Connection, stopping: asyncio.Event) -> int:
    resumed = 0
    after: tuple[Any, Any] = (None, None)
    while True:
        async with conn.transaction():
            await use_system(conn, local=True)
            rows = await conn.fetch(_WAITING_FOR_CONDITION, *after, BATCH)
            for run_id in await _passing(conn, rows):
                resumed += await engine.resume_run(conn, run_id, resumed_by="CONDITION")
        if len(rows) < BATCH or stopping.is_set():
            return resumed
        after = (rows[-1]["wake_at"], rows[-1]["id"])


async def _passing(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[Any]:
    """The ids of the runs in `rows` whose record passes their condition now."""
    groups: dict[tuple, list[asyncpg.Record]] = {}
    for row in rows:
        key = (
            row["workspace_id"],
            row["record_type"],
            json.dumps(row["condition"], sort_keys=True),
            tuple(sorted(row["owner_scopes"])),
        )
        groups.setdefault(key, []).append(row)
    passing = []
    for (workspace_id, record_type, _, scopes), runs in groups.items():
        params = Params(workspace_id, [r["record_id"] for r in runs])
        try:
            condition = conditions.compiled(record_type, runs[0]["condition"], list(scopes), params)
        except Exception:  # no longer compiles (a segment gone): the timeout ends the wait
            continue
        found = await conn.fetch(
            f"SELECT t.id FROM {entity(record_type).table} t"
            f" WHERE t.workspace_id = $1 AND t.id = ANY($2::uuid[]) AND {condition}",
            *params.values,
        )
        ids = {r["id"] for r in found}
        passing.extend(r["id"] for r in runs if r["record_id"] in ids)
    return passing
