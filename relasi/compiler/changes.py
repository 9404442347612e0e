"""`changes` compiled: a page of the change log read as `resolvers/changes.page` reads it (the
same conditions, order, page sizes and cursors), each event's `changes` rendered in SQL as
`changes.render` renders it (API names, global ids, Money, `utm`, masks, deal amounts left out
without deals:amounts), its `record` (a Node of any type) and its `actor`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, get_named_type

from relasi.auth.permissions import can_read_type
from relasi.auth.pii import PII_READ
from relasi.compiler import values
from relasi.compiler.errors import Unsupported
from relasi.compiler.forward import forward_page, plan_parts
from relasi.compiler.nodes import Arguments, Bind, Column, Const, ObjectPlan, Plan
from relasi.compiler.timelines import actor_plan
from relasi.errors import AppError
from relasi.resolvers import changes as log
from relasi.resolvers.model import Entity, camel
from relasi.resolvers.pagination import page_size

if TYPE_CHECKING:
    from relasi.compiler.plan import Planner

_TEXT = "#>> ARRAY[]::text[]"  # a JSON scalar's text
# the event columns that are plain fields of ChangeEvent
_COLUMNS = {
    "type": "{t}.type",
    "recordType": "{t}.record_type",
    "occurredAt": "{t}.occurred_at",
    "requestId": "{t}.request_id",
    "sequence": "({t}.sequence)::text",
    "recordId": values.base64url("{t}.record_type || ':' || ({t}.record_id)::text"),
}


@dataclass
class ChangePage(Plan):
    arguments: Arguments
    parts: list[tuple[str, str, Any]]  # (response key, const|edges|nodes|pageInfo, payload)

    def sql(self, b: Bind, alias: str) -> str:
        kwargs = self.arguments.read(b)
        flt, after = kwargs.get("filter"), kwargs.get("after")
        try:
            size = page_size(kwargs.get("first"), b.max_page_size)
            where = log.conditions(
                b.params,
                after,
                flt.types if flt else None,
                flt.record_ids if flt else None,
            )
        except AppError as e:  # the resolver's error
            raise Unsupported("arguments") from e
        a = b.alias()
        inner = (
            f"SELECT e.*, c.sequence, row_number() OVER (ORDER BY c.sequence, e.seq) AS _n"
            " FROM change_commits c JOIN change_events e"
            " ON e.workspace_id = c.workspace_id AND e.xid = c.xid"
            f" WHERE {where} ORDER BY c.sequence, e.seq LIMIT {size + 1}"
        )
        keys = [(f"{a}.sequence", "bigint"), (f"{a}.seq", "bigint")]
        cursor = values.cursor(log.FINGERPRINT, keys)
        return forward_page(b, a, inner, size, cursor, after, self.parts, end_at_after=True)


@dataclass
class Changes(Plan):
    """An event's `changes` JSON, as `resolvers/changes.render` makes it."""

    def sql(self, b: Bind, alias: str) -> str:
        return render(
            alias, pii=b.principal.has(PII_READ), amounts=b.principal.has("deals:amounts")
        )


@dataclass
class Record(Plan):
    """The changed record now (null once gone, or for a type that is no Node: notes)."""

    targets: dict[str, tuple[Entity, ObjectPlan]]

    def sql(self, b: Bind, alias: str) -> str:
        cases = []
        for type_name, (ent, target) in sorted(self.targets.items()):
            x = b.alias()
            cases.append(
                f"WHEN {values.literal(type_name)} THEN (SELECT {target.sql(b, x)}"
                f" FROM {ent.table} {x} WHERE {x}.workspace_id = $1"
                f" AND {x}.id = {alias}.record_id AND {ent.live(x)})"
            )
        return f"CASE {alias}.record_type {' '.join(cases)} ELSE NULL::json END"


def render(t: str, *, pii: bool, amounts: bool) -> str:
    """SQL of `changes.render` over the event row `t`."""
    creations = ", ".join(values.literal(name) for name in sorted(log.CREATIONS))
    stored = (
        f"CASE WHEN {t}.type IN ({creations}) THEN coalesce((SELECT jsonb_object_agg(s.key,"
        " jsonb_build_object('before', NULL, 'after', s.value))"
        f" FROM jsonb_each({t}.changes) AS s WHERE s.value <> 'null'::jsonb), jsonb_build_object())"
        f" ELSE {t}.changes END"
    )
    currencies = ", ".join(values.literal(c) for c, _ in log.MONEY.values())
    money = ", ".join(values.literal(c) for c in log.MONEY)
    names = " ".join(
        f"WHEN {values.literal(c)} THEN {values.literal(camel(name or c))}"
        for c, (_, name) in log.MONEY.items()
    )
    skip = f"s.k NOT IN ({currencies}) AND left(s.k, {len(log.UTM)}) <> {values.literal(log.UTM)}"
    if not amounts:
        skip += f" AND NOT (s.k IN ({money}) AND {t}.record_type = 'Deal')"

    def side(name: str) -> str:
        x = f"(s.v -> {values.literal(name)})"
        amounts_of = " ".join(
            f"WHEN {values.literal(c)} THEN {_money(x, _currency(cur, name))}"
            for c, (cur, _) in log.MONEY.items()
        )
        return (
            f"CASE WHEN s.k IN ({money}) THEN CASE s.k {amounts_of} END ELSE {_value(x, pii)} END"
        )

    def utm(name: str) -> str:
        value = f"u.value -> {values.literal(name)}"
        return (
            f"(SELECT json_object_agg(substr(u.key, {len(log.UTM) + 1}), {value} ORDER BY u.n)"
            " FROM jsonb_each(z.st) WITH ORDINALITY AS u(key, value, n)"
            f" WHERE left(u.key, {len(log.UTM)}) = {values.literal(log.UTM)}"
            f" AND {value} <> 'null'::jsonb)"
        )

    fields = (
        f"SELECT s.n, CASE s.k {names} ELSE relasi_camel(s.k) END,"
        f" json_build_object('before', {side('before')}, 'after', {side('after')})"
        f" FROM jsonb_each(z.st) WITH ORDINALITY AS s(k, v, n) WHERE {skip}"
    )
    utm_field = (
        f"SELECT 9223372036854775807, 'utm', json_build_object('before', {utm('before')},"
        f" 'after', {utm('after')}) WHERE {utm('before')} IS NOT NULL OR {utm('after')} IS NOT NULL"
    )
    return (
        "(SELECT coalesce(json_object_agg(o.k, o.v ORDER BY o.n), json_build_object())"
        f" FROM (SELECT {stored} AS st) AS z, LATERAL ({fields} UNION ALL {utm_field}) AS o(n, k, v))"
    )


