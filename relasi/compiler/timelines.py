"""Timelines compiled: `Contact.timeline` / `Account.timeline` as `resolvers/timeline.py` reads
them — the same UNION ALL of keyset scans per source (`sources_of`), merged and cut at the
page — with each event's JSON chosen by its kind (the `TimelineEvent` interface's concrete
types, from `timeline.EVENT_FIELDS` / `EVENT_LINKS`), and edges, cursors, pageInfo and
totalCount built by `pages.page_json`. Who moved a deal or wrote a note is an `Actor`: the
API key's name and the member. And a deal's `stageHistory`, the other history the schema has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, GraphQLObjectType, get_named_type

from relasi.compiler import values
from relasi.compiler.errors import Unsupported
from relasi.compiler.nodes import Arguments, Bind, Column, Const, ObjectPlan, Plan
from relasi.compiler.pages import page_json, page_rows
from relasi.errors import AppError
from relasi.resolvers import deals, timeline
from relasi.resolvers.model import Entity, entity
from relasi.resolvers.pagination import key_columns, outer_order, plan_page

if TYPE_CHECKING:
    from relasi.compiler.plan import Planner

OWNERS: dict[str, timeline.Owner] = {"Contact": "contact", "Account": "account"}


@dataclass
class EventLink(Plan):
    """A record an event links to (`timeline.EVENT_LINKS`): null when there is none."""

    target: Entity
    column: str
    plan: ObjectPlan

    def sql(self, b: Bind, alias: str) -> str:
        x = b.alias()
        pk = f"{alias}.{self.column}"
        if self.column in ("from_value", "to_value"):  # a stage's id kept as text
            pk = f"nullif({pk}, '')::uuid"
        return (
            f"(SELECT {self.plan.sql(b, x)} FROM {self.target.table} {x}"
            f" WHERE {x}.workspace_id = $1 AND {x}.id = {pk} AND {self.target.live(x)})"
        )


@dataclass
class When(Plan):
    """A value that is null unless `condition` (over {t}) holds."""

    condition: str
    plan: Plan

    def sql(self, b: Bind, alias: str) -> str:
        return f"CASE WHEN {self.condition.format(t=alias)} THEN {self.plan.sql(b, alias)} END"


@dataclass
class Event(Plan):
    """An event of a page row: the object of its kind's type."""

    kinds: list[tuple[str, ObjectPlan]]

    def sql(self, b: Bind, alias: str) -> str:
        cases = " ".join(
            f"WHEN {values.literal(kind)} THEN {plan.sql(b, alias)}" for kind, plan in self.kinds
        )
        return f"CASE {alias}.kind {cases} END"


@dataclass
class Timeline(Plan):
    owner: timeline.Owner
    arguments: Arguments
    parts: list[tuple[str, str, Any]]

    def sql(self, b: Bind, parent: str) -> str:
        from relasi.schema.relay import page_args  # relasi.schema imports us
        from relasi.schema.timeline import timeline_query

        kwargs = self.arguments.read(b)
        q = timeline_query(kwargs.get("filter"), kwargs["order"])
        keys = timeline.sort_keys_of(q)
        args = page_args(
            kwargs.get("first"), kwargs.get("after"), kwargs.get("last"), kwargs.get("before")
        )
        try:
            page = plan_page(keys, args, b.params, b.max_page_size, timeline.FINGERPRINT)
        except AppError as e:  # bad arguments: the resolver's error, at the resolver's path
            raise Unsupported("arguments") from e
        sources = _sources(b, self.owner, f"{parent}.id", q)
        a, u = b.alias(), b.alias()
        order = outer_order(page)
        number, limit = page_rows(page, self.parts, order)
        branches = " UNION ALL ".join(
            f"(SELECT {columns}, {key_columns(keys)} {source} AND {page.where}"
            f" ORDER BY {page.order_sql} LIMIT {limit})"
            for columns, source in sources or [timeline.NO_EVENTS]
        )
        inner = f"SELECT {u}.*{number} FROM ({branches}) {u} ORDER BY {order} LIMIT {limit}"

        def total() -> str:  # as timeline.count
            counted = _sources(b, self.owner, f"{parent}.id", q)
            return "(" + (" + ".join(f"(SELECT count(*) {s})" for _, s in counted) or "0") + ")"

        return page_json(b, a, page, keys, self.parts, inner, total, numbered=bool(number))


def _sources(b: Bind, owner: timeline.Owner, parent: str, q: Any) -> list[tuple[str, str]]:
    """`timeline.sources_of`; when no source can match, the values it bound are taken back
    (a parameter no expression reads has no type)."""
    bound = len(b.params.values)
    found = timeline.sources_of(owner, parent, q, b.params)
    if not found:
        del b.params.values[bound:]
    return found


def plan_timeline(
    planner: Planner, owner: str, nodes: list[FieldNode], gql_field: Any, strawberry_field: Any
) -> Timeline:
    connection_type = planner._object_type(get_named_type(gql_field.type).name)
    parts = planner.connection_parts(
        connection_type,
        nodes,
        lambda found: _event(planner, found),
        lambda found: _edge(planner, connection_type, found),
    )
    arguments = Arguments(nodes[0], gql_field, strawberry_field)
    return Timeline(OWNERS[owner], arguments, parts)


