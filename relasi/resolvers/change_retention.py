"""Retention of the change log: events older than RELASI_CHANGE_RETENTION_DAYS are deleted
hourly, as periodic background work (relasi/jobs/).

Deletes run in bounded batches, each its own short transaction, so a large backlog never
holds locks for long or bloats one transaction; a prune running at the same time (a test, an
operator) is harmless (a row deleted by one is skipped by the other).
"""

from __future__ import annotations

import logging

from relasi.db import Database, system_connection
from relasi.jobs import JobContext, periodic

log = logging.getLogger("relasi.changes")

BATCH = 5_000
INTERVAL_SECONDS = 3_600

# events first: a commit is never older than its events, so none is left without its commit
_PRUNE = [
    f"""DELETE FROM {table} WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM {table}
             WHERE {column} < now() - make_interval(days => $1) LIMIT $2))"""
    for table, column in (("change_events", "occurred_at"), ("change_commits", "committed_at"))
]


async def prune(db: Database, days: int, batch: int = BATCH) -> int:
    """Delete every workspace's events older than `days`; returns how many."""
    deleted = 0
    async with system_connection(db) as conn:
        for i, statement in enumerate(_PRUNE):
            while True:
                count = int((await conn.execute(statement, days, batch)).split()[-1])
                if i == 0:  # events; their commits' rows are bookkeeping
                    deleted += count
                if count < batch:
                    break
    return deleted


@periodic("changes.retention", every=INTERVAL_SECONDS)
async def prune_expired(ctx: JobContext) -> None:
    days = ctx.settings.change_retention_days
    if days <= 0:  # kept forever
        return
    deleted = await prune(ctx.db, days)
    if deleted:
        log.info("deleted %d change events older than %d days", deleted, days)
