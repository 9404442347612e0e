"""Keyset (cursor) pagination: `first/after` and `last/before` become WHERE + ORDER BY + LIMIT.

A cursor holds the sort-key values of its row plus a fingerprint of the ordering, so paging
costs the same at page 1 and page 1,000 (no OFFSET), stays correct while rows are added, and a
cursor used with another ordering is refused instead of silently skipping rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from relasi.errors import AppError
from relasi.resolvers.model import Entity
from relasi.resolvers.predicates import Params

DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class SortKey:
    expr: str
    sql_type: str
    desc: bool
    nulls_first: bool
    nullable: bool

    def reversed(self) -> SortKey:
        return SortKey(self.expr, self.sql_type, not self.desc, not self.nulls_first, self.nullable)

    def order_sql(self) -> str:
        direction = "DESC" if self.desc else "ASC"
        if not self.nullable:  # no NULLS clause: keeps plain btree indexes usable
            return f"{self.expr} {direction}"
        return f"{self.expr} {direction} NULLS {'FIRST' if self.nulls_first else 'LAST'}"


@dataclass(frozen=True)
class OrderSpec:
    field: str
    desc: bool = False
    nulls_first: bool | None = None  # None: nulls sort last


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


@dataclass
class PagePlan:
    keys: list[SortKey]
    where: str  # keyset condition ("TRUE" on the first page)
    order_sql: str
    limit: int  # rows to fetch: page size + 1, to know whether more exist
    size: int
    backwards: bool
    fingerprint: str
    after: str | None
    before: str | None


@dataclass
class Page:
    rows: list[Any]
    cursors: list[str]
    has_next: bool
    has_previous: bool


def sort_keys(ent: Entity, order: list[OrderSpec] | None, alias: str) -> list[SortKey]:
    specs = order or [OrderSpec(name, desc) for name, desc in ent.default_order]
    keys: list[SortKey] = []
    seen = set()
    for spec in specs:
        if spec.field in seen:
            raise AppError(f"orderBy names {spec.field} twice.", field="orderBy")
        seen.add(spec.field)
        f = ent.field(spec.field)
        keys.append(
            SortKey(
                f.sort_expr(alias), f.kind.sql_type, spec.desc, bool(spec.nulls_first), f.nullable
            )
        )
    # the id tiebreak makes every ordering total, so no row is skipped or repeated across pages
    tiebreak_desc = keys[-1].desc if keys else True
    keys.append(SortKey(f"{alias}.id", "uuid", tiebreak_desc, False, False))
    return keys


def plan_page(
    keys: list[SortKey],
    args: PageArgs,
    params: Params,
    max_size: int,
    fingerprint: str | None = None,
) -> PagePlan:
    """`fingerprint` names the list a cursor belongs to; by default the ordering itself. A list
    readable in both directions (timelines) passes its own, so one cursor serves both."""
    if args.first is not None and args.last is not None:
        raise AppError("Pass either first or last, not both.", field="first")
    for name in ("first", "last"):
        value = getattr(args, name)
        if value is not None and not 0 <= value <= max_size:
            raise AppError(f"{name} must be between 0 and {max_size}.", field=name)
    backwards = args.last is not None or (args.before is not None and args.after is None)
    size = args.last if backwards and args.last is not None else args.first
    size = DEFAULT_PAGE_SIZE if size is None else size
    fingerprint = fingerprint or _fingerprint("|".join(k.order_sql() for k in keys))

    conditions = []
    if args.after is not None:
        conditions.append(
            _keyset(keys, _decode(args.after, fingerprint, len(keys), "after"), params)
        )
    if args.before is not None:
        reverse = [k.reversed() for k in keys]
        conditions.append(
            _keyset(reverse, _decode(args.before, fingerprint, len(keys), "before"), params)
        )
    run_keys = [k.reversed() for k in keys] if backwards else keys
    return PagePlan(
        keys=keys,
        where=" AND ".join(conditions) or "TRUE",
        order_sql=", ".join(k.order_sql() for k in run_keys),
        limit=size + 1,
        size=size,
        backwards=backwards,
        fingerprint=fingerprint,
        after=args.after,
        before=args.before,
    )


def _fingerprint(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def list_fingerprint(name: str) -> str:
    return _fingerprint(name)


def page_size(first: int | None, max_page_size: int) -> int:
    """`first` of a list paged forwards only (the change log, webhooks): the default when
    not given, else within 0..max_page_size."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= max_page_size:
        raise AppError(f"first must be between 0 and {max_page_size}.", field="first")
    return size


