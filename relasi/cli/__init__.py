"""The `relasi` command: serve, migrate, workspaces, members and keys, demo data, the SDL."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from relasi import dbschema
from relasi.cli.common import AsJson, DataDir, echo, run, settings_with
from relasi.cli.keys import key_app
from relasi.cli.members import member_app
from relasi.cli.workspaces import workspace_app

app = typer.Typer(
    help="Relasi: a headless CRM backend (GraphQL over PostgreSQL).", no_args_is_help=True
)
app.add_typer(workspace_app, name="workspace")
app.add_typer(key_app, name="key")
app.add_typer(member_app, name="member")

DEMO_FILE = "demo-workspace.json"


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

    settings = settings_with(host=host, port=port, data_dir=data_dir, log_level=log_level)
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
    applied = run(
        settings_with(data_dir=data_dir), dbschema.migrate, migrate_first=False, system=False
    )
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
    echo(run(settings_with(data_dir=data_dir), seed_demo_workspace), as_json)


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL), for client code generators."""
    from relasi.schema import schema as graphql_schema

    typer.echo(graphql_schema.as_str())
