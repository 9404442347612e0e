"""Subscriptions compiled: a subscription's selection is planned once (per document, operation
and the caller's scopes, like a query's) and written as one statement that builds the `data`
JSON of many events at once — for every subscriber whose statement is the same text with the
same parameters (`CompiledSelection.key`), whatever their filters.

The notifier runs that statement once per batch of events (`relasi/notifier.py`) and the
WebSocket sends PostgreSQL's text as it is (`relasi/ws_protocols.py`). A selection the planner
does not cover, or a caller without a scope a field needs (the resolvers report it), is
answered by the resolvers, event by event, as the reference path.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import strawberry
from graphql import DocumentNode, print_ast
from graphql.execution.values import VariableValues

from relasi.auth.principal import Principal
from relasi.compiler import values
from relasi.compiler.errors import Unsupported
from relasi.compiler.nodes import Bind, ObjectPlan
from relasi.compiler.plan import Planner
from relasi.db import Database
from relasi.notifier import Row
from relasi.resolvers.model import Entity, entity
from relasi.resolvers.predicates import Params
from relasi.resolvers.session import Session

log = logging.getLogger("relasi.compiler")

# subscription fields whose event is a row of a covered type, sent as that type
ROOT_ENTITIES = {"interactionAdded": "Interaction", "caseUpdated": "Case"}
_CACHE_SIZE = 512
_UNCOVERED = object()
_plans: OrderedDict[tuple, Any] = OrderedDict()


@dataclass(eq=False)
class CompiledSelection:
    """One subscriber's statement: `$2` takes the ids of a batch's rows."""

    sql: str
    params: list[Any]
    new_session: Callable[[], Session]  # the subscriber's: its principal, limits, row security
    key: Hashable = field(init=False)

    def __post_init__(self) -> None:
        self.key = (self.sql, repr(self.params[:1] + self.params[2:]))

    async def build(self, db: Database, rows: list[Row]) -> dict[UUID, str]:
        """The payload (`data` JSON text) of each row's event, by row id."""
        params = list(self.params)
        params[1] = [row["id"] for row in rows]
        session = self.new_session()
        try:
            found = await session.fetch(self.sql, *params)
        finally:
            await session.close()
        return {r["id"]: r["data"] for r in found}


def compile_selection(info: strawberry.Info) -> CompiledSelection | None:
    """The subscriber's compiled statement, or None when the resolvers answer."""
    context = info.context
    principal: Principal = context.principal
    raw = info._raw_info
    document = DocumentNode(definitions=(raw.operation, *raw.fragments.values()))
    # strawberry's info holds the coerced values, which are all arguments are read from
    variables = VariableValues(sources={}, coerced=raw.variable_values)
    switches = tuple(sorted((k, v) for k, v in variables.coerced.items() if isinstance(v, bool)))
    key = (print_ast(document), principal.scopes, switches)
    planned = _plans.get(key)
    if planned is None:
        try:
            planned = _plan(info.schema, document, raw.operation, principal, variables.coerced)
        except Unsupported as e:
            log.debug("resolvers answer the subscription: %s", e)
            planned = _UNCOVERED
        _plans[key] = planned
        if len(_plans) > _CACHE_SIZE:
            _plans.popitem(last=False)
    else:
        _plans.move_to_end(key)
    if planned is _UNCOVERED:
        return None
    root_key, ent, plan = planned
    bind = Bind(
        schema=info.schema,
        principal=principal,
        variables=variables,
        max_page_size=context.max_page_size,
        params=Params(principal.workspace_id, pii=principal.has("pii:read")),
    )
    ids = bind.params([], "uuid[]")
    x = bind.alias()
    try:
        data = f"json_build_object({values.literal(root_key)}, {plan.sql(bind, x)})"
    except Unsupported as e:  # this subscriber's arguments: the resolvers give their errors
        log.debug("resolvers answer the subscription: %s", e)
        return None
    sql = (
        f"SELECT k.id, {data}::text AS data FROM unnest({ids}) AS k(id)"
        f" JOIN {ent.table} {x} ON {x}.workspace_id = $1 AND {x}.id = k.id"
    )
    return CompiledSelection(sql, bind.params.values, context.new_session)


def _plan(
    schema: strawberry.Schema,
    document: DocumentNode,
    operation: Any,
    principal: Principal,
    variables: dict[str, Any],
) -> tuple[str, Entity, ObjectPlan]:
    planner = Planner(schema, document, operation, principal, variables)
    root_type = planner.gql.subscription_type
    assert root_type is not None
    ((root_key, nodes),) = planner.collect(root_type, [operation.selection_set]).items()
    name = nodes[0].name.value
    if name not in ROOT_ENTITIES:
        raise Unsupported(f"Subscription.{name}")
    planner._check("Subscription", name)  # a missing scope: the resolver's error
    ent = entity(ROOT_ENTITIES[name])
    return root_key, ent, planner.entity_object(ent, nodes)