def cursor(fingerprint: str, values: list[Any]) -> str:
    """The cursor of a row whose sort-key values are `values` (e.g. an event pushed live)."""
    return _encode(fingerprint, values)


def cursor_values(cursor: str, fingerprint: str, count: int, field: str) -> list[str | None]:
    """The values a cursor of the list `fingerprint` holds (BAD_USER_INPUT for any other)."""
    return _decode(cursor, fingerprint, count, field)


def key_columns(keys: list[SortKey]) -> str:
    """The sort values, selected alongside each row so its cursor can be built."""
    return ", ".join(f"{k.expr} AS _k{i}" for i, k in enumerate(keys))


def outer_order(plan: PagePlan) -> str:
    """The plan's ORDER BY over the selected key columns (`_k0`, ...), for a query that merges
    several keyset-ordered branches (UNION ALL) and must order their union the same way."""
    return ", ".join(
        f"_k{i} {'DESC' if k.desc != plan.backwards else 'ASC'}" for i, k in enumerate(plan.keys)
    )


def make_page(plan: PagePlan, rows: list[Any]) -> Page:
    more = len(rows) > plan.size
    rows = rows[: plan.size]
    if plan.backwards:
        rows.reverse()
    cursors = [
        _encode(plan.fingerprint, [row[f"_k{i}"] for i in range(len(plan.keys))]) for row in rows
    ]
    if plan.backwards:
        return Page(rows, cursors, has_next=plan.before is not None, has_previous=more)
    return Page(rows, cursors, has_next=more, has_previous=plan.after is not None)


def _keyset(keys: list[SortKey], values: list[str | None], params: Params) -> str:
    """Rows strictly after `values` in the order `keys`, with NULLs where the order puts them."""
    bound = [
        None if v is None else f"({params(v, 'text')})::{k.sql_type}"
        for k, v in zip(keys, values, strict=True)
    ]
    if all(not k.nullable for k in keys) and len({k.desc for k in keys}) == 1:
        # one row comparison: the planner walks the matching index directly
        op = "<" if keys[0].desc else ">"
        return f"({', '.join(k.expr for k in keys)}) {op} ({', '.join(bound)})"
    alternatives = []
    for i, key in enumerate(keys):
        equal = [_equal(k, b) for k, b in zip(keys[:i], bound[:i], strict=True)]
        alternatives.append("(" + " AND ".join([*equal, _after(key, bound[i])]) + ")")
    return "(" + " OR ".join(alternatives) + ")"


def _equal(key: SortKey, bound: str | None) -> str:
    return f"{key.expr} IS NULL" if bound is None else f"{key.expr} = {bound}"


def _after(key: SortKey, bound: str | None) -> str:
    op = "<" if key.desc else ">"
    if bound is None:
        return f"{key.expr} IS NOT NULL" if key.nulls_first else "FALSE"
    if key.nullable and not key.nulls_first:
        return f"({key.expr} {op} {bound} OR {key.expr} IS NULL)"
    return f"{key.expr} {op} {bound}"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _encode(fingerprint: str, values: list[Any]) -> str:
    raw = json.dumps([fingerprint, [_text(v) for v in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, fingerprint: str, count: int, field: str) -> list[str | None]:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        found, values = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise AppError(f"{cursor!r} is not a valid cursor.", field=field) from None
    if found != fingerprint or not isinstance(values, list) or len(values) != count:
        raise AppError(
            "This cursor belongs to another ordering or list; start again without it.",
            field=field,
        )
    if not all(v is None or isinstance(v, str) for v in values):
        raise AppError(f"{cursor!r} is not a valid cursor.", field=field)
    return values
