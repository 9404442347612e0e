"""The queue's own upkeep: pgqueuer keeps a log row for every status a job goes through, folds
them into per-second statistics, and keeps failed jobs for inspection. Rows older than
RELASI_JOBS_LOG_RETENTION_DAYS are deleted hourly, in bounded batches (short transactions)."""

from __future__ import annotations

import logging

from relasi.db import Database
from relasi.jobs.registry import JobContext, periodic

log = logging.getLogger("relasi.jobs")

BATCH = 5_000
INTERVAL_SECONDS = 3_600

# table, its time column, which rows may go
_PRUNE = [
    f"""DELETE FROM {table} WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM {table}
             WHERE {column} < now() - make_interval(days => $1) {condition} LIMIT $2))"""
    for table, column, condition in (
        ("pgqueuer_log", "created", ""),
        ("pgqueuer_statistics", "created", ""),
        ("pgqueuer", "updated", "AND status = 'failed'"),  # queued and running jobs stay
    )
]


async def prune(db: Database, days: int, batch: int = BATCH) -> int:
    """Delete the queue's log, statistics and failed jobs older than `days`; how many rows."""
    deleted = 0
    async with db.pool.acquire() as conn:  # system tables: the login owns them
        for statement in _PRUNE:
            while True:
                count = int((await conn.execute(statement, days, batch)).split()[-1])
                deleted += count
                if count < batch:
                    break
    return deleted


@periodic("jobs.retention", every=INTERVAL_SECONDS)
async def prune_expired(ctx: JobContext) -> None:
    days = ctx.settings.jobs_log_retention_days
    if days <= 0:  # kept forever
        return
    deleted = await prune(ctx.db, days)
    if deleted:
        log.info("deleted %d job log rows and failed jobs older than %d days", deleted, days)