def actor_plan(
    planner: Planner, type_: GraphQLObjectType, nodes: list[FieldNode], prefix: str = "actor"
) -> ObjectPlan:
    """Who caused an event or change (`Actor`) of a row with <prefix>_api_key_id and
    <prefix>_member_id, as `schema/timeline._actor` reads it: the API key's name
    (`timeline.load_actor_name`: revoked keys too), and the member."""
    plans: list[tuple[str, Plan]] = []
    for key, fields in planner.collect(type_, [n.selection_set for n in nodes]).items():
        name = fields[0].name.value
        if name == "__typename":
            plans.append((key, Const(values.literal(type_.name))))
            continue
        planner._check(type_.name, name)
        if name == "apiKeyName":
            key_name = (
                "(SELECT k.name FROM api_keys k WHERE k.workspace_id = $1"
                f" AND k.id = {{t}}.{prefix}_api_key_id)"
            )
            plans.append((key, Column(key_name, "String")))
        else:  # member
            member = entity("Member")
            plan = planner.entity_object(member, fields)
            plans.append((key, EventLink(member, f"{prefix}_member_id", plan)))
    return ObjectPlan(plans)


def _edge(
    planner: Planner, connection_type: GraphQLObjectType, nodes: list[FieldNode]
) -> list[tuple[str, str, Any]]:
    edge_type = get_named_type(connection_type.fields["edges"].type)
    parts: list[tuple[str, str, Any]] = []
    for key, fields in planner.collect(edge_type, [n.selection_set for n in nodes]).items():
        name = fields[0].name.value
        if name == "__typename":
            parts.append((key, "const", values.literal(edge_type.name)))
            continue
        planner._check(edge_type.name, name)
        if name == "cursor":
            parts.append((key, "cursor", None))
        else:  # node
            parts.append((key, "node", _event(planner, fields)))
    return parts


def _event(planner: Planner, nodes: list[FieldNode]) -> Event:
    from relasi.schema.timeline import EVENT_TYPES  # relasi.schema imports us

    return Event([(kind, event_object(planner, kind, nodes)) for kind in EVENT_TYPES])


def event_object(planner: Planner, kind: str, nodes: list[FieldNode]) -> ObjectPlan:
    """The selection of an event of one kind, as its type (a page row or a row of the same
    shape: `_k0` its time, `_k1` its id)."""
    from relasi.schema.timeline import EVENT_TYPES  # relasi.schema imports us

    type_ = planner._object_type(EVENT_TYPES[kind].__strawberry_definition__.name)
    columns = dict(timeline.EVENT_FIELDS.get(kind, ()))
    plans: list[tuple[str, Plan]] = []
    for key, fields in planner.collect(type_, [n.selection_set for n in nodes]).items():
        plans.append((key, _event_field(planner, type_, columns, fields)))
    return ObjectPlan(plans)


def _event_field(
    planner: Planner, type_: GraphQLObjectType, columns: dict[str, str], nodes: list[FieldNode]
) -> Plan:
    name = nodes[0].name.value
    if name == "__typename":
        return Const(values.literal(type_.name))
    python_name = planner._check(type_.name, name).python_name
    named = get_named_type(type_.fields[name].type)
    if name == "id":  # the page row's key columns are its time (_k0) and id (_k1)
        return Column(values.global_id(type_.name, "{t}._k1"), "String")
    if name == "occurredAt":
        return Column("{t}._k0", named.name)
    if name == "kind":
        return Column("{t}.kind", named.name)
    if python_name in columns:
        return Column(f"{{t}}.{columns[python_name]}", named.name)
    if python_name in ("changed_by", "author", "created_by", "completed_by"):
        return actor_plan(planner, planner._object_type(named.name), nodes)
    if python_name in timeline.EVENT_LINKS:
        target, column = timeline.EVENT_LINKS[python_name]
        return EventLink(entity(target), column, planner.entity_object(entity(target), nodes))
    raise Unsupported(f"{type_.name}.{name}")


@dataclass
class StageHistory(Plan):
    """`Deal.stageHistory`: its stage changes, as `deals.stage_history` reads them."""

    item: ObjectPlan

    def sql(self, b: Bind, alias: str) -> str:
        x = b.alias()
        order = deals.STAGE_HISTORY_ORDER.format(t=x)
        return (
            f"coalesce((SELECT json_agg({self.item.sql(b, x)} ORDER BY {order})"
            f" FROM deal_stage_changes {x} WHERE {x}.workspace_id = $1 AND {x}.deal_id = {alias}.id),"
            " '[]'::json)"
        )


def plan_stage_history(planner: Planner, nodes: list[FieldNode], gql_field: Any) -> StageHistory:
    type_ = planner._object_type(get_named_type(gql_field.type).name)
    plans: list[tuple[str, Plan]] = []
    for key, fields in planner.collect(type_, [n.selection_set for n in nodes]).items():
        name = fields[0].name.value
        if name == "__typename":
            plans.append((key, Const(values.literal(type_.name))))
            continue
        planner._check(type_.name, name)
        named = get_named_type(type_.fields[name].type)
        if name == "changedAt":
            plans.append((key, Column("{t}.changed_at", named.name)))
        elif name == "changedBy":
            plans.append((key, actor_plan(planner, planner._object_type(named.name), fields)))
        else:  # fromStage, toStage
            stage = entity("PipelineStage")
            column = "from_stage_id" if name == "fromStage" else "to_stage_id"
            link = EventLink(stage, column, planner.entity_object(stage, fields))
            plans.append((key, link))
    return StageHistory(ObjectPlan(plans))
