"""API keys: `rls_<prefix>_<secret>`, stored as prefix + SHA-256(secret).

The secret is 256 random bits, so a fast digest is the right hash (as for GitHub tokens):
slow password hashes exist to protect low-entropy passwords and would add their cost to
every request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from relasi.auth.key_cache import KeyCache
from relasi.auth.principal import Principal
from relasi.auth.scopes import ADMIN
from relasi.db import RequestSettings
from relasi.resolvers.events import announce_revoked

KEY_PREFIX = "rls"
LAST_USED_PRECISION = timedelta(minutes=1)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_key(token: str) -> tuple[str, str] | None:
    parts = token.split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


async def create_api_key(
    conn: asyncpg.Connection,
    workspace_id: UUID,
    name: str,
    scopes: list[str] | tuple[str, ...] = (ADMIN,),
    *,
    expires_at: datetime | None = None,
    created_by: Principal | None = None,
) -> tuple[asyncpg.Record, str]:
    """Create a key and return (its row, the full key). The full key is never stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32).replace("_", "-")
    row = await conn.fetchrow(
        """INSERT INTO api_keys (workspace_id, name, prefix, secret_hash, scopes, expires_at,
                                 created_by_api_key_id, created_by_member_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *""",
        workspace_id,
        name,
        prefix,
        _digest(secret),
        sorted(set(scopes)),
        expires_at,
        created_by.api_key_id if created_by else None,
        created_by.member_id if created_by else None,
    )
    return row, f"{KEY_PREFIX}_{prefix}_{secret}"


async def revoke_api_key(
    conn: asyncpg.Connection, prefix: str, workspace_id: UUID | None = None
) -> bool:
    async with conn.transaction():
        revoked = await conn.fetchrow(
            """UPDATE api_keys SET revoked_at = now()
               WHERE prefix = $1 AND revoked_at IS NULL
                 AND ($2::uuid IS NULL OR workspace_id = $2)
               RETURNING id, workspace_id""",
            prefix,
            workspace_id,
        )
        if revoked is not None:
            await announce_revoked(conn, revoked["workspace_id"], revoked["id"])
    return revoked is not None


async def list_api_keys(conn: asyncpg.Connection, workspace_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, name, prefix, scopes, created_at, expires_at, last_used_at, revoked_at
           FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, id""",
        workspace_id,
    )


async def authenticate(
    conn: asyncpg.Connection,
    token: str,
    settings: RequestSettings | None = None,
    keys: KeyCache | None = None,
) -> Principal | None:
    """The principal of a live (not revoked, not expired) key; None for anything else.

    With `settings`, the same round trip points the connection at the key's workspace (only
    when the key is good); with `keys`, a good key is remembered there for the next requests.
    The digests are compared in SQL: what a timing difference could tell is a prefix of the
    digest, which does not help to find a secret of 256 random bits."""
    parsed = parse_key(token)
    if parsed is None:
        return None
    prefix, secret = parsed
    ticket = keys.ticket() if keys is not None else 0
    configure = f", {settings.select_list('workspace_id::text', 3)}" if settings else ""
    row = await conn.fetchrow(
        f"""SELECT id, workspace_id, name, scopes, expires_at, last_used_at{configure}
            FROM api_keys
            WHERE prefix = $1 AND secret_hash = $2 AND revoked_at IS NULL
              AND (expires_at IS NULL OR expires_at > now())""",
        prefix,
        _digest(secret),
        *(settings.args() if settings else ()),
    )
    if row is None:
        return None
    last_used = row["last_used_at"]
    now = datetime.now(UTC)
    if last_used is None or now - last_used > LAST_USED_PRECISION:
        # at most one write per key a minute: "last used" must not cost every request a write
        await conn.execute(
            """UPDATE api_keys SET last_used_at = now() WHERE id = $1
               AND (last_used_at IS NULL OR last_used_at < now() - $2::interval)""",
            row["id"],
            LAST_USED_PRECISION,
        )
        last_used = now
    principal = Principal(
        workspace_id=row["workspace_id"],
        scopes=frozenset(row["scopes"]),
        api_key_id=row["id"],
        api_key_name=row["name"],
        expires_at=row["expires_at"],
    )
    if keys is not None:
        keys.remember(ticket, token, principal, last_used + LAST_USED_PRECISION)
    return principal


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
