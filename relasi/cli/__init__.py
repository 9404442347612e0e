"""The `relasi` command: serve, worker, migrate, workspaces, members and keys, demo data, the SDL."""

from __future__ import annotations

from typing import Annotated

import typer

from relasi import dbschema
from relasi.cli.common import AsJson, DataDir, echo, run, settings_with
from relasi.cli.demo import seed_demo_workspace
from relasi.cli.keys import key_app
from relasi.cli.members import member_app
from relasi.cli.serve import serve
from relasi.cli.worker import worker
from relasi.cli.workspaces import workspace_app

app = typer.Typer(
    help="Relasi: a headless CRM backend (GraphQL over PostgreSQL).", no_args_is_help=True
)
app.add_typer(workspace_app, name="workspace")
app.add_typer(key_app, name="key")
app.add_typer(member_app, name="member")

app.command()(serve)
app.command()(worker)


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
