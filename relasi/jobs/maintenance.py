"""The queue's own upkeep: pgqueuer keeps a log row for every status a job goes through, folds
them into per-second statistics, and keeps failed jobs for inspection. Rows older than
RELASI_JOBS_LOG_RETENTION_DAYS are deleted hourly, in bounded batches (short transactions)."""

from __future__ import annotations

import logging

from relasi.db import Database
from relasi.jobs.registry import JobContext, periodic
from relasi.jobs.retention import BATCH, INTERVAL_SECONDS, delete_in_batches, older_than

log = logging.getLogger("relasi.jobs")

# which rows may go: table, its time column, a further condition
_PRUNE = [
    older_than("pgqueuer_log", "created"),
    older_than("pgqueuer_statistics", "created"),
    older_than("pgqueuer", "updated", "AND status = 'failed'"),  # queued and running jobs stay
]


async def prune(db: Database, days: int, batch: int = BATCH) -> int:
    """Delete the queue's log, statistics and failed jobs older than `days`; how many rows."""
    async with db.pool.acquire() as conn:  # system tables: the login owns them
        return sum([await delete_in_batches(conn, s, days, batch) for s in _PRUNE])


@periodic("jobs.retention", every=INTERVAL_SECONDS)
async def prune_expired(ctx: JobContext) -> None:
    days = ctx.settings.jobs_log_retention_days
    if days <= 0:  # kept forever
        return
    deleted = await prune(ctx.db, days)
    if deleted:
        log.info("deleted %d job log rows and failed jobs older than %d days", deleted, days)
