"""The `relasi` command: serve, migrate, workspaces and keys, demo data, the SDL."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from relasi import dbschema
from relasi.settings import Settings

app = typer.Typer(
    help="Relasi: a headless CRM backend (GraphQL over PostgreSQL).", no_args_is_help=True
)
workspace_app = typer.Typer(help="Create workspaces.", no_args_is_help=True)
key_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(key_app, name="key")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Embedded PostgreSQL data directory (env RELASI_DATA_DIR)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DEMO_FILE = "demo-workspace.json"


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _run(
    settings: Settings, action: Callable[[Any], Awaitable[Any]], *, migrate_first: bool = True
) -> Any:
    """Open the database (embedded unless DATABASE_URL), migrate, run `action(connection)`."""
    from relasi.db import Database

    async def main() -> Any:
        db = await Database.from_settings(settings)
        try:
            async with db.pool.acquire() as conn:
                if migrate_first:
                    await dbschema.migrate(conn)
                return await action(conn)
        finally:
            await db.close()

    return asyncio.run(main())


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data))
    else:
        for key, value in data.items():
            typer.echo(f"{key}: {value}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (env RELASI_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env RELASI_PORT).")] = None,
    data_dir: DataDir = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Load the demo workspace on first start.")
    ] = False,
    log_level: Annotated[
        str | None, typer.Option(help="debug, info, warning (env RELASI_LOG_LEVEL).")
    ] = None,
) -> None:
    """Run the GraphQL server (http://HOST:PORT/graphql)."""
    import uvicorn

    from relasi.server import create_app

    settings = _settings(host=host, port=port, data_dir=data_dir, log_level=log_level)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )

    async def announce_demo(db) -> None:
        async with db.pool.acquire() as conn:
            info = await ensure_demo_workspace(conn, settings.data_dir)
        typer.echo(
            f"Demo workspace {info['workspace_id']} ready. API key: {info['api_key']}\n"
            f"Try: curl -H 'Authorization: Bearer {info['api_key']}' -H 'Content-Type: application/json'"
            f' -d \'{{"query": "{{ contacts(first: 3) {{ nodes {{ fullName email }} }} }}"}}\''
            f" http://{settings.host}:{settings.port}/graphql"
        )

    application = create_app(settings, on_ready=announce_demo if demo else None)
    uvicorn.run(
        application, host=settings.host, port=settings.port, log_level=settings.log_level.lower()
    )


async def ensure_demo_workspace(conn, data_dir: Path) -> dict[str, str]:
    """The demo workspace of this data directory, created and seeded on first use.

    Its key is kept in the data directory (mode 0600) so later starts can print it again.
    """
    marker = data_dir / DEMO_FILE
    if marker.exists():
        info = json.loads(marker.read_text())
        if await conn.fetchval(
            "SELECT 1 FROM workspaces WHERE id = $1", UUID(info["workspace_id"])
        ):
            return info
    info = await seed_demo_workspace(conn)
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(info))
    os.chmod(marker, 0o600)
    return info


async def seed_demo_workspace(conn) -> dict[str, str]:
    from relasi.resolvers.workspaces import create_workspace
    from relasi.seed import seed_demo

    workspace_id, api_key = await create_workspace(conn, "Relasi Demo")
    await seed_demo(conn, workspace_id)
    return {"workspace_id": str(workspace_id), "api_key": api_key}


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Apply pending database migrations."""
    applied = _run(_settings(data_dir=data_dir), dbschema.migrate, migrate_first=False)
    typer.echo(f"applied: {', '.join(applied)}" if applied else "up to date")


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Build a demo workspace.")] = False,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Create a new workspace filled with realistic, deterministic demo data."""
    if not demo:
        raise typer.BadParameter("only --demo seeding exists", param_hint="--demo")
    _print(_run(_settings(data_dir=data_dir), seed_demo_workspace), as_json)


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL), for client code generators."""
    from relasi.schema import schema as graphql_schema

    typer.echo(graphql_schema.as_str())


@workspace_app.command("create")
def workspace_create(name: str, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Create a workspace and its first admin API key (shown once)."""
    from relasi.resolvers.workspaces import create_workspace

    async def action(conn) -> dict[str, str]:
        workspace_id, api_key = await create_workspace(conn, name)
        return {"workspace_id": str(workspace_id), "api_key": api_key}

    _print(_run(_settings(data_dir=data_dir), action), as_json)


@key_app.command("create")
def key_create(
    workspace_id: UUID,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "api",
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Create an admin API key for a workspace (the key is shown once)."""
    from relasi.auth.api_keys import create_api_key

    async def action(conn) -> dict[str, str]:
        if not await conn.fetchval("SELECT 1 FROM workspaces WHERE id = $1", workspace_id):
            raise typer.BadParameter(f"no workspace {workspace_id}")
        key_id, api_key = await create_api_key(conn, workspace_id, name)
        return {"key_id": str(key_id), "api_key": api_key}

    _print(_run(_settings(data_dir=data_dir), action), as_json)


@key_app.command("list")
def key_list(workspace_id: UUID, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """List a workspace's keys (prefix only; secrets are never stored)."""
    from relasi.auth.api_keys import list_api_keys

    async def action(conn) -> list[dict[str, Any]]:
        return [
            {
                "name": r["name"],
                "prefix": r["prefix"],
                "role": r["role"],
                "created_at": r["created_at"].isoformat(),
                "revoked": r["revoked_at"] is not None,
            }
            for r in await list_api_keys(conn, workspace_id)
        ]

    keys = _run(_settings(data_dir=data_dir), action)
    if as_json:
        typer.echo(json.dumps(keys))
    for key in [] if as_json else keys:
        typer.echo(f"{key['prefix']}  {key['name']}  {key['role']}  revoked={key['revoked']}")


@key_app.command("revoke")
def key_revoke(prefix: str, data_dir: DataDir = None) -> None:
    """Revoke a key by its prefix (the part after 'rls_'); it stops working at once."""
    from relasi.auth.api_keys import revoke_api_key

    async def action(conn) -> bool:
        return await revoke_api_key(conn, prefix)

    if not _run(_settings(data_dir=data_dir), action):
        typer.echo(f"no active key with prefix {prefix}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {prefix}")