def _currency(column: str, side: str) -> str:
    """The currency of an amount: its own change's `side` in the stored changes `z.st`."""
    return f"(z.st -> {values.literal(column)} ->> {values.literal(side)})"


def _money(x: str, currency: str) -> str:
    amount = f"({x} {_TEXT})::numeric"
    return (
        f"CASE WHEN {x} IS NULL OR {x} = 'null'::jsonb OR {currency} IS NULL THEN NULL::json"
        f" ELSE json_build_object('amount', {values.money_amount(amount, currency)},"
        f" 'currency', {currency}) END"
    )


def _value(x: str, pii: bool) -> str:
    """`changes._value` of the JSON `x` of column `s.k`."""
    ids = " ".join(
        f"WHEN {values.literal(c)} THEN {values.global_id(target, f'({x} {_TEXT})::uuid')}"
        for c, target in log.ID_TARGETS.items()
    )
    masks = ""
    if not pii:
        for column, kind in (("emails", "email"), ("phones", "phone")):
            masks += (
                f" WHEN s.k = '{column}' THEN (SELECT coalesce(json_agg(relasi_mask_value("
                f"a.elem {_TEXT}, '{kind}') ORDER BY a.n), '[]'::json)"
                f" FROM jsonb_array_elements({x}) WITH ORDINALITY AS a(elem, n))"
            )
    contact_id = values.global_id("Contact", "(a.elem ->> 'contact_id')::uuid")
    contacts = (
        "(SELECT coalesce(json_agg(json_build_object('contactId',"
        f" {contact_id}, 'role', a.elem -> 'role')"
        f" ORDER BY a.n), '[]'::json) FROM jsonb_array_elements({x}) WITH ORDINALITY AS a(elem, n))"
    )
    client = ", ".join(values.literal(c) for c in log.CLIENT_JSON)
    return (
        f"CASE WHEN {x} IS NULL OR {x} = 'null'::jsonb THEN NULL::json"
        f" WHEN s.k IN ({', '.join(values.literal(c) for c in log.ID_TARGETS)})"
        f" THEN to_json(CASE s.k {ids} END){masks}"
        f" WHEN s.k = 'contacts' THEN {contacts}"
        f" WHEN jsonb_typeof({x}) = 'number' AND ({x} {_TEXT}) ~ '[.eE]' THEN to_json({x} {_TEXT})"
        f" WHEN s.k IN ({client}) THEN {x}::json"
        f" WHEN jsonb_typeof({x}) IN ('object', 'array') THEN relasi_camel_keys({x})"
        f" ELSE {x}::json END"
    )


def plan_changes(
    planner: Planner, nodes: list[FieldNode], gql_field: Any, strawberry_field: Any
) -> ChangePage:
    connection_type = planner._object_type(get_named_type(gql_field.type).name)
    parts = plan_parts(planner, connection_type, nodes, lambda found: _event(planner, found))
    return ChangePage(Arguments(nodes[0], gql_field, strawberry_field), parts)


def _event(planner: Planner, nodes: list[FieldNode]) -> ObjectPlan:
    type_ = planner._object_type("ChangeEvent")
    plans: list[tuple[str, Plan]] = []
    for key, fields in planner.collect(type_, [n.selection_set for n in nodes]).items():
        name = fields[0].name.value
        if name == "__typename":
            plans.append((key, Const(values.literal(type_.name))))
            continue
        planner._check(type_.name, name)
        named = get_named_type(type_.fields[name].type)
        if name in _COLUMNS:  # recordId: an ID already written as text
            scalar = "String" if named.name == "ID" else named.name
            plans.append((key, Column(_COLUMNS[name], scalar)))
        elif name == "changes":
            plans.append((key, Changes()))
        elif name == "actor":
            plans.append((key, actor_plan(planner, planner._object_type(named.name), fields)))
        else:  # record
            plans.append((key, _record(planner, fields)))
    return ObjectPlan(plans)


def _record(planner: Planner, nodes: list[FieldNode]) -> Record:
    from relasi.schema.relay import NODE_TYPES  # relasi.schema imports us

    # the log's record types: its event types' prefixes (contact.updated: Contact)
    names = frozenset(t.split(".")[0].title() for t in log.EVENT_TYPES) & set(NODE_TYPES)
    if not all(can_read_type(planner.principal, name) for name in names):
        raise Unsupported("ChangeEvent.record of a type the caller may not read")  # FORBIDDEN
    targets = planner.node_targets(names, nodes)
    if set(targets) != names:
        raise Unsupported("ChangeEvent.record")
    return Record(targets)
