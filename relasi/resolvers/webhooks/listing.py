"""Keyset pages of endpoints and deliveries: `first` / `after` on (created_at, id)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from relasi.errors import AppError
from relasi.resolvers import pagination
from relasi.resolvers.predicates import Params
from relasi.resolvers.session import Session


def cursor_of(name: str, row: asyncpg.Record, at: str = "created_at") -> str:
    return pagination.cursor(pagination.list_fingerprint(name), [row[at], row["id"]])


async def keyset_page(
    session: Session,
    select: str,
    params: Params,
    *,
    descending: bool,
    first: int | None,
    after: str | None,
    name: str,
    at: str = "created_at",
) -> tuple[list[asyncpg.Record], bool]:
    """Up to `first` rows of `select` (over alias t, its values in `params`) after the
    cursor, and whether more follow."""
    size = pagination.page_size(first, session.max_page_size)
    where, order = keyset(params, after, descending=descending, name=name, at=at)
    found = await session.fetch(
        f"{select}{where} ORDER BY {order} LIMIT {params(size + 1)}", *params.values
    )
    return found[:size], len(found) > size


def keyset(
    params: Params, after: str | None, *, descending: bool, name: str, at: str = "created_at"
) -> tuple[str, str]:
    """The condition on rows after the cursor (" AND ...", over alias t; empty without one)
    and the order of the list."""
    direction = "DESC" if descending else "ASC"
    order = f"t.{at} {direction}, t.id {direction}"
    if after is None:
        return "", order
    when, pk = pagination.cursor_values(after, pagination.list_fingerprint(name), 2, "after")
    try:
        bound = (datetime.fromisoformat(when or ""), UUID(pk or ""))
    except ValueError:
        raise AppError(f"{after!r} is not a valid cursor.", field="after") from None
    op = "<" if descending else ">"
    return f" AND (t.{at}, t.id) {op} ({params(bound[0])}, {params(bound[1])})", order
