"""Generic writes over the storage mapping: insert, optimistic update, soft delete, restore.

Column names come from the calling domain module (constants), values travel as parameters.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from relasi.errors import Conflict, ErrorCode, FieldError, NotFound, UserInputError
from relasi.resolvers import global_ids
from relasi.resolvers.loaders import load_one
from relasi.resolvers.model import Entity, camel
from relasi.resolvers.session import Session


def not_found(ent: Entity, pk: UUID, field: str = "input.id") -> NotFound:
    return NotFound(f"No {ent.name} with id {global_ids.encode(ent.name, pk)!r}.", field=field)


async def insert(
    session: Session,
    ent: Entity,
    values: dict[str, Any],
    unique: dict[str, tuple[str, str]] | None = None,
) -> asyncpg.Record:
    cols = list(values)
    placeholders = ", ".join(f"${i}" for i in range(2, len(cols) + 2))
    sql = (
        f"INSERT INTO {ent.table} (workspace_id{''.join(', ' + c for c in cols)})"
        f" VALUES ($1{', ' if cols else ''}{placeholders}) RETURNING *"
    )
    try:
        return await session.fetchrow(sql, session.workspace_id, *values.values())
    except asyncpg.UniqueViolationError as e:
        raise _conflict(e, unique) from None


async def update(
    session: Session,
    ent: Entity,
    pk: UUID,
    version: int | None,
    values: dict[str, Any],
    unique: dict[str, tuple[str, str]] | None = None,
) -> asyncpg.Record:
    """Update a live row. With `version`, only if nobody changed it since the client read it."""
    assignments = [f"{c} = ${i}" for i, c in enumerate(values, start=4)]
    if ent.soft_delete:
        assignments += ["updated_at = now()", "version = version + 1"]
    sql = (
        f"UPDATE {ent.table} t SET {', '.join(assignments)}"
        f" WHERE t.workspace_id = $1 AND t.id = $2 AND {ent.live('t')}"
        f" AND ($3::integer IS NULL OR t.version = $3) RETURNING *"
    )
    try:
        row = await session.fetchrow(sql, session.workspace_id, pk, version, *values.values())
    except asyncpg.UniqueViolationError as e:
        raise _conflict(e, unique) from None
    if row is None:
        current = await session.fetchval(
            f"SELECT version FROM {ent.table} t WHERE t.workspace_id = $1 AND t.id = $2"
            f" AND {ent.live('t')}",
            session.workspace_id,
            pk,
        )
        if current is None:
            raise not_found(ent, pk)
        raise Conflict(
            f"This {ent.name} changed since you read it (you sent version {version}, it is now"
            f" {current}); read it again and retry.",
            field="input.version",
        )
    return row


async def soft_delete(session: Session, ent: Entity, pk: UUID) -> asyncpg.Record:
    row = await session.fetchrow(
        f"UPDATE {ent.table} SET deleted_at = now(), updated_at = now(), version = version + 1"
        " WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING *",
        session.workspace_id,
        pk,
    )
    if row is None:
        raise not_found(ent, pk)
    return row


async def restore(
    session: Session, ent: Entity, pk: UUID, unique: dict[str, tuple[str, str]] | None = None
) -> asyncpg.Record:
    try:
        row = await session.fetchrow(
            f"UPDATE {ent.table} SET deleted_at = NULL, updated_at = now(), version = version + 1"
            " WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NOT NULL RETURNING *",
            session.workspace_id,
            pk,
        )
    except asyncpg.UniqueViolationError as e:
        raise _conflict(e, unique) from None
    if row is None:
        raise NotFound(
            f"No deleted {ent.name} with id {global_ids.encode(ent.name, pk)!r}.", field="input.id"
        )
    return row


async def require(
    session: Session, entity_name: str, global_id: str | None, field: str
) -> asyncpg.Record | None:
    """The live row a global id in the input names; NOT_FOUND (for `field`) if there is none."""
    if global_id is None:
        return None
    pk = global_ids.decode(global_id, entity_name, field=field)
    row = await load_one(session, entity_name, pk)
    if row is None:
        raise NotFound(f"No {entity_name} with id {global_id!r}.", field=field)
    return row


def _conflict(
    e: asyncpg.UniqueViolationError, unique: dict[str, tuple[str, str]] | None
) -> Exception:
    """Map a unique constraint to the input field it concerns (a race another check missed)."""
    field, message = (unique or {}).get(
        e.constraint_name or "", ("input", "Conflicts with an existing record.")
    )
    return UserInputError([FieldError(field.split("."), message, ErrorCode.CONFLICT)])


async def resolve_links(
    session: Session, data: dict[str, Any], values: dict[str, Any], **links: str
) -> None:
    """For each `column=EntityName` the input sets, put the linked row's id in `values`
    (None clears the link); an id naming no live row is NOT_FOUND on that input field."""
    for column, entity_name in links.items():
        if column in data:
            row = await require(session, entity_name, data[column], f"input.{camel(column)}")
            values[column] = row["id"] if row else None
