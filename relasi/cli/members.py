"""`relasi member ...`: invite, list, change and remove a workspace's members."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from relasi.auth.scopes import Role
from relasi.cli.common import (
    AsJson,
    DataDir,
    echo,
    iso,
    refused,
    require_workspace,
    run,
    settings_with,
)

member_app = typer.Typer(
    help="Invite, list, change and remove a workspace's members.", no_args_is_help=True
)


def _member(row) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "email": row["email"],
        "name": row["name"],
        "role": row["role"],
        "status": row["status"],
        "invited_at": iso(row["invited_at"]),
        "joined_at": iso(row["joined_at"]),
    }


def _change_member(
    workspace_id: UUID, email: str, data_dir: Path | None, change: Callable[..., Awaitable[Any]]
) -> dict[str, Any]:
    """Run `change(conn, member_row)` on the live member with this email, in a transaction."""
    from relasi.errors import AppError
    from relasi.resolvers import members

    async def action(conn) -> dict[str, Any]:
        await require_workspace(conn, workspace_id)
        try:
            async with conn.transaction():
                member = await members.by_email(conn, workspace_id, email)
                if member is None or member["status"] == "REMOVED":
                    typer.echo(f"no member {email} in this workspace", err=True)
                    raise typer.Exit(1)
                return _member(await change(conn, member))
        except AppError as e:
            raise refused(e) from None

    return run(settings_with(data_dir=data_dir), action)


@member_app.command("invite")
def member_invite(
    workspace_id: UUID,
    email: str,
    name: Annotated[str | None, typer.Option(help="Default: the email's name.")] = None,
    role: Annotated[Role, typer.Option(case_sensitive=False)] = Role.VIEWER,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Invite a user by email; the member becomes ACTIVE on first sign-in with a JWT."""
    from relasi.errors import AppError
    from relasi.resolvers import members

    async def action(conn) -> dict[str, Any]:
        await require_workspace(conn, workspace_id)
        try:
            row = await members.invite(
                conn, workspace_id, {"email": email, "name": name, "role": role}
            )
        except AppError as e:
            raise refused(e) from None
        return _member(row)

    echo(run(settings_with(data_dir=data_dir), action), as_json)


@member_app.command("list")
def member_list(workspace_id: UUID, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """List a workspace's members: email, name, role, status."""
    from relasi.resolvers import members

    async def action(conn) -> list[dict[str, Any]]:
        await require_workspace(conn, workspace_id)
        return [_member(r) for r in await members.list_all(conn, workspace_id)]

    rows = run(settings_with(data_dir=data_dir), action)
    if as_json:
        typer.echo(json.dumps(rows))
    for m in [] if as_json else rows:
        typer.echo(f"{m['email']}  {m['name']}  {m['role']}  {m['status']}")


@member_app.command("role")
def member_role(
    workspace_id: UUID,
    email: str,
    role: Annotated[Role, typer.Argument(case_sensitive=False)],
    data_dir: DataDir = None,
) -> None:
    """Change a member's role (the last active admin cannot be demoted)."""
    from relasi.resolvers import members

    async def change(conn, member) -> Any:
        return await members.set_role(conn, workspace_id, member["id"], role)

    row = _change_member(workspace_id, email, data_dir, change)
    typer.echo(f"{row['email']}: {row['role']}")


@member_app.command("remove")
def member_remove(workspace_id: UUID, email: str, data_dir: DataDir = None) -> None:
    """Remove a member: their next request is refused (the last active admin stays)."""
    from relasi.resolvers import members

    async def change(conn, member) -> Any:
        return await members.remove(conn, workspace_id, member["id"])

    row = _change_member(workspace_id, email, data_dir, change)
    typer.echo(f"removed {row['email']}")
