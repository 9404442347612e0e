"""Retention of the change log: events older than RELASI_CHANGE_RETENTION_DAYS are deleted by
one asyncio task per server process.

Deletes run in bounded batches, each its own short transaction, so a large backlog never
holds locks for long or bloats one transaction; several processes may prune at once (a row
deleted by one is skipped by the other).
"""

from __future__ import annotations

import asyncio
import logging

from relasi.db import Database, system_connection

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


async def run(db: Database, days: int, interval: float = INTERVAL_SECONDS) -> None:
    """Prune now and then every `interval` seconds until cancelled (`days` 0: never)."""
    if days <= 0:
        return
    while True:
        try:
            deleted = await prune(db, days)
            if deleted:
                log.info("deleted %d change events older than %d days", deleted, days)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("change log retention failed")
        await asyncio.sleep(interval)
