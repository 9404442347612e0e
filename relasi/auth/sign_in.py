"""From a verified JWT to a member of a workspace: the staff user's principal.

The user is named by a configurable claim (RELASI_JWT_USER_CLAIM): an email is matched
case-insensitively against members.email; `sub` against members.subject, which a member learns
on first sign-in (invitations are by email, so a first `sub` sign-in also looks for the
token's `email`). The first sign-in also makes an invited member ACTIVE. Removed members and
users without a membership of the token's workspace get no principal.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.jwt import claim_uuid
from relasi.auth.principal import Principal
from relasi.auth.scopes import ROLE_SCOPES, Role
from relasi.db import use_workspace

log = logging.getLogger("relasi.auth")

_COLUMNS = "id, role, status, subject, joined_at"
_MEMBER = f"SELECT {_COLUMNS} FROM members WHERE workspace_id = $1"


async def member_principal(
    conn: asyncpg.Connection,
    claims: dict[str, Any],
    *,
    user_claim: str,
    workspace_claim: str,
    secret_hash: bytes | None = None,
) -> Principal | None:
    workspace_id = claim_uuid(claims, workspace_claim)
    if workspace_id is None:
        log.debug("JWT refused: no workspace id in the %r claim", workspace_claim)
        return None
    subject = claims.get("sub") if isinstance(claims.get("sub"), str) else None
    # the connection goes back to the pool (which resets it) right after sign-in
    await use_workspace(conn, workspace_id, local=False)
    member = await _find(conn, workspace_id, claims, user_claim, subject)
    if member is None or member["status"] == "REMOVED":
        log.debug("JWT refused: the user is no member of workspace %s", workspace_id)
        return None
    if member["status"] == "INVITED" or member["joined_at"] is None or _learns(member, subject):
        member = await _join(conn, workspace_id, member["id"], subject)
        if member is None:
            return None  # removed meanwhile
    role = Role(member["role"])
    expires = claims.get("exp")
    return Principal(
        workspace_id=workspace_id,
        scopes=ROLE_SCOPES[role],
        member_id=member["id"],
        role=role.value,
        expires_at=datetime.fromtimestamp(expires, UTC)
        if isinstance(expires, int | float)
        else None,
        jwt_secret_hash=secret_hash,
    )


async def _find(
    conn: asyncpg.Connection,
    workspace_id: UUID,
    claims: dict[str, Any],
    user_claim: str,
    subject: str | None,
) -> asyncpg.Record | None:
    if user_claim == "sub":
        if subject is None:
            return None
        found = await conn.fetchrow(f"{_MEMBER} AND subject = $2", workspace_id, subject)
        if found is not None:
            return found
        # not signed in before: an invitation (or a member added by email) not yet bound
        email = _email(claims, "email")
        if email is None:
            return None
        return await conn.fetchrow(
            f"{_MEMBER} AND email = $2 AND subject IS NULL", workspace_id, email
        )
    email = _email(claims, user_claim)
    if email is None:
        return None
    return await conn.fetchrow(f"{_MEMBER} AND email = $2", workspace_id, email)


def _email(claims: dict[str, Any], claim: str) -> str | None:
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        return None
    if claims.get("email_verified") is False:
        # the provider says the user has not proven this address: it names nobody
        return None
    return value.strip().lower()  # members.email is stored lower-cased


def _learns(member: asyncpg.Record, subject: str | None) -> bool:
    return subject is not None and member["subject"] is None


async def _join(
    conn: asyncpg.Connection, workspace_id: UUID, member_id: UUID, subject: str | None
) -> asyncpg.Record | None:
    """First sign-in: ACTIVE, joined now, bound to the token's subject."""
    sql = f"""UPDATE members SET status = 'ACTIVE', joined_at = coalesce(joined_at, now()),
                     subject = coalesce(subject, $3), updated_at = now()
              WHERE workspace_id = $1 AND id = $2 AND status <> 'REMOVED'
              RETURNING {_COLUMNS}"""
    try:
        return await conn.fetchrow(sql, workspace_id, member_id, subject)
    except asyncpg.UniqueViolationError:
        # another member of this workspace already has this subject: join without binding it
        return await conn.fetchrow(sql, workspace_id, member_id, None)
