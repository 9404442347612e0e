"""Subscriptions compiled: a subscription's selection is planned once (per document, operation
and the caller's scopes, like a query's) and written as one statement that builds the `data`
JSON of many events at once — for every subscriber whose statement is the same text with the
same parameters (`CompiledSelection.key`), whatever their filters (those are checked in Python
on the event's row, `schema/subscriptions.py`).

Each subscription field reads its events' rows from where the notifier names them
(`ROOTS`): a touchpoint or a case by its row, a timeline entry in the common event shape of
`resolvers/timeline.py` (whichever table holds it), a membership change by its
`segment_changes` row. The notifier runs the statement once per batch of events
(`relasi/notifier.py`) and the socket sends PostgreSQL's text as it is
(`relasi/ws_protocols.py`). A selection the planner does not cover, or a caller without a
scope a field needs (the resolvers report it), is answered by the resolvers, event by event,
as the reference path.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import strawberry
from graphql import DocumentNode, FieldNode, get_named_type, print_ast
from graphql.execution.values import VariableValues

from relasi.auth.principal import Principal
from relasi.change_reader import Row
from relasi.compiler import values
from relasi.compiler.errors import Unsupported
from relasi.compiler.nodes import Bind, Column, Const, GlobalId, ObjectPlan, Plan
from relasi.compiler.plan import Planner
from relasi.compiler.timelines import Event, EventLink, event_object
from relasi.db import Database
from relasi.resolvers import timeline
from relasi.resolvers.model import entity
from relasi.resolvers.predicates import Params
from relasi.resolvers.session import Session

log = logging.getLogger("relasi.compiler")

_CACHE_SIZE = 512
_UNCOVERED = object()
_plans: OrderedDict[tuple, Any] = OrderedDict()

# A batch's rows, as `FROM ...` over the row alias {x} and the bound ids {ids}, and the
# expression of each row's id (the id the notifier names it by).
_TABLE = "FROM {table} {{x}} WHERE {{x}}.workspace_id = $1 AND {{x}}.id = ANY({{ids}})"
# a timeline entry in the common shape, with its time and id as a page row has them
_EVENTS_OF = {
    table: f"SELECT e.occurred_at AS _k0, e.id AS _k1, {columns} FROM {table} e"
    " WHERE e.workspace_id = $1 AND e.id = ANY({ids})"
    for table, columns in timeline.EVENT_COLUMNS_OF.items()
}


@dataclass(frozen=True)
class _Root:
    source: str  # FROM ..., over {x} and {ids}
    row_id: str  # over {x}
    plan: Callable[[Planner, list[FieldNode]], Plan]


def _entity_root(name: str) -> _Root:
    return _Root(
        _TABLE.format(table=entity(name).table),
        "{x}.id",
        lambda planner, nodes: planner.entity_object(entity(name), nodes),
    )


def _events_root(tables: tuple[str, ...], plan: Callable[[Planner, list[FieldNode]], Plan]):
    union = " UNION ALL ".join(_EVENTS_OF[t] for t in tables)
    return _Root(f"FROM ({union}) {{x}}", "{x}._k1", plan)


@dataclass
class _Cursor(Plan):
    """The cursor of an event pushed live (`timeline.cursor_of`), which `timeline(after:)`
    reads on from."""

    def sql(self, b: Bind, alias: str) -> str:
        keys = [(f"{alias}._k0", "timestamptz"), (f"{alias}._k1", "uuid")]
        return values.cursor(timeline.FINGERPRINT, keys)


def _edge(planner: Planner, nodes: list[FieldNode]) -> ObjectPlan:
    """`TimelineEventEdge`: the cursor, and the event as the type of its kind."""
    from relasi.schema.timeline import EVENT_TYPES  # relasi.schema imports us

    type_ = planner._object_type("TimelineEventEdge")
    plans: list[tuple[str, Plan]] = []
    for key, fields in planner.collect(type_, [n.selection_set for n in nodes]).items():
        name = fields[0].name.value
        if name == "__typename":
            plans.append((key, Const(values.literal(type_.name))))
            continue
        planner._check(type_.name, name)
        if name == "cursor":
            plans.append((key, _Cursor()))
        else:  # node
            plans.append((key, Event([(k, event_object(planner, k, fields)) for k in EVENT_TYPES])))
    return ObjectPlan(plans)


def _row_object(
    planner: Planner,
    type_name: str,
    nodes: list[FieldNode],
    links: dict[str, tuple[str, str]],
) -> ObjectPlan:
    """An object read from its own row: the global id, plain attributes as the columns of
    the same name, and `links` (field -> (type, column of its id)) as the linked records."""
    type_ = planner._object_type(type_name)
    plans: list[tuple[str, Plan]] = []
    for key, fields in planner.collect(type_, [n.selection_set for n in nodes]).items():
        name = fields[0].name.value
        if name == "__typename":
            plans.append((key, Const(values.literal(type_name))))
            continue
        strawberry_field = planner._check(type_name, name)
        gql_field = type_.fields[name]
        if name == "id":
            plans.append((key, GlobalId(type_name)))
        elif name in links:
            target, column = links[name]
            plans.append((key, EventLink(entity(target), column, _linked(planner, target, fields))))
        elif strawberry_field.base_resolver is None and not gql_field.args:
            column = f"{{t}}.{strawberry_field.python_name}"
            plans.append((key, Column(column, get_named_type(gql_field.type).name)))
        else:
            raise Unsupported(f"{type_name}.{name}")
    return ObjectPlan(plans)


def _linked(planner: Planner, target: str, nodes: list[FieldNode]) -> ObjectPlan:
    if target == "Segment":  # not a type queries compile: its plain fields only
        return _row_object(planner, target, nodes, {})
    return planner.entity_object(entity(target), nodes)


def _membership_change(planner: Planner, nodes: list[FieldNode]) -> ObjectPlan:
    links = {"contact": ("Contact", "contact_id"), "segment": ("Segment", "segment_id")}
    return _row_object(planner, "SegmentMembershipChange", nodes, links)


def _kind(kind: str) -> Callable[[Planner, list[FieldNode]], Plan]:
    return lambda planner, nodes: event_object(planner, kind, nodes)


# every subscription field: where its events' rows are read, and how its payload is planned
ROOTS: dict[str, _Root] = {
    "interactionAdded": _entity_root("Interaction"),
    "caseUpdated": _entity_root("Case"),
    "timelineEventAdded": _events_root(("interactions", "timeline_events"), _edge),
    "dealStageChanged": _events_root(("timeline_events",), _kind("DEAL_STAGE_CHANGED")),
    "journeyStageChanged": _events_root(("timeline_events",), _kind("JOURNEY_STAGE_CHANGED")),
    "segmentMembershipChanged": _Root(
        _TABLE.format(table="segment_changes"), "{x}.id", _membership_change
    ),
}


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
            found = await session.fetch_alone(self.sql, *params)
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
    response_key, root, plan = planned
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
        data = f"json_build_object({values.literal(response_key)}, {plan.sql(bind, x)})"
    except Unsupported as e:  # this subscriber's arguments: the resolvers give their errors
        log.debug("resolvers answer the subscription: %s", e)
        return None
    sql = (
        f"SELECT {root.row_id.format(x=x)} AS id, {data}::text AS data"
        f" {root.source.format(x=x, ids=ids)}"
    )
    return CompiledSelection(sql, bind.params.values, context.new_session)


def _plan(
    schema: strawberry.Schema,
    document: DocumentNode,
    operation: Any,
    principal: Principal,
    variables: dict[str, Any],
) -> tuple[str, _Root, Plan]:
    planner = Planner(schema, document, operation, principal, variables)
    root_type = planner.gql.subscription_type
    assert root_type is not None
    ((response_key, nodes),) = planner.collect(root_type, [operation.selection_set]).items()
    name = nodes[0].name.value
    if name not in ROOTS:
        raise Unsupported(f"Subscription.{name}")
    planner._check("Subscription", name)  # a missing scope: the resolver's error
    root = ROOTS[name]
    return response_key, root, root.plan(planner, nodes)
