"""The `relasi` command: serve, migrate, workspaces, members and keys, demo data, the SDL."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from relasi import dbschema
from relasi.auth.scopes import Role
from relasi.settings import Settings

app = typer.Typer(
    help="Relasi: a headless CRM backend (GraphQL over PostgreSQL).", no_args_is_help=True
)
workspace_app = typer.Typer(
    help="Create workspaces; set their secret for staff tokens.", no_args_is_help=True
)
key_app = typer.Typer(help="Create, list, rotate and revoke API keys.", no_args_is_help=True)
member_app = typer.Typer(
    help="Invite, list, change and remove a workspace's members.", no_args_is_help=True
)
app.add_typer(workspace_app, name="workspace")
app.add_typer(key_app, name="key")
app.add_typer(member_app, name="member")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Embedded PostgreSQL data directory (env RELASI_DATA_DIR)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Expires = Annotated[
    str | None, typer.Option("--expires", help="Expiry, ISO 8601 with a zone (2027-01-31T00:00Z).")
]
DEMO_FILE = "demo-workspace.json"


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _run(
    settings: Settings, action: Callable[[Any], Awaitable[Any]], *, migrate_first: bool = True
) -> Any:
    """Open the database (embedded unless DATABASE_URL), migrate, run `action(connection)`."""
    from relasi.db import Database, use_system

    async def main() -> Any:
        db = await Database.from_settings(settings)
        try:
            async with db.pool.acquire() as conn:
                if migrate_first:
                    await dbschema.migrate(conn)
                # an operator's tool: it acts across workspaces, past row-level security
                await use_system(conn)
                return await action(conn)
        finally:
            await db.close()

    return asyncio.run(main())


def _refused(e: Exception) -> typer.Exit:
    """A refused input or missing record, as the command's error (no traceback)."""
    from relasi.errors import AppError, UserInputError

    if isinstance(e, UserInputError):
        for error in e.errors:
            typer.echo(f"{'.'.join(error.field[1:])}: {error.message}", err=True)
    elif isinstance(e, AppError):
        typer.echo(e.message, err=True)
    return typer.Exit(1)


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=option) from None


async def _workspace(conn, workspace_id: UUID) -> None:
    if not await conn.fetchval("SELECT 1 FROM workspaces WHERE id = $1", workspace_id):
        raise typer.BadParameter(f"no workspace {workspace_id}")


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


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
        await _workspace(conn, workspace_id)
        secret = await set_jwt_secret(conn, workspace_id, replace=rotate)
        if secret is None:
            typer.echo(
                "this workspace has a JWT secret already (shown only when made);"
                " pass --rotate to replace it",
                err=True,
            )
            raise typer.Exit(1)
        return {"workspace_id": str(workspace_id), "jwt_secret": secret}

    _print(_run(_settings(data_dir=data_dir), action), as_json)


@key_app.command("create")
def key_create(
    workspace_id: UUID,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "api",
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="A scope (repeat for more); default: admin."),
    ] = None,
    expires: Expires = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Create an API key for a workspace (the key is shown once; only its hash is stored)."""
    from relasi.errors import AppError
    from relasi.resolvers import api_keys

    data = {
        "name": name,
        "scopes": scope or ["admin"],
        "expires_at": _parse_time(expires, "--expires"),
    }

    async def action(conn) -> dict[str, Any]:
        await _workspace(conn, workspace_id)
        try:
            row, api_key = await api_keys.create(conn, workspace_id, data)
        except AppError as e:
            raise _refused(e) from None
        return {"key_id": str(row["id"]), "api_key": api_key, "scopes": list(row["scopes"])}

    _print(_run(_settings(data_dir=data_dir), action), as_json)


@key_app.command("list")
def key_list(workspace_id: UUID, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """List a workspace's keys: prefix (secrets are never stored), scopes, last use, expiry."""
    from relasi.auth.api_keys import list_api_keys

    async def action(conn) -> list[dict[str, Any]]:
        return [
            {
                "name": r["name"],
                "prefix": r["prefix"],
                "scopes": list(r["scopes"]),
                "created_at": r["created_at"].isoformat(),
                "expires_at": _time(r["expires_at"]),
                "last_used_at": _time(r["last_used_at"]),
                "revoked": r["revoked_at"] is not None,
            }
            for r in await list_api_keys(conn, workspace_id)
        ]

    keys = _run(_settings(data_dir=data_dir), action)
    if as_json:
        typer.echo(json.dumps(keys))
    for key in [] if as_json else keys:
        typer.echo(
            f"{key['prefix']}  {key['name']}  {','.join(key['scopes'])}"
            f"  last_used={key['last_used_at'] or 'never'}"
            f"  expires={key['expires_at'] or 'never'}  revoked={key['revoked']}"
        )


@key_app.command("rotate")
def key_rotate(
    prefix: str, expires: Expires = None, data_dir: DataDir = None, as_json: AsJson = False
) -> None:
    """Replace a key with a new one (same name and scopes; shown once). The old key stops
    working at once. Without --expires the new key gets the old one's lifetime."""
    from relasi.errors import AppError
    from relasi.resolvers import api_keys

    data = {} if expires is None else {"expires_at": _parse_time(expires, "--expires")}

    async def action(conn) -> dict[str, Any]:
        old = await api_keys.by_prefix(conn, prefix)
        if old is None:
            typer.echo(f"no key with prefix {prefix}", err=True)
            raise typer.Exit(1)
        try:
            async with conn.transaction():
                row, api_key = await api_keys.rotate(conn, old["workspace_id"], old["id"], data)
        except AppError as e:
            raise _refused(e) from None
        return {"key_id": str(row["id"]), "api_key": api_key, "revoked": prefix}

    _print(_run(_settings(data_dir=data_dir), action), as_json)


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


def _member(row) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "email": row["email"],
        "name": row["name"],
        "role": row["role"],
        "status": row["status"],
        "invited_at": _time(row["invited_at"]),
        "joined_at": _time(row["joined_at"]),
    }


def _change_member(
    workspace_id: UUID, email: str, data_dir: Path | None, change: Callable[..., Awaitable[Any]]
) -> dict[str, Any]:
    """Run `change(conn, member_row)` on the live member with this email, in a transaction."""
    from relasi.errors import AppError
    from relasi.resolvers import members

    async def action(conn) -> dict[str, Any]:
        await _workspace(conn, workspace_id)
        try:
            async with conn.transaction():
                member = await members.by_email(conn, workspace_id, email)
                if member is None or member["status"] == "REMOVED":
                    typer.echo(f"no member {email} in this workspace", err=True)
                    raise typer.Exit(1)
                return _member(await change(conn, member))
        except AppError as e:
            raise _refused(e) from None

    return _run(_settings(data_dir=data_dir), action)


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
        await _workspace(conn, workspace_id)
        try:
            row = await members.invite(
                conn, workspace_id, {"email": email, "name": name, "role": role}
            )
        except AppError as e:
            raise _refused(e) from None
        return _member(row)

    _print(_run(_settings(data_dir=data_dir), action), as_json)


@member_app.command("list")
def member_list(workspace_id: UUID, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """List a workspace's members: email, name, role, status."""
    from relasi.resolvers import members

    async def action(conn) -> list[dict[str, Any]]:
        await _workspace(conn, workspace_id)
        return [_member(r) for r in await members.list_all(conn, workspace_id)]

    rows = _run(_settings(data_dir=data_dir), action)
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
