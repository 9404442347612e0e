"""Generic reads over the storage mapping, all batched per request.

- `load_one`: rows by id (every to-one link and `node(id)`), one statement per entity type.
- `relation_page`: a relation connection, paged *per parent* (each contact's own first 5 deals
  with its own cursors) yet one LATERAL statement for all parents.
- `relation_count`: its totalCount, one grouped statement for all parents.
- `children`: small unpaged lists (pipeline stages, emails), one statement for all parents.
- `root_page` / `root_count`: the root lists.
So the number of statements a request runs grows with its depth, never with list lengths.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.pii import PII_READ
from relasi.resolvers.model import Entity, entity
from relasi.resolvers.pagination import (
    OrderSpec,
    Page,
    PageArgs,
    key_columns,
    make_page,
    plan_page,
    sort_keys,
)
from relasi.resolvers.predicates import Params, compile_filter, relation_source
from relasi.resolvers.session import Session


def _pii(session: Session) -> bool:
    return session.principal.has(PII_READ)


async def load_one(session: Session, entity_name: str, pk: UUID | None) -> asyncpg.Record | None:
    if pk is None:
        return None
    ent = entity(entity_name)

    async def batch(ids: list[UUID]) -> list[asyncpg.Record | None]:
        rows = await session.fetch(
            f"SELECT t.* FROM {ent.table} t WHERE t.workspace_id = $1"
            f" AND t.id = ANY($2::uuid[]) AND {ent.live('t')}",
            session.workspace_id,
            ids,
        )
        found = {r["id"]: r for r in rows}
        return [found.get(i) for i in ids]

    return await session.loader(("one", entity_name), batch).load(pk)


async def load_many(
    session: Session, entity_name: str, pks: list[UUID]
) -> list[asyncpg.Record | None]:
    # gathered loads land in one batch: one statement for all ids
    return list(await asyncio.gather(*(load_one(session, entity_name, pk) for pk in pks)))


async def root_page(
    session: Session,
    ent: Entity,
    flt: Any,
    order: list[OrderSpec] | None,
    args: PageArgs,
) -> Page:
    params = Params(session.workspace_id, pii=_pii(session))
    keys = sort_keys(ent, order, "t")
    cond = compile_filter(ent, flt, "t", params)
    plan = plan_page(keys, args, params, session.max_page_size)
    rows = await session.fetch(
        f"SELECT t.*, {key_columns(keys)} FROM {ent.table} t"
        f" WHERE t.workspace_id = $1 AND {ent.live('t')} AND {cond} AND {plan.where}"
        f" ORDER BY {plan.order_sql} LIMIT {plan.limit}",
        *params.values,
    )
    return make_page(plan, list(rows))


async def root_count(session: Session, ent: Entity, flt: Any) -> int:
    params = Params(session.workspace_id, pii=_pii(session))
    cond = compile_filter(ent, flt, "t", params)
    return await session.fetchval(
        f"SELECT count(*) FROM {ent.table} t WHERE t.workspace_id = $1 AND {ent.live('t')} AND {cond}",
        *params.values,
    )


async def relation_page(
    session: Session,
    parent: Entity,
    relation: str,
    parent_pk: UUID,
    flt: Any = None,
    order: list[OrderSpec] | None = None,
    args: PageArgs = PageArgs(),
) -> Page:
    rel = parent.relation(relation)
    target = entity(rel.target)
    # arguments are the same for every parent of one field in one query: batch by them
    key = ("page", parent.name, relation, repr((flt, order, args)))

    async def batch(parent_ids: list[UUID]) -> list[Page]:
        params = Params(session.workspace_id, parent_ids, pii=_pii(session))
        keys = sort_keys(target, order, "c")
        cond = compile_filter(target, flt, "c", params)
        plan = plan_page(keys, args, params, session.max_page_size)
        link_cols = "".join(
            f", c_l.{col} AS link_{col}" for col in (rel.through.columns if rel.through else ())
        )
        rows = await session.fetch(
            "SELECT x.* FROM unnest($2::uuid[]) AS p(parent_id) CROSS JOIN LATERAL ("
            f" SELECT p.parent_id AS _parent, c.*{link_cols}, {key_columns(keys)}"
            f" {relation_source(rel, 'c', 'p.parent_id', '$1')} AND {cond} AND {plan.where}"
            f" ORDER BY {plan.order_sql} LIMIT {plan.limit}) x",
            *params.values,
        )
        grouped: dict[UUID, list] = defaultdict(list)
        for row in rows:
            grouped[row["_parent"]].append(row)
        return [make_page(plan, grouped.get(pid, [])) for pid in parent_ids]

    return await session.loader(key, batch).load(parent_pk)


async def relation_count(
    session: Session, parent: Entity, relation: str, parent_pk: UUID, flt: Any = None
) -> int:
    rel = parent.relation(relation)
    target = entity(rel.target)

    async def batch(parent_ids: list[UUID]) -> list[int]:
        params = Params(session.workspace_id, parent_ids, pii=_pii(session))
        cond = compile_filter(target, flt, "c", params)
        rows = await session.fetch(
            "SELECT p.parent_id, (SELECT count(*)"
            f" {relation_source(rel, 'c', 'p.parent_id', '$1')} AND {cond}) AS n"
            " FROM unnest($2::uuid[]) AS p(parent_id)",
            *params.values,
        )
        counts = {r["parent_id"]: r["n"] for r in rows}
        return [counts.get(pid, 0) for pid in parent_ids]

    return await session.loader(("count", parent.name, relation, repr(flt)), batch).load(parent_pk)


async def children(
    session: Session, table: str, column: str, parent_pk: UUID, order_by: str, where: str = "TRUE"
) -> list[asyncpg.Record]:
    """All rows of `table` whose `column` is the parent: short, unpaged lists only.

    Every argument but `parent_pk` is a constant of the calling module, never client input.
    """

    async def batch(parent_ids: list[UUID]) -> list[list[asyncpg.Record]]:
        rows = await session.fetch(
            f"SELECT t.* FROM {table} t WHERE t.workspace_id = $1 AND t.{column} = ANY($2::uuid[])"
            f" AND {where} ORDER BY {order_by}",
            session.workspace_id,
            parent_ids,
        )
        grouped: dict[UUID, list] = defaultdict(list)
        for row in rows:
            grouped[row[column]].append(row)
        return [grouped.get(pid, []) for pid in parent_ids]

    return await session.loader(("children", table, column, order_by, where), batch).load(parent_pk)
