"""API keys for integrations and partners: scoped, optionally expiring, rotated and revoked.

The key format, hashing and request-time check live in `relasi.auth.api_keys`; this module
holds the storage mapping (so `apiKeys` pages, filters and sorts like every list) and the
rules shared by GraphQL and the `relasi key` command. Functions take `db`: a request's Session
or, in the CLI, a connection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.api_keys import create_api_key
from relasi.auth.principal import Principal
from relasi.auth.scopes import SCOPES
from relasi.errors import Conflict
from relasi.resolvers import rows
from relasi.resolvers.events import announce_revoked
from relasi.resolvers.model import Entity, Field, Kind, register
from relasi.resolvers.session import Session
from relasi.resolvers.validation import Checker
from relasi.resolvers.webhooks import owners as webhook_owners

API_KEY = register(
    Entity(
        name="ApiKey",
        table="api_keys",
        fields=(
            Field("id", Kind.ID, nullable=False),
            Field("created_at", Kind.DATETIME, sortable=True, nullable=False),
            Field("name", Kind.STRING, sortable=True, sort_sql="lower({t}.name)", nullable=False),
            Field("prefix", Kind.STRING, nullable=False),
            Field("expires_at", Kind.DATETIME, sortable=True),
            Field("last_used_at", Kind.DATETIME, sortable=True),
            Field("revoked_at", Kind.DATETIME),
        ),
        soft_delete=False,  # revoked keys stay listed, with revokedAt
        search=("{t}.name ILIKE {p}", "{t}.prefix ILIKE {p}"),
    )
)

Db = Session | asyncpg.Connection


def _expiry(check: Checker, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        check.error("expiresAt", "Give a time zone (e.g. 2027-01-31T00:00:00Z).")
    elif value <= datetime.now(UTC):
        check.error("expiresAt", "Must be in the future.")
    return value


def _scopes(check: Checker, scopes: list[str]) -> list[str]:
    if not scopes:
        check.error("scopes", "Give at least one scope.")
    for i, scope in enumerate(scopes):
        if scope not in SCOPES:
            check.error(f"scopes.{i}", f"Unknown scope {scope!r}; known: {', '.join(SCOPES)}.")
    return sorted(set(scopes))


async def create(
    db: Db,
    workspace_id: UUID,
    data: dict[str, Any],
    created_by: Principal | None = None,
) -> tuple[asyncpg.Record, str]:
    """A new key: (its row, the full key, which is shown this once and never stored)."""
    check = Checker("input")
    name = check.text("name", data.get("name"), required=True)
    scopes = _scopes(check, data.get("scopes") or [])
    expires_at = _expiry(check, data.get("expires_at"))
    check.raise_if_any()
    return await create_api_key(
        db, workspace_id, name, scopes, expires_at=expires_at, created_by=created_by
    )


async def rotate(
    db: Db,
    workspace_id: UUID,
    pk: UUID,
    data: dict[str, Any],
    created_by: Principal | None = None,
) -> tuple[asyncpg.Record, str]:
    """A new key with the old one's name and scopes; the old key is revoked at once.

    Without `expires_at` the new key gets the old one's lifetime (a 90-day key becomes a new
    90-day key); `expires_at: null` makes it never expire.
    """
    old = await db.fetchrow(
        "SELECT * FROM api_keys WHERE workspace_id = $1 AND id = $2 FOR UPDATE", workspace_id, pk
    )
    if old is None:
        raise rows.not_found(API_KEY, pk)
    if old["revoked_at"] is not None:
        raise Conflict("This key is revoked; create a new one instead.", field="input.id")
    check = Checker("input")
    if "expires_at" in data:
        expires_at = _expiry(check, data["expires_at"])
    elif old["expires_at"] is not None:
        expires_at = datetime.now(UTC) + (old["expires_at"] - old["created_at"])
    else:
        expires_at = None
    check.raise_if_any()
    await db.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", pk)
    await announce_revoked(db, workspace_id, pk)
    made = await create_api_key(
        db,
        workspace_id,
        old["name"],
        list(old["scopes"]),
        expires_at=expires_at,
        created_by=created_by,
    )
    # the webhook endpoints the old key saved carry on under the new one (same scopes)
    await webhook_owners.transfer(db, workspace_id, pk, made[0]["id"])
    return made


async def revoke(db: Db, workspace_id: UUID, pk: UUID) -> asyncpg.Record:
    """Revoked at once. Revoking twice changes nothing (revokedAt keeps the first time)."""
    row = await db.fetchrow(
        """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
           WHERE workspace_id = $1 AND id = $2 RETURNING *""",
        workspace_id,
        pk,
    )
    if row is None:
        raise rows.not_found(API_KEY, pk)
    await announce_revoked(db, workspace_id, pk)
    return row


async def by_prefix(db: Db, prefix: str) -> asyncpg.Record | None:
    return await db.fetchrow("SELECT * FROM api_keys WHERE prefix = $1", prefix)
