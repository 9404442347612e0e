"""Journeys compiled: `Contact.journey` (also `asOf`) and `Account.journey`, from the SQL
`resolvers/journey.py` declares for its loaders (TRANSITIONS, COUNTS, FIRST_TOUCH / LAST_TOUCH,
ACCOUNT), correlated to each contact or account row instead of batched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, get_named_type

from relasi.compiler import values
from relasi.compiler.errors import Unsupported
from relasi.compiler.nodes import Arguments, Bind, Column, Const, ObjectPlan, Plan
from relasi.compiler.timelines import EventLink
from relasi.resolvers import journey
from relasi.resolvers.model import camel, entity

if TYPE_CHECKING:
    from relasi.compiler.plan import Planner

# JourneyTransition's fields over a row of _TRANSITIONS_ROWS
_TRANSITION_COLUMNS = {
    "fromStage": "nullif({t}.from_value, '')",
    "toStage": "{t}.to_value",
    "enteredAt": "{t}.occurred_at",
    "exitedAt": "{t}.exited_at",
    "regression": "{t}.regression",
}


def _float_seconds(t: str) -> str:
    """`timedelta.total_seconds()` of exited_at - occurred_at as Python prints the float
    (microseconds: at most 15 digits, so the shortest repr is the exact decimal; below 1e-4
    Python writes an exponent)."""
    seconds = f"trim_scale(extract(epoch FROM {t}.exited_at - {t}.occurred_at))"
    micros = f"(extract(epoch FROM {t}.exited_at - {t}.occurred_at) * 1000000)::bigint"
    tiny = (
        f"CASE WHEN {micros} < 10 THEN {micros}::text || 'e-06'"
        f" WHEN {micros} % 10 = 0 THEN ({micros} / 10)::text || 'e-05'"
        f" ELSE ({micros} / 10)::text || '.' || ({micros} % 10)::text || 'e-05' END"
    )
    text = (
        f"CASE WHEN {seconds} > 0 AND {seconds} < 0.0001 THEN {tiny}"
        f" WHEN scale({seconds}) = 0 THEN {seconds}::text || '.0' ELSE {seconds}::text END"
    )
    return f"(CASE WHEN {t}.exited_at IS NULL THEN NULL ELSE ({text})::json END)"


def _rows(b: Bind, rows: str, order: str, item: ObjectPlan) -> str:
    """A JSON list of `item` for each row of the query `rows`, in `order` (over {i})."""
    i = b.alias()
    return (
        f"coalesce((SELECT json_agg({item.sql(b, i)} ORDER BY {order.format(i=i)})"
        f" FROM ({rows}) {i}), '[]'::json)"
    )


# the fields that read the contact's transitions, and its touchpoint counts
_READ_TRANSITIONS = frozenset({"stage", "enteredStageAt", "transitions"})
_READ_COUNTS = frozenset({"touchpointCount", "touchpointsByStage", "touchpointsByChannel"})


@dataclass
class ContactJourney(Plan):
    arguments: Arguments
    fields: list[tuple[str, str, Any]]  # (response key, field name, its item / touch plan)

    def sql(self, b: Bind, alias: str) -> str:
        as_of = self.arguments.read(b).get("as_of")
        bound: list[str] = []

        def on() -> dict[str, str]:
            # bound when first read: a parameter no expression reads has no type
            if not bound:
                at = "NULL::timestamptz" if as_of is None else b.params(as_of, "timestamptz")
                bound.append(at)
            return {"contact": f"{alias}.id", "as_of": bound[0]}

        order = journey.TRANSITIONS_ORDER
        pairs = []
        for key, name, plan in self.fields:
            transitions = journey.TRANSITIONS.format(**on()) if name in _READ_TRANSITIONS else ""
            counts = journey.COUNTS.format(**on()) if name in _READ_COUNTS else ""
            last = f"[count(*)] {transitions})"  # the latest transition's value (array_agg)
            if name == "__typename":
                expr = values.literal("ContactJourney")
            elif name == "asOf":
                expr = (
                    "NULL::json"
                    if as_of is None
                    else f"to_json({b.params(as_of.isoformat(), 'text')})"
                )
            elif name == "stage" and as_of is None:
                expr = f"{alias}.journey_stage"
            elif name == "stage":
                expr = f"(SELECT (array_agg(e.to_value ORDER BY {order})){last}"
            elif name == "enteredStageAt":
                entered = f"(SELECT (array_agg(e.occurred_at ORDER BY {order})){last}"
                expr = values.timestamp(entered)
            elif name == "touchpointCount":
                expr = f"(SELECT coalesce(sum(g.n), 0)::bigint FROM ({counts}) g WHERE g.by_channel = 1)"
            elif name == "touchpointsByStage":
                rows = (
                    "SELECT s.stage, coalesce(g.n, 0) AS count, s.o"
                    f" FROM unnest({journey.STAGES_SQL}) WITH ORDINALITY AS s(stage, o)"
                    " LEFT JOIN (SELECT g.stage, sum(g.n)::bigint AS n"
                    f" FROM ({counts}) g WHERE g.by_channel = 0 GROUP BY g.stage) g"
                    " ON g.stage = s.stage"
                )
                expr = _rows(b, rows, "{i}.o", plan)
            elif name == "touchpointsByChannel":  # most used first, then by name
                rows = f"SELECT g.channel, g.n AS count FROM ({counts}) g WHERE g.by_channel = 1"
                expr = _rows(b, rows, '{i}.count DESC, {i}.channel COLLATE "C"', plan)
            elif name == "transitions":
                window = f"OVER (ORDER BY {order})"
                rows = (
                    f"SELECT e.*, lead(e.occurred_at) {window} AS exited_at,"
                    f" row_number() {window} AS _n {transitions}"
                )
                expr = _rows(b, rows, "{i}._n", plan)
            else:  # firstTouch, lastTouch
                touch = journey.FIRST_TOUCH if name == "firstTouch" else journey.LAST_TOUCH
                x = b.alias()
                interactions = entity("Interaction")
                expr = (
                    f"(SELECT {plan.sql(b, x)} FROM {interactions.table} {x}"
                    f" WHERE {x}.workspace_id = $1 AND {x}.id = {touch.format(**on())}"
                    f" AND {interactions.live(x)})"
                )
            pairs.append(f"{values.literal(key)}, {expr}")
        return f"json_build_object({', '.join(pairs)})"


@dataclass
class AccountJourney(Plan):
    fields: list[tuple[str, str, Any]]

    def sql(self, b: Bind, alias: str) -> str:
        stages = journey.ACCOUNT.format(account=f"{alias}.id")
        pairs = []
        for key, name, plan in self.fields:
            if name == "__typename":
                expr = values.literal("AccountJourney")
            elif name == "furthestStage":
                expr = f"(SELECT ({journey.STAGES_SQL})[max(a.furthest)] FROM ({stages}) a)"
            else:  # contactsByStage, in journey order
                rows = (
                    "SELECT s.stage, coalesce(a.n, 0) AS count, s.o"
                    f" FROM unnest({journey.STAGES_SQL}) WITH ORDINALITY AS s(stage, o)"
                    f" LEFT JOIN ({stages}) a ON a.journey_stage = s.stage"
                )
                expr = _rows(b, rows, "{i}.o", plan)
            pairs.append(f"{values.literal(key)}, {expr}")
        return f"json_build_object({', '.join(pairs)})"


def plan_journey(
    planner: Planner, owner: str, nodes: list[FieldNode], gql_field: Any, strawberry_field: Any
) -> Plan:
    journey_type = planner._object_type(get_named_type(gql_field.type).name)
    fields: list[tuple[str, str, Any]] = []
    for key, found in planner.collect(journey_type, [n.selection_set for n in nodes]).items():
        name = found[0].name.value
        plan = None
        if name != "__typename":
            planner._check(journey_type.name, name)
            named = get_named_type(journey_type.fields[name].type).name
            if name in ("touchpointsByStage", "touchpointsByChannel", "contactsByStage"):
                plan = _object(planner, named, found, _counted)
            elif name == "transitions":
                plan = _object(planner, named, found, _transition)
            elif name in ("firstTouch", "lastTouch"):
                plan = _object(planner, named, found, _touch)
        fields.append((key, name, plan))
    if owner == "Account":
        return AccountJourney(fields)
    return ContactJourney(Arguments(nodes[0], gql_field, strawberry_field), fields)


Field = Callable[["Planner", str, str, list[FieldNode]], Plan]


def _object(planner: Planner, type_name: str, nodes: list[FieldNode], field: Field) -> ObjectPlan:
    type_ = planner._object_type(type_name)
    plans: list[tuple[str, Plan]] = []
    for key, found in planner.collect(type_, [n.selection_set for n in nodes]).items():
        name = found[0].name.value
        if name == "__typename":
            plans.append((key, Const(values.literal(type_name))))
            continue
        planner._check(type_name, name)
        named = get_named_type(type_.fields[name].type).name
        plans.append((key, field(planner, name, named, found)))
    return ObjectPlan(plans)


def _counted(planner: Planner, name: str, type_name: str, nodes: list[FieldNode]) -> Plan:
    return Column(f"{{t}}.{name}", type_name)  # stage or channel, and count


def _transition(planner: Planner, name: str, type_name: str, nodes: list[FieldNode]) -> Plan:
    if name == "durationSeconds":
        return Column(_float_seconds("{t}"), "JSON")
    if name == "interaction":
        interaction = entity("Interaction")
        return EventLink(interaction, "interaction_id", planner.entity_object(interaction, nodes))
    if name not in _TRANSITION_COLUMNS:
        raise Unsupported(f"JourneyTransition.{name}")
    return Column(_TRANSITION_COLUMNS[name], type_name)


def _touch(planner: Planner, name: str, type_name: str, nodes: list[FieldNode]) -> Plan:
    if name == "interaction":  # the touch's row itself
        return planner.entity_object(entity("Interaction"), nodes)
    columns = {camel(field): column for field, column in journey.ATTRIBUTION}
    if name not in columns:
        raise Unsupported(f"TouchAttribution.{name}")
    return Column(f"{{t}}.{columns[name]}", type_name)
