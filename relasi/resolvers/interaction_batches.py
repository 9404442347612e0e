"""`trackInteractions`: up to 1,000 touchpoints in one request, in set-based statements.

Item by item, a batch would cost ~6 statements per touch, one after another. Here it costs a
few statements whatever its size: one to find what was already recorded, one per type of
linked id, one INSERT ... SELECT FROM unnest, one NOTIFY for all, one segment re-evaluation.
Only touches that need work of their own still take it one by one: those naming their contact
by identity (which may create the contact, see `identities`) and those moving a journey stage.

The results are the same as tracking the items one at a time, in order: a refused item
reports its userErrors and the others are recorded; a repeated (source, externalId), within
the batch or from before, returns the interaction first recorded. Should the set insert fail
(a linked row deleted meanwhile, say), the batch is tracked one item at a time instead.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from relasi.errors import (
    AppError,
    FieldError,
    Forbidden,
    NotFound,
    Unauthenticated,
    UserInputError,
)
from relasi.resolvers import global_ids
from relasi.resolvers.identities import resolve_contact
from relasi.resolvers.journey import apply_touch
from relasi.resolvers.loaders import load_many
from relasi.resolvers.session import Session
from relasi.resolvers.validation import Checker

Result = tuple[asyncpg.Record | None, bool, list[FieldError]]

# column -> its SQL type, in the order of the unnest arrays
_COLUMNS = {
    "id": "uuid",
    "contact_id": "uuid",
    "account_id": "uuid",
    "channel": "text",
    "kind": "text",
    "occurred_at": "timestamptz",
    "journey_stage": "text",
    "sentiment": "numeric",
    "summary": "text",
    "source": "text",
    "external_id": "text",
    "utm_source": "text",
    "utm_medium": "text",
    "utm_campaign": "text",
    "utm_term": "text",
    "utm_content": "text",
    "properties": "jsonb",
}
_SELECTED = ", ".join(
    "coalesce(u.occurred_at, now())" if c == "occurred_at" else f"u.{c}" for c in _COLUMNS
)
_ARRAYS = ", ".join(f"${i}::{t}[]" for i, t in enumerate(_COLUMNS.values(), start=2))
_INSERT = (
    f"INSERT INTO interactions (workspace_id, {', '.join(_COLUMNS)})"
    f" SELECT $1, {_SELECTED} FROM unnest({_ARRAYS}) AS u({', '.join(_COLUMNS)})"
    " ON CONFLICT (workspace_id, source, external_id) WHERE external_id IS NOT NULL DO NOTHING"
    " RETURNING *"
)


def _failed(e: AppError, path: str) -> list[FieldError]:
    if isinstance(e, UserInputError):
        return e.errors
    return [FieldError((e.field or path).split("."), e.message, e.code)]


async def track_interactions(
    session: Session, items: list[dict[str, Any]], values_of: Any, one_by_one: Any
) -> list[Result]:
    """`values_of(check, data)` validates an item; `one_by_one(session, items)` is the
    item-by-item path this falls back to."""
    results: list[Result | None] = [None] * len(items)
    todo: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for i, data in enumerate(items):
        check = Checker("inputs", str(i))
        values = values_of(check, data)
        if check.errors:
            results[i] = (None, False, check.errors)
        else:
            todo.append((i, data, values))

    # already recorded (before this batch, or earlier in it): the first one stands
    recorded = await _recorded(session, [v for _, _, v in todo])
    first_of: dict[tuple[str, str], int] = {}
    repeats: list[tuple[int, tuple[str, str]]] = []
    fresh = []
    for i, data, values in todo:
        key = (values["source"], values["external_id"])
        if values["external_id"] is not None and key in recorded:
            results[i] = (recorded[key], False, [])
        elif values["external_id"] is not None and key in first_of:
            repeats.append((i, key))
        else:
            if values["external_id"] is not None:
                first_of[key] = i
            fresh.append((i, data, values))

    linked = await _link(session, fresh, results)
    try:
        async with session.savepoint():
            inserted = await _insert(session, linked)
    except asyncpg.PostgresError:
        return await one_by_one(session, items)
    for i, row in inserted.items():
        results[i] = (row, True, [])
    for i, _, values in linked:
        if i not in inserted:  # a concurrent request recorded the same (source, externalId)
            key = (values["source"], values["external_id"])
            results[i] = ((await _recorded(session, [values]))[key], False, [])
    for i, key in repeats:
        first = results[first_of[key]]
        results[i] = (first[0], False, []) if first[0] is not None else first

    rows = [inserted[i] for i, _, _ in linked if i in inserted]
    # a large batch (the first import of a workspace, say) changes what the planner should
    # know about these tables: analyze them once it committed (see relasi/analyze.py)
    written = {"interactions": len(rows), "audit_log": len(rows)}
    session.after_commit(lambda: session.db.analyzer.wrote(written))
    await _move_journeys(session, [(r, items[i]) for i, r in inserted.items()])
    return results  # type: ignore[return-value]


async def _recorded(
    session: Session, values: list[dict[str, Any]]
) -> dict[tuple[str, str], asyncpg.Record]:
    keys = [(v["source"], v["external_id"]) for v in values if v["external_id"] is not None]
    if not keys:
        return {}
    found = await session.fetch(
        """SELECT i.* FROM interactions i
             JOIN unnest($2::text[], $3::text[]) AS k(source, external_id)
               ON i.source = k.source AND i.external_id = k.external_id
            WHERE i.workspace_id = $1""",
        session.workspace_id,
        [s for s, _ in keys],
        [e for _, e in keys],
    )
    return {(r["source"], r["external_id"]): r for r in found}


async def _link(
    session: Session, fresh: list[tuple[int, dict, dict]], results: list[Result | None]
) -> list[tuple[int, dict, dict]]:
    """Set contact_id / account_id on each item's values (loading all ids in one statement per
    type); items naming a missing row get their error and drop out."""
    pks: dict[tuple[int, str], uuid.UUID] = {}
    for i, data, _ in fresh:
        for column, type_name, field in (
            ("contact_id", "Contact", "contactId"),
            ("account_id", "Account", "accountId"),
        ):
            if data.get(column) is None:
                continue
            try:
                pks[(i, column)] = global_ids.decode(
                    data[column], type_name, field=f"inputs.{i}.{field}"
                )
            except AppError as e:
                results[i] = (None, False, _failed(e, f"inputs.{i}"))
    contacts, accounts = await asyncio.gather(
        load_many(session, "Contact", [pk for (_, c), pk in pks.items() if c == "contact_id"]),
        load_many(session, "Account", [pk for (_, c), pk in pks.items() if c == "account_id"]),
    )
    found = {r["id"]: r for r in (*contacts, *accounts) if r is not None}
    linked = []
    for i, data, values in fresh:
        if results[i] is not None:
            continue
        try:
            contact = await _contact(session, i, data, pks, found)
            account = _row(i, "account_id", "Account", "accountId", data, pks, found)
        except (Unauthenticated, Forbidden):
            raise
        except AppError as e:
            results[i] = (None, False, _failed(e, f"inputs.{i}"))
            continue
        if contact is None and account is None:
            message = "Give the contact (or account) it concerns."
            results[i] = (None, False, [FieldError(["inputs", str(i), "contactId"], message)])
            continue
        values["contact_id"] = contact["id"] if contact else None
        values["account_id"] = (
            account["id"] if account else (contact["account_id"] if contact else None)
        )
        linked.append((i, data, values))
    return linked


async def _contact(
    session: Session, i: int, data: dict, pks: dict, found: dict
) -> asyncpg.Record | None:
    if data.get("contact") is None:
        return _row(i, "contact_id", "Contact", "contactId", data, pks, found)
    # by identity: may create the contact, so on its own (a refused one undoes only itself)
    async with session.savepoint():
        contact, _ = await resolve_contact(session, data["contact"], f"inputs.{i}.contact")
    return contact


def _row(
    i: int, column: str, type_name: str, field: str, data: dict, pks: dict, found: dict
) -> asyncpg.Record | None:
    if data.get(column) is None:
        return None
    row = found.get(pks[(i, column)])
    if row is None:
        raise NotFound(f"No {type_name} with id {data[column]!r}.", field=f"inputs.{i}.{field}")
    return dict(row)


async def _insert(
    session: Session, linked: list[tuple[int, dict, dict]]
) -> dict[int, asyncpg.Record]:
    if not linked:
        return {}
    ids = {i: uuid.uuid4() for i, _, _ in linked}
    columns = [
        [ids[i] if c == "id" else values.get(c) for i, _, values in linked] for c in _COLUMNS
    ]
    found = await session.fetch(_INSERT, session.workspace_id, *columns)
    by_id = {r["id"]: r for r in found}
    return {i: by_id[pk] for i, pk in ids.items() if pk in by_id}


async def _move_journeys(session: Session, touched: list[tuple[asyncpg.Record, dict]]) -> None:
    """Touches with a journey stage move their contacts, in the order they happened. The
    contacts are locked in one statement, in id order, so two batches never deadlock."""
    moving = sorted(
        ((row, data) for row, data in touched if row["journey_stage"] and row["contact_id"]),
        key=lambda t: (t[0]["occurred_at"], t[0]["id"]),
    )
    if not moving:
        return
    await session.execute(
        "SELECT 1 FROM contacts WHERE workspace_id = $1 AND id = ANY($2::uuid[])"
        " ORDER BY id FOR NO KEY UPDATE",  # compatible with the inserts' KEY SHARE locks
        session.workspace_id,
        sorted({row["contact_id"] for row, _ in moving}),
    )
    for row, data in moving:
        await apply_touch(session, {"id": row["contact_id"]}, row, bool(data.get("regression")))
