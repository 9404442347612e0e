"""`relasi workspace ...`: create workspaces, set their secret for staff tokens."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer

from relasi.cli.common import (
    AsJson,
    DataDir,
    echo,
    require_workspace,
    run,
    settings_with,
)

workspace_app = typer.Typer(
    help="Create workspaces; set their secret for staff tokens.", no_args_is_help=True
)


@workspace_app.command("create")
def workspace_create(name: str, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Create a workspace and its first admin API key (shown once)."""
    from relasi.resolvers.workspaces import create_workspace

    async def action(conn) -> dict[str, str]:
        workspace_id, api_key = await create_workspace(conn, name)
        return {"workspace_id": str(workspace_id), "api_key": api_key}

    echo(run(settings_with(data_dir=data_dir), action), as_json)


@workspace_app.command("jwt-secret")
def workspace_jwt_secret(
    workspace_id: UUID,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Replace the secret; old tokens stop working.")
    ] = False,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Create the workspace's secret for HS256 staff tokens (shown once)."""
    from relasi.resolvers.workspaces import set_jwt_secret

    async def action(conn) -> dict[str, str]:
        await require_workspace(conn, workspace_id)
        secret = await set_jwt_secret(conn, workspace_id, replace=rotate)
        if secret is None:
            typer.echo(
                "this workspace has a JWT secret already (shown only when made);"
                " pass --rotate to replace it",
                err=True,
            )
            raise typer.Exit(1)
        return {"workspace_id": str(workspace_id), "jwt_secret": secret}

    echo(run(settings_with(data_dir=data_dir), action), as_json)
