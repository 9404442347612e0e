"""The scheduled refresh of dynamic segments: periodic background work (relasi/jobs/), one
tick every few seconds for the whole cluster.

Each tick refreshes, one segment per transaction, the segments that are due:

- settling: a rule was saved or restored; writes that raced with it evaluated the old
  definition. Once every transaction that was running after it committed is over (all
  transaction ids below `settle_xid`, a snapshot's xmax taken after the commit, have ended),
  one refresh catches what they missed;
- scheduled: the rule depends on the clock ("in the last 14 days") or reads far relations,
  every `segment_refresh_interval` seconds;
- every dynamic segment, every `segment_reconcile_interval` seconds: data written past the
  write paths (bulk imports) and writes to different records racing each other.

It never uses a request's connection (it takes its own from the pool, one at a time) and never
waits for a request: a segment is claimed with FOR UPDATE SKIP LOCKED (two ticks at once
never refresh the same one; a refreshSegment in progress is skipped), and contacts a request holds
are skipped and retried a few seconds later.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import asyncpg

from relasi.db import Database, system_connection, use_system, use_workspace
from relasi.jobs import JobContext, periodic
from relasi.resolvers.segments import membership

log = logging.getLogger("relasi.segments")

TICK_SECONDS = 2
RETRY_SECONDS = 3  # a refresh that skipped locked contacts is due again this soon
MAX_PER_TICK = 100

_SETTLING = (
    "needs_settle AND settle_xid IS NOT NULL"
    " AND settle_xid <= txid_snapshot_xmin(txid_current_snapshot())"
)
_CLAIM = f"""
    SELECT workspace_id, id, {_SETTLING} AS settling FROM segments
     WHERE deleted_at IS NULL AND kind = 'DYNAMIC'
       AND (({_SETTLING})
            OR (scheduled AND refreshed_at < now() - make_interval(secs => $1))
            OR refreshed_at < now() - make_interval(secs => $2))
     ORDER BY refreshed_at
     LIMIT 1 FOR UPDATE SKIP LOCKED"""


class _Job:
    """A workspace's view of the scheduler's connection (what `membership` needs)."""

    def __init__(self, conn: asyncpg.Connection, workspace_id: UUID) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self.conn.fetch(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await self.conn.execute(sql, *args)


async def tick(db: Database, refresh_interval: float, reconcile_interval: float) -> int:
    """Refresh what is due; returns how many segments were refreshed."""
    async with system_connection(db) as conn:  # every workspace's segments
        await conn.execute(
            "UPDATE segments SET settle_xid = txid_snapshot_xmax(txid_current_snapshot())"
            " WHERE needs_settle AND settle_xid IS NULL AND deleted_at IS NULL"
        )
    done = 0
    while done < MAX_PER_TICK:
        async with db.pool.acquire() as conn, conn.transaction():
            await use_system(conn, local=True)  # to find the next due segment, in any workspace
            claimed = await conn.fetchrow(_CLAIM, refresh_interval, reconcile_interval)
            if claimed is None:
                break
            # then only its workspace's rows, like a request
            await use_system(conn, on=False, local=True)
            await use_workspace(conn, claimed["workspace_id"])
            job = _Job(conn, claimed["workspace_id"])
            _, _, complete = await membership.refresh(
                job, claimed["id"], "SCHEDULE", skip_locked=True
            )
            await conn.execute(
                """UPDATE segments
                      SET refreshed_at = CASE WHEN $3 THEN now()
                              ELSE now() - make_interval(secs => $4) END,
                          needs_settle = needs_settle AND NOT ($5 AND $3),
                          settle_xid = CASE WHEN $5 AND $3 THEN NULL ELSE settle_xid END
                    WHERE workspace_id = $1 AND id = $2""",
                claimed["workspace_id"],
                claimed["id"],
                complete,
                max(reconcile_interval - RETRY_SECONDS, 0),
                claimed["settling"],
            )
        done += 1
    return done


@periodic("segments.refresh", every=TICK_SECONDS)
async def refresh_due(ctx: JobContext) -> None:
    await tick(
        ctx.db, ctx.settings.segment_refresh_interval, ctx.settings.segment_reconcile_interval
    )
