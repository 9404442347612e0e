"""The JSON of a list paged forwards only, `first` / `after` (the change log, webhooks), as its
resolver builds it: edges with cursors, nodes, and pageInfo — a page after a cursor has a
previous page; `endCursor` of an empty page is null, or the cursor it was given
(`end_at_after`: the change log, so a poller keeps its place)."""

from __future__ import annotations

from typing import Any

from graphql import get_named_type

from relasi.compiler import values
from relasi.compiler.nodes import Bind, Const


def forward_page(
    b: Bind,
    a: str,
    inner: str,
    size: int,
    cursor: str,
    after: str | None,
    parts: list[tuple[str, str, Any]],
    *,
    end_at_after: bool = False,
) -> str:
    """`parts`: (response key, "const" | "edges" | "nodes" | "pageInfo", payload) — SQL, edge
    parts (response key, field name, plan), a node's plan, or pageInfo's (key, field name).
    `inner` reads the page's rows (one more than `size`) aliased `a`, numbered `_n`; `cursor`
    is a row's cursor over `a`."""
    order, in_page = f"ORDER BY {a}._n", f"FILTER (WHERE {a}._n <= {size})"
    pairs = []
    for key, kind, payload in parts:
        if kind == "const":
            expr = payload
        elif kind == "nodes":
            expr = f"coalesce(json_agg({payload.sql(b, a)} {order}) {in_page}, '[]'::json)"
        elif kind == "edges":
            items = ", ".join(
                f"{values.literal(k)}, {cursor if name == 'cursor' else plan.sql(b, a)}"
                for k, name, plan in payload
            )
            expr = f"coalesce(json_agg(json_build_object({items}) {order}) {in_page}, '[]'::json)"
        else:  # pageInfo
            end = f"(array_agg({cursor} {order} DESC) {in_page})[1]"
            if end_at_after and after is not None:
                end = f"coalesce({end}, {b.params(after)})"
            info = {
                "hasNextPage": f"count(*) > {size}",
                "hasPreviousPage": "true" if after is not None else "false",
                "startCursor": f"(array_agg({cursor} {order}) {in_page})[1]",
                "endCursor": end,
                "__typename": "'PageInfo'",
            }
            items = ", ".join(f"{values.literal(k)}, {info[name]}" for k, name in payload)
            expr = f"json_build_object({items})"
        pairs.append(f"{values.literal(key)}, {expr}")
    # GROUP BY (): one row, also for an empty page
    return f"(SELECT json_build_object({', '.join(pairs)}) FROM ({inner}) {a} GROUP BY ())"


def plan_parts(planner: Any, connection_type: Any, nodes: list[Any], node_plan: Any) -> list:
    """The parts of a forward-paged connection's selection; `node_plan(fields)` plans a node."""
    edge_type = planner._object_type(get_named_type(connection_type.fields["edges"].type).name)

    def edge_plan(fields: list[Any]) -> list[tuple[str, str, Any]]:
        edge = []
        for key, found in planner.collect(edge_type, [f.selection_set for f in fields]).items():
            name = found[0].name.value
            if name == "__typename":
                edge.append((key, name, Const(values.literal(edge_type.name))))
                continue
            planner._check(edge_type.name, name)
            edge.append((key, name, node_plan(found) if name == "node" else None))
        return edge

    return planner.connection_parts(connection_type, nodes, node_plan, edge_plan)
