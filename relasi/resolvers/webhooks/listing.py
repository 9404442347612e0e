"""Keyset pages of endpoints and deliveries: `first` / `after` on (created_at, id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from relasi.errors import AppError
from relasi.resolvers import pagination
from relasi.resolvers.session import Session


def cursor_of(name: str, row: asyncpg.Record, at: str = "created_at") -> str:
    return pagination.cursor(pagination.list_fingerprint(name), [row[at], row["id"]])


async def keyset_page(
    session: Session,
    select: str,
    args: list[Any],
    *,
    descending: bool,
    first: int | None,
    after: str | None,
    name: str,
    at: str = "created_at",
) -> tuple[list[asyncpg.Record], bool]:
    """Up to `first` rows of `select` (over alias t, taking `args`) after the cursor, and
    whether more follow."""
    size = pagination.DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= session.max_page_size:
        raise AppError(f"first must be between 0 and {session.max_page_size}.", field="first")
    args = list(args)
    where = ""
    if after is not None:
        when, pk = pagination.cursor_values(after, pagination.list_fingerprint(name), 2, "after")
        try:
            bound = (datetime.fromisoformat(when or ""), UUID(pk or ""))
        except ValueError:
            raise AppError(f"{after!r} is not a valid cursor.", field="after") from None
        args += bound
        op = "<" if descending else ">"
        where = f" AND (t.{at}, t.id) {op} (${len(args) - 1}, ${len(args)})"
    direction = "DESC" if descending else "ASC"
    args.append(size + 1)
    found = await session.fetch(
        f"{select}{where} ORDER BY t.{at} {direction}, t.id {direction} LIMIT ${len(args)}",
        *args,
    )
    return found[:size], len(found) > size
