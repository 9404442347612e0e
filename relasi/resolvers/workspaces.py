"""Creating a workspace: its row, its default sales pipeline and its first admin API key; its
HS256 secret for staff tokens; and its settings (name, time zone)."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.api_keys import create_api_key
from relasi.auth.jwt import new_jwt_secret
from relasi.db import use_workspace
from relasi.resolvers.events import announce_jwt_secret_replaced
from relasi.resolvers.validation import NAME, Checker

# name, win probability, status
DEFAULT_PIPELINE_NAME = "Sales"
DEFAULT_STAGES: list[tuple[str, Decimal, str]] = [
    ("Prospecting", Decimal("0.10"), "OPEN"),
    ("Qualification", Decimal("0.25"), "OPEN"),
    ("Proposal", Decimal("0.50"), "OPEN"),
    ("Negotiation", Decimal("0.75"), "OPEN"),
    ("Closed Won", Decimal("1"), "WON"),
    ("Closed Lost", Decimal("0"), "LOST"),
]


async def create_pipeline(
    conn: asyncpg.Connection,
    workspace_id: UUID,
    name: str,
    stages: list[tuple[str, Decimal, str]],
    *,
    is_default: bool = False,
) -> UUID:
    pipeline_id = await conn.fetchval(
        "INSERT INTO pipelines (workspace_id, name, is_default) VALUES ($1, $2, $3) RETURNING id",
        workspace_id,
        name,
        is_default,
    )
    await conn.executemany(
        """INSERT INTO pipeline_stages (workspace_id, pipeline_id, name, position, probability, status)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        [
            (workspace_id, pipeline_id, stage, position, probability, status)
            for position, (stage, probability, status) in enumerate(stages)
        ],
    )
    return pipeline_id


async def create_workspace(
    conn: asyncpg.Connection, name: str, *, key_name: str = "admin"
) -> tuple[UUID, str]:
    """Create a workspace with its default pipeline; return (workspace id, admin API key)."""
    async with conn.transaction():
        workspace_id = await conn.fetchval(
            "INSERT INTO workspaces (name) VALUES ($1) RETURNING id", name
        )
        await use_workspace(conn, workspace_id)
        await create_pipeline(
            conn, workspace_id, DEFAULT_PIPELINE_NAME, DEFAULT_STAGES, is_default=True
        )
        _, api_key = await create_api_key(conn, workspace_id, key_name)
    return workspace_id, api_key


async def set_jwt_secret(db, workspace_id: UUID, *, replace: bool) -> str | None:
    """A new HS256 secret for the workspace's staff tokens, returned this once; tokens signed
    with the previous one stop working at once, also on open sockets (announced: they end in
    every process). Without `replace`, only where none is set (None if one is)."""
    secret = new_jwt_secret()
    done = await db.fetchval(
        """UPDATE workspaces SET jwt_secret = $2
           WHERE id = $1 AND ($3 OR jwt_secret IS NULL) RETURNING id""",
        workspace_id,
        secret,
        replace,
    )
    if not done:
        return None
    await announce_jwt_secret_replaced(db, workspace_id)
    return secret


MAX_TIME_ZONE = 64  # the longest IANA name is 32 characters


async def get(conn, workspace_id: UUID) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT id, name, time_zone, created_at FROM workspaces WHERE id = $1", workspace_id
    )


async def time_zone_problem(conn, name: str) -> str | None:
    """Why `name` is not a time zone both Python (schedules) and PostgreSQL (date fields) know
    by that IANA name, or None."""
    if len(name) > MAX_TIME_ZONE:
        return f"Must be at most {MAX_TIME_ZONE} characters (got {len(name)})."
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not an IANA time zone name (e.g. Asia/Jakarta, Europe/Berlin, UTC)."
    known = await conn.fetchval(
        "SELECT EXISTS (SELECT FROM pg_timezone_names WHERE name = $1)", name
    )
    if not known:
        return f"{name!r} is not a time zone this database knows."
    return None


async def update(session, data: dict[str, Any]) -> asyncpg.Record:
    """Change the caller's workspace's name or time zone (fields left out stay)."""
    check = Checker("input")
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = check.text("name", data["name"], NAME, required=True)
    if "time_zone" in data:
        name = data["time_zone"]
        problem = "timeZone cannot be null." if name is None else None
        if name is not None:
            name = name.strip()
            problem = await time_zone_problem(session, name)
        if problem:
            check.error("timeZone", problem)
        values["time_zone"] = name
    check.raise_if_any()
    if values:
        # names come from the two keys above, never from input
        sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=2))
        await session.execute(
            f"UPDATE workspaces SET {sets} WHERE id = $1", session.workspace_id, *values.values()
        )
    return await get(session, session.workspace_id)
