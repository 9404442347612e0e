"""An endpoint's filter: per record type, the same filter the lists take.

`{deal: {amount: {gt: "10000"}}, contact: {lifecycleStage: {eq: CUSTOMER}}}` keeps a change of
a deal only if the deal matches `DealFilter {amount: {gt: "10000"}}` when it is fanned out, a
contact's only if it matches that ContactFilter; changes of record types without a key pass.
It is stored in the one plain filter form (`resolvers/filter_form.py`) and compiled by the one
predicate compiler into a single statement per record type for a whole fan-out batch. The
record is read as it is at fan-out, deleted or not (a deleted deal of 20,000 still matches).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.pii import PII_READ
from relasi.auth.principal import Principal
from relasi.auth.scopes import ADMIN
from relasi.errors import AppError, ErrorCode, Forbidden
from relasi.resolvers import filter_form
from relasi.resolvers.model import entity
from relasi.resolvers.predicates import Params, compile_filter
from relasi.resolvers.validation import Checker

FORBIDDEN = ErrorCode.FORBIDDEN
# the filter's keys, and the record types they filter
RECORD_TYPES = {
    "contact": "Contact",
    "account": "Account",
    "deal": "Deal",
    "case": "Case",
    "segment": "Segment",
    "interaction": "Interaction",
    "task": "Task",
}


def _compiled(type_name: str, plain: Any, path: list[str], pii: bool) -> tuple[str, list[Any]]:
    parsed = filter_form.parse(type_name, plain, path)
    params = Params(pii=pii)
    params("")  # $1: the workspace, $2: the record ids (bound by the caller)
    params("")
    try:
        condition = compile_filter(entity(type_name), parsed, "t", params)
    except Forbidden as e:
        raise AppError(e.message, code=FORBIDDEN, field=".".join(path)) from None
    return condition, params.values[2:]


def checked(check: Checker, principal: Principal, value: Any) -> dict[str, Any]:
    """The filter input in its plain, stored form; refused (at its path) if it would not
    compile for this owner (personal data without pii:read included)."""
    if value is None:
        return {}
    check.raise_if_any()  # the other fields' problems first, all at once
    stored: dict[str, Any] = {}
    for key in RECORD_TYPES:
        part = getattr(value, key, None)
        if part is None:
            continue
        plain = filter_form.plain(part)
        _compiled(RECORD_TYPES[key], plain, ["input", "filter", key], principal.has(PII_READ))
        stored[key] = plain
    return stored


def _may_read_pii(endpoint: Mapping[str, Any]) -> bool:
    return PII_READ in endpoint["owner_scopes"] or ADMIN in endpoint["owner_scopes"]


def problem(endpoint: Mapping[str, Any]) -> str | None:
    """Why the endpoint's owner (its `owner_scopes` as they are now) may no longer use its
    stored filter, or None: a filter saved with pii:read on emails, once the owner lost it."""
    pii = _may_read_pii(endpoint)
    for key, plain in (endpoint["filter"] or {}).items():
        if key in RECORD_TYPES:
            try:
                _compiled(RECORD_TYPES[key], plain, ["filter", key], pii)
            except AppError as e:
                return e.message
    return None


async def matching(
    conn: asyncpg.Connection,
    workspace_id: UUID,
    endpoint: Mapping[str, Any],
    events: list[asyncpg.Record],
) -> set[tuple[str, UUID]]:
    """The (record type, id) of `events` whose record passes the endpoint's filter."""
    flt: dict[str, Any] = endpoint["filter"]
    pii = _may_read_pii(endpoint)
    passed: set[tuple[str, UUID]] = set()
    by_type: dict[str, set[UUID]] = {}
    for e in events:
        by_type.setdefault(e["record_type"], set()).add(e["record_id"])
    keys = {type_name: key for key, type_name in RECORD_TYPES.items()}
    for type_name, ids in by_type.items():
        key = keys.get(type_name)
        if key is None or key not in flt:
            passed.update((type_name, pk) for pk in ids)
            continue
        condition, values = _compiled(type_name, flt[key], ["filter", key], pii)
        rows = await conn.fetch(
            f"SELECT t.id FROM {entity(type_name).table} t"
            f" WHERE t.workspace_id = $1 AND t.id = ANY($2::uuid[]) AND {condition}",
            workspace_id,
            list(ids),
            *values,
        )
        passed.update((type_name, r["id"]) for r in rows)
    return passed
