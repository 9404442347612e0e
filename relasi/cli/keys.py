"""`relasi key ...`: create, list, rotate and revoke API keys."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

import typer

from relasi.cli.common import (
    AsJson,
    DataDir,
    Expires,
    echo,
    iso,
    parse_time,
    refused,
    require_workspace,
    run,
    settings_with,
)

key_app = typer.Typer(help="Create, list, rotate and revoke API keys.", no_args_is_help=True)


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
        "expires_at": parse_time(expires, "--expires"),
    }

    async def action(conn) -> dict[str, Any]:
        await require_workspace(conn, workspace_id)
        try:
            row, api_key = await api_keys.create(conn, workspace_id, data)
        except AppError as e:
            raise refused(e) from None
        return {"key_id": str(row["id"]), "api_key": api_key, "scopes": list(row["scopes"])}

    echo(run(settings_with(data_dir=data_dir), action), as_json)


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
                "expires_at": iso(r["expires_at"]),
                "last_used_at": iso(r["last_used_at"]),
                "revoked": r["revoked_at"] is not None,
            }
            for r in await list_api_keys(conn, workspace_id)
        ]

    keys = run(settings_with(data_dir=data_dir), action)
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

    data = {} if expires is None else {"expires_at": parse_time(expires, "--expires")}

    async def action(conn) -> dict[str, Any]:
        old = await api_keys.by_prefix(conn, prefix)
        if old is None:
            typer.echo(f"no key with prefix {prefix}", err=True)
            raise typer.Exit(1)
        try:
            async with conn.transaction():
                row, api_key = await api_keys.rotate(conn, old["workspace_id"], old["id"], data)
        except AppError as e:
            raise refused(e) from None
        return {"key_id": str(row["id"]), "api_key": api_key, "revoked": prefix}

    echo(run(settings_with(data_dir=data_dir), action), as_json)


@key_app.command("revoke")
def key_revoke(prefix: str, data_dir: DataDir = None) -> None:
    """Revoke a key by its prefix (the part after 'rls_'); it stops working at once."""
    from relasi.auth.api_keys import revoke_api_key

    async def action(conn) -> bool:
        return await revoke_api_key(conn, prefix)

    if not run(settings_with(data_dir=data_dir), action):
        typer.echo(f"no active key with prefix {prefix}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {prefix}")
