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
from relasi.jobs.retention import BATCH, INTERVAL_SECONDS, delete_in_batches, older_than

log = logging.getLogger("relasi.changes")

# events first: a commit is never older than its events, so none is left without its commit
_EVENTS = older_than("change_events", "occurred_at")
_COMMITS = older_than("change_commits", "committed_at")


async def prune(db: Database, days: int, batch: int = BATCH) -> int:
    """Delete every workspace's events older than `days`; returns how many."""
    async with system_connection(db) as conn:
        deleted = await delete_in_batches(conn, _EVENTS, days, batch)
        await delete_in_batches(conn, _COMMITS, days, batch)  # bookkeeping, not counted
    return deleted


@periodic("changes.retention", every=INTERVAL_SECONDS)
async def prune_expired(ctx: JobContext) -> None:
    days = ctx.settings.change_retention_days
    if days <= 0:  # kept forever
        return
    deleted = await prune(ctx.db, days)
    if deleted:
        log.info("deleted %d change events older than %d days", deleted, days)
