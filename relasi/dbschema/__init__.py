"""Forward-only numbered SQL migrations (`NNNN_name.sql` beside this file)."""

from __future__ import annotations

import logging
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)

# Any constant will do: every Relasi process uses the same one, so two processes starting at
# once apply migrations one after the other instead of racing.
MIGRATION_LOCK_KEY = 0x52454C415349  # "RELASI"


def migration_files() -> list[tuple[str, str]]:
    files = sorted(f for f in resources.files(__package__).iterdir() if f.name.endswith(".sql"))
    return [(f.name.removesuffix(".sql"), f.read_text()) for f in files]


async def applied_migrations(conn: asyncpg.Connection) -> set[str]:
    exists = await conn.fetchval("SELECT to_regclass('public.schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    return {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}


async def pending_migrations(conn: asyncpg.Connection) -> list[str]:
    done = await applied_migrations(conn)
    return [name for name, _ in migration_files() if name not in done]


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations in order, each in its own transaction; return their names."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = await applied_migrations(conn)
        applied = []
        for name, sql in migration_files():
            if name in done:
                continue
            async with conn.transaction():
                # as the tables' owner (DDL needs it), which row-level security binds: a
                # statement on workspace rows fails here instead of silently touching none
                # (a migration that must move such rows does it as relasi_system, see 0007)
                await conn.execute("SET LOCAL row_security = off")
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            log.info("applied migration %s", name)
            applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
