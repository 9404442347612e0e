"""What every `relasi` command shares: options, settings, running against the database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from relasi import dbschema
from relasi.settings import Settings

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Embedded PostgreSQL data directory (env RELASI_DATA_DIR)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Expires = Annotated[
    str | None, typer.Option("--expires", help="Expiry, ISO 8601 with a zone (2027-01-31T00:00Z).")
]


def settings_with(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def run(
    settings: Settings,
    action: Callable[[Any], Awaitable[Any]],
    *,
    migrate_first: bool = True,
    system: bool = True,
) -> Any:
    """Open the database (embedded unless DATABASE_URL), migrate, run `action(connection)`:
    as relasi_system, or (`system=False`) as the login, which owns the tables."""
    from relasi.db import Database, use_system

    async def main() -> Any:
        db = await Database.from_settings(settings)
        try:
            async with db.pool.acquire() as conn:
                if migrate_first:
                    await dbschema.migrate(conn)
                if system:
                    # an operator's tool: it acts across workspaces, past row-level security
                    await use_system(conn)
                return await action(conn)
        finally:
            await db.close()

    return asyncio.run(main())


def refused(e: Exception) -> typer.Exit:
    """A refused input or missing record, as the command's error (no traceback)."""
    from relasi.errors import AppError, UserInputError

    if isinstance(e, UserInputError):
        for error in e.errors:
            typer.echo(f"{'.'.join(error.field[1:])}: {error.message}", err=True)
    elif isinstance(e, AppError):
        typer.echo(e.message, err=True)
    return typer.Exit(1)


def parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=option) from None


async def require_workspace(conn, workspace_id: UUID) -> None:
    if not await conn.fetchval("SELECT 1 FROM workspaces WHERE id = $1", workspace_id):
        raise typer.BadParameter(f"no workspace {workspace_id}")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def echo(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data))
    else:
        for key, value in data.items():
            typer.echo(f"{key}: {value}")
