"""A connection's JSON from its page's rows: edges, nodes, cursors, pageInfo and totalCount as
`resolvers/pagination.make_page` and the connection types make them. Shared by entity lists
(`nodes.Connection`) and timelines (`timelines.Timeline`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from relasi.compiler import values
from relasi.resolvers.pagination import PagePlan, SortKey

if TYPE_CHECKING:
    from relasi.compiler.nodes import Bind


def reads_next_row(page: PagePlan, parts: list[tuple[str, str, Any]]) -> bool:
    """Whether the connection's JSON needs the row after the page: only pageInfo's
    hasNextPage (hasPreviousPage when paging backwards) does. Without it, the page's rows are
    read as they are (`LIMIT size`, no row numbers): PostgreSQL reads one row less per page
    and aggregates the rows in the order it read them, with nothing to sort or filter."""
    flag = "hasPreviousPage" if page.backwards else "hasNextPage"
    return any(
        kind == "pageInfo" and any(name == flag for _, name in payload)
        for _, kind, payload in parts
    )


def page_rows(page: PagePlan, parts: list[tuple[str, str, Any]], order: str) -> tuple[str, int]:
    """What a connection's rows select besides the row and its sort values, and how many
    rows to read, as `page_json(..., numbered=...)` expects them: `order` is the keyset
    order of the rows' query. With the row after the page, each row's place (`_n`)."""
    if reads_next_row(page, parts):
        return f", row_number() OVER (ORDER BY {order}) AS _n", page.limit
    return "", page.size


def page_json(
    b: Bind,
    a: str,
    page: PagePlan,
    keys: list[SortKey],
    parts: list[tuple[str, str, Any]],
    inner: str,
    total: Callable[[], str],
    *,
    numbered: bool = True,
) -> str:
    """A connection's JSON from `inner`, the page's rows (aliased `a`, the sort values as
    `_k0`...): edges, nodes, cursors and pageInfo as `resolvers/pagination.make_page` makes
    them, and `total()`'s count when totalCount is selected. `numbered` rows carry their
    place in the keyset order as `_n` and one more row than the page holds; the others
    (`page_rows` says which a connection needs) are the page's rows in the keyset order."""
    # `order`: the list's order (a backward page is read in reverse); `reverse`, its reverse
    if numbered:
        forward, backward = f"ORDER BY {a}._n", f"ORDER BY {a}._n DESC"
        order, reverse = (backward, forward) if page.backwards else (forward, backward)
        in_page = f"FILTER (WHERE {a}._n <= {page.size})"
    else:
        # over the selected sort values: on a forward page, the order the rows were read in,
        # which spares the aggregates their sort (presorted input)
        out = [replace(k, expr=f"{a}._k{i}") for i, k in enumerate(keys)]
        order = "ORDER BY " + ", ".join(k.order_sql() for k in out)
        reverse = "ORDER BY " + ", ".join(k.reversed().order_sql() for k in out)
        in_page = ""
    more = f"count(*) > {page.size}"
    cursor = None

    def cursor_sql() -> str:
        nonlocal cursor
        if cursor is None:
            cursor = values.cursor(
                page.fingerprint, [(f"{a}._k{i}", k.sql_type) for i, k in enumerate(keys)]
            )
        return cursor

    pairs = []
    for key, kind, payload in parts:
        if kind == "const":
            expr = payload
        elif kind == "nodes":
            expr = f"coalesce(json_agg({payload.sql(b, a)} {order}) {in_page}, '[]'::json)"
        elif kind == "edges":
            edge = []
            for edge_key, edge_kind, edge_payload in payload:
                if edge_kind == "const":
                    value = edge_payload
                elif edge_kind == "cursor":
                    value = cursor_sql()
                else:  # node, link
                    value = edge_payload.sql(b, a)
                edge.append(f"{values.literal(edge_key)}, {value}")
            expr = (
                f"coalesce(json_agg(json_build_object({', '.join(edge)}) {order}) {in_page},"
                " '[]'::json)"
            )
        elif kind == "pageInfo":
            has_next = _bool(page.before is not None) if page.backwards else more
            has_previous = more if page.backwards else _bool(page.after is not None)
            info = {
                "hasNextPage": has_next,
                "hasPreviousPage": has_previous,
                "__typename": "'PageInfo'",
            }
            items = []
            for info_key, name in payload:
                if name == "startCursor":
                    value = f"(array_agg({cursor_sql()} {order}) {in_page})[1]"
                elif name == "endCursor":
                    value = f"(array_agg({cursor_sql()} {reverse}) {in_page})[1]"
                else:
                    value = info[name]
                items.append(f"{values.literal(info_key)}, {value}")
            expr = f"json_build_object({', '.join(items)})"
        else:  # totalCount
            expr = total()
        pairs.append(f"{values.literal(key)}, {expr}")
    # GROUP BY (): one row, also when only totalCount is selected (no aggregate of rows)
    return f"(SELECT json_build_object({', '.join(pairs)}) FROM ({inner}) {a} GROUP BY ())"


def _bool(value: bool) -> str:
    return "true" if value else "false"
