"""API keys: `rls_<prefix>_<secret>`, stored as prefix + SHA-256(secret).

The secret is 256 random bits, so a fast digest is the right hash (as for GitHub tokens):
slow password hashes exist to protect low-entropy passwords and would add their cost to
every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from uuid import UUID

import asyncpg

from relasi.auth.principal import Principal

KEY_PREFIX = "rls"


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_key(token: str) -> tuple[str, str] | None:
    parts = token.split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


async def create_api_key(
    conn: asyncpg.Connection, workspace_id: UUID, name: str, role: str = "ADMIN"
) -> tuple[UUID, str]:
    """Create a key and return (id, the full key). The full key is never stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32).replace("_", "-")
    key_id = await conn.fetchval(
        """INSERT INTO api_keys (workspace_id, name, prefix, secret_hash, role)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        workspace_id,
        name,
        prefix,
        _digest(secret),
        role,
    )
    return key_id, f"{KEY_PREFIX}_{prefix}_{secret}"


async def revoke_api_key(conn: asyncpg.Connection, prefix: str) -> bool:
    status = await conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE prefix = $1 AND revoked_at IS NULL", prefix
    )
    return status.endswith(" 1")


async def list_api_keys(conn: asyncpg.Connection, workspace_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, name, prefix, role, created_at, revoked_at FROM api_keys
           WHERE workspace_id = $1 ORDER BY created_at, id""",
        workspace_id,
    )


async def authenticate(conn: asyncpg.Connection, token: str) -> Principal | None:
    parsed = parse_key(token)
    if parsed is None:
        return None
    prefix, secret = parsed
    row = await conn.fetchrow(
        """SELECT id, workspace_id, name, role, secret_hash FROM api_keys
           WHERE prefix = $1 AND revoked_at IS NULL""",
        prefix,
    )
    if row is None or not hmac.compare_digest(bytes(row["secret_hash"]), _digest(secret)):
        return None
    return Principal(
        workspace_id=row["workspace_id"],
        api_key_id=row["id"],
        api_key_name=row["name"],
        role=row["role"],
    )


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
