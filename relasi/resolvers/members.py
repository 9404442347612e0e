"""Members: a user's membership of a workspace, with the role that decides what they may do.

Records are owned by members and changes are attributed to them, so a removed member keeps its
row (status REMOVED) and cannot sign in any more. The functions below take `db`, anything with
asyncpg's fetch methods (a request's Session, or a connection in the CLI), so GraphQL and the
`relasi member` command share every rule; the GraphQL entry points add the admin check.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.scopes import Role
from relasi.errors import Conflict, ErrorCode, UserInputError
from relasi.resolvers import rows
from relasi.resolvers.enums import MemberStatus
from relasi.resolvers.events import announce_revoked
from relasi.resolvers.model import Entity, Field, Kind, Relation, register, std_fields
from relasi.resolvers.session import Session
from relasi.resolvers.validation import Checker

MEMBER = register(
    Entity(
        name="Member",
        table="members",
        fields=(
            *std_fields(),
            Field("name", Kind.STRING, sortable=True, sort_sql="lower({t}.name)", nullable=False),
            Field("email", Kind.STRING, sortable=True, lowercase=True, nullable=False),
            Field("role", Kind.ENUM, enum=Role, nullable=False),
            Field("status", Kind.ENUM, enum=MemberStatus, nullable=False),
            Field("invited_at", Kind.DATETIME),
            Field("joined_at", Kind.DATETIME),
        ),
        relations=(Relation("tasks", "Task", "many", remote="assignee_id"),),
        soft_delete=False,
        search=("{t}.name ILIKE {p}", "{t}.email ILIKE {p}"),
    )
)

UNIQUE = {"members_workspace_id_email_key": ("input.email", "A member with this email exists.")}
# any constant: with the workspace it names the lock that serialises role changes and removals
_MEMBERSHIP_LOCK = 0x4D454D42  # "MEMB"

Db = Session | asyncpg.Connection


async def create_member(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    """An ACTIVE member right away (it signs in whenever it first presents a token)."""
    check = Checker("input")
    name = check.text("name", data.get("name"), required=True)
    email = check.email("email", data["email"])
    check.raise_if_any()
    role = data.get("role") or Role.VIEWER
    values = {"name": name, "email": email, "role": role.value, "status": "ACTIVE"}
    return await rows.insert(session, MEMBER, values, UNIQUE)


async def invite(db: Db, workspace_id: UUID, data: dict[str, Any]) -> asyncpg.Record:
    """An INVITED member (it becomes ACTIVE on first sign-in). A removed member's email is
    invited again on the same row, so what it owned stays linked to it; like any invitation
    it goes to whoever signs in with that email next (the old subject is forgotten)."""
    check = Checker("input")
    email = check.email("email", data["email"])
    name = check.text("name", data.get("name"))
    check.raise_if_any()
    assert email is not None
    role = (data.get("role") or Role.VIEWER).value
    existing = await db.fetchrow(
        "SELECT status FROM members WHERE workspace_id = $1 AND email = $2", workspace_id, email
    )
    if existing is not None and existing["status"] != MemberStatus.REMOVED.value:
        raise _already_member(email, existing["status"])
    row = await db.fetchrow(
        """INSERT INTO members (workspace_id, name, email, role, status, invited_at)
           VALUES ($1, coalesce($2, split_part($3, '@', 1)), $3, $4, 'INVITED', now())
           ON CONFLICT (workspace_id, email) DO UPDATE
           SET name = coalesce($2, members.name), role = EXCLUDED.role, status = 'INVITED',
               invited_at = now(), joined_at = NULL, removed_at = NULL, subject = NULL,
               updated_at = now()
           WHERE members.status = 'REMOVED'
           RETURNING *""",
        workspace_id,
        name,
        email,
        role,
    )
    if row is None:  # a concurrent invitation of the same email won the race
        raise _already_member(email, MemberStatus.INVITED.value)
    return row


def _already_member(email: str, status: str) -> UserInputError:
    return UserInputError.single(
        "input.email", f"{email} is already a member ({status.lower()}).", ErrorCode.CONFLICT
    )


async def set_role(db: Db, workspace_id: UUID, pk: UUID, role: Role) -> asyncpg.Record:
    member = await _locked(db, workspace_id, pk)
    if member["status"] == MemberStatus.REMOVED.value:
        raise Conflict("This member was removed; invite them again.", field="input.id")
    if role is not Role.ADMIN:
        await _keep_an_admin(db, workspace_id, member, "input.role", "demote")
    return await db.fetchrow(
        """UPDATE members SET role = $3, updated_at = now()
           WHERE workspace_id = $1 AND id = $2 RETURNING *""",
        workspace_id,
        pk,
        role.value,
    )


async def remove(db: Db, workspace_id: UUID, pk: UUID) -> asyncpg.Record:
    """Removed at once: the member's next request is refused. Removing twice changes nothing."""
    member = await _locked(db, workspace_id, pk)
    if member["status"] == MemberStatus.REMOVED.value:
        return member
    await _keep_an_admin(db, workspace_id, member, "input.id", "remove")
    removed = await db.fetchrow(
        """UPDATE members SET status = 'REMOVED', removed_at = now(), updated_at = now()
           WHERE workspace_id = $1 AND id = $2 RETURNING *""",
        workspace_id,
        pk,
    )
    await announce_revoked(db, workspace_id, pk)
    return removed


async def _locked(db: Db, workspace_id: UUID, pk: UUID) -> asyncpg.Record:
    """The member, with the workspace's membership changes serialised until the transaction
    ends: two admins demoting each other at once must not leave the workspace without one."""
    await db.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2::uuid::text))", _MEMBERSHIP_LOCK, workspace_id
    )
    member = await db.fetchrow(
        "SELECT * FROM members WHERE workspace_id = $1 AND id = $2", workspace_id, pk
    )
    if member is None:
        raise rows.not_found(MEMBER, pk)
    return member


async def _keep_an_admin(
    db: Db, workspace_id: UUID, member: asyncpg.Record, field: str, action: str
) -> None:
    if member["role"] != Role.ADMIN.value or member["status"] != MemberStatus.ACTIVE.value:
        return
    others = await db.fetchval(
        """SELECT count(*) FROM members WHERE workspace_id = $1 AND role = 'ADMIN'
           AND status = 'ACTIVE' AND id <> $2""",
        workspace_id,
        member["id"],
    )
    if not others:
        raise Conflict(
            f"Cannot {action} the last active admin; make another member admin first.",
            field=field,
        )


async def by_email(db: Db, workspace_id: UUID, email: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT * FROM members WHERE workspace_id = $1 AND email = $2",
        workspace_id,
        email.strip().lower(),
    )


async def list_all(db: Db, workspace_id: UUID) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT * FROM members WHERE workspace_id = $1 ORDER BY created_at, id", workspace_id
    )
