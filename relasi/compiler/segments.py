"""Segments compiled: `Segment.sizeHistory` (per day, as `resolvers/segments/queries.py` counts
it), `Segment.rule` (masked without pii:read, `resolvers/segments/masking.py`) and
`previewSegment`. The rest of a segment is its storage mapping: columns, `size` (an output),
members, overrides and its change log (relations)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, get_named_type

from relasi.auth.pii import PII_READ
from relasi.compiler import values
from relasi.compiler.errors import Unsupported
from relasi.compiler.nodes import Arguments, Bind, ObjectPlan, Plan
from relasi.errors import AppError, UserInputError
from relasi.resolvers.model import entity
from relasi.resolvers.pagination import PageArgs, plan_page, sort_keys
from relasi.resolvers.predicates import Params, compile_filter
from relasi.resolvers.segments.masking import mask_spec
from relasi.resolvers.segments.queries import MAX_HISTORY_DAYS
from relasi.resolvers.segments.rules import parse_all

if TYPE_CHECKING:
    from relasi.compiler.plan import Planner

# the size at the end of day {d} (UTC): the size now ({now}) less the entries and exits after it
_DAY_SIZE = (
    "{now} - coalesce((SELECT sum(CASE x.change WHEN 'ENTERED' THEN 1 ELSE -1 END)"
    " FROM segment_changes x WHERE x.workspace_id = $1 AND x.segment_id = {t}.id"
    " AND x.occurred_at >= ({d} + 1)::timestamp AT TIME ZONE 'UTC'), 0)"
)
_TODAY = "(now() AT TIME ZONE 'UTC')::date"


@dataclass
class SizeHistory(Plan):
    arguments: Arguments
    item: list[tuple[str, str]]  # (response key, "date" | "size" | "__typename")

    def sql(self, b: Bind, alias: str) -> str:
        days = self.arguments.read(b).get("days", 30)
        if not 1 <= days <= MAX_HISTORY_DAYS:
            raise Unsupported("days")  # the resolver's error
        g, now = b.alias(), b.alias()
        day = f"({_TODAY} - {g}.n)"
        parts = {
            "date": f"to_char({day}, 'YYYY-MM-DD')",
            "size": _DAY_SIZE.format(t=alias, d=day, now=f"{now}.n"),
            "__typename": "'SegmentSize'",
        }
        pairs = ", ".join(f"{values.literal(k)}, {parts[name]}" for k, name in self.item)
        return (
            f"(SELECT json_agg(json_build_object({pairs}) ORDER BY {g}.n DESC)"
            f" FROM (SELECT count(*) AS n FROM segment_members m WHERE m.workspace_id = $1"
            f" AND m.segment_id = {alias}.id) AS {now},"
            f" generate_series(0, {b.params(days, 'int')} - 1) AS {g}(n))"
        )


@dataclass
class Rule(Plan):
    """The stored rule; without pii:read through `relasi_mask_rule` (migration 0016), which
    walks it by the storage mapping's description of personal data (`mask_spec`)."""

    def sql(self, b: Bind, alias: str) -> str:
        if b.principal.has(PII_READ):
            return f"{alias}.rule"
        spec = b.params(mask_spec(), "jsonb")
        return f"relasi_mask_rule({alias}.rule, 'Contact', {spec})"


def plan_size_history(planner: Planner, nodes: list[FieldNode], gql_field: Any) -> SizeHistory:
    strawberry_field = planner._check("Segment", nodes[0].name.value)
    type_ = planner._object_type(get_named_type(gql_field.type).name)
    item = []
    for key, fields in planner.collect(type_, [n.selection_set for n in nodes]).items():
        name = fields[0].name.value
        if name != "__typename":
            planner._check(type_.name, name)
        item.append((key, name))
    return SizeHistory(Arguments(nodes[0], gql_field, strawberry_field), item)


@dataclass
class Preview(Plan):
    """`previewSegment`, as `schema/segments.preview_segment` answers it when the rule is
    good: how many contacts match and the first of them (newest first). A rule with problems
    (its userErrors), one reading other segments (checked against the workspace's segments
    graph in Python) or a bad page size raise `Unsupported`: the resolver answers."""

    arguments: Arguments
    fields: list[tuple[str, str, ObjectPlan | None]]  # (response key, field, contacts' plan)

    def sql(self, b: Bind, alias: str) -> str:
        from relasi.schema.segments import rule_of  # relasi.schema imports us

        kwargs = self.arguments.read(b)
        data: dict[str, Any] = {}
        try:
            rule_of(data, kwargs.get("rule"), kwargs.get("rule_json"), prefix="")
        except UserInputError as e:
            raise Unsupported("rule and ruleJson") from e
        if "rule" not in data:
            raise Unsupported("no rule")
        rule, errors = parse_all(data["rule"], [data["rule_field"]])
        if errors or rule.refs:
            raise Unsupported("rule")
        contact = entity("Contact")
        page_args = PageArgs(first=kwargs["first"])
        try:  # as the resolver checks, whatever is selected: its errors
            check = Params(pii=b.principal.has(PII_READ))
            compile_filter(contact, rule.filter, "c", check)
            plan_page(sort_keys(contact, None, "c"), page_args, check, b.max_page_size)
        except AppError as e:
            raise Unsupported("rule or first") from e
        pairs = []
        for key, name, plan in self.fields:
            if name == "__typename":
                expr = "'SegmentPreview'"
            elif name == "userErrors":
                expr = "'[]'::json"
            elif name == "count":
                c = b.alias()
                count_cond = compile_filter(contact, rule.filter, c, b.params)
                expr = (
                    f"(SELECT count(*) FROM {contact.table} {c} WHERE {c}.workspace_id = $1"
                    f" AND {contact.live(c)} AND {count_cond})"
                )
            else:  # contacts
                assert plan is not None
                a = b.alias()
                page = plan_page(sort_keys(contact, None, a), page_args, b.params, b.max_page_size)
                cond = compile_filter(contact, rule.filter, a, b.params)
                inner = (
                    f"SELECT {a}.*, row_number() OVER (ORDER BY {page.order_sql}) AS _n"
                    f" FROM {contact.table} {a} WHERE {a}.workspace_id = $1"
                    f" AND {contact.live(a)} AND {cond} AND {page.where}"
                    f" ORDER BY {page.order_sql} LIMIT {page.limit}"
                )
                expr = (
                    f"(SELECT coalesce(json_agg({plan.sql(b, a)} ORDER BY {a}._n)"
                    f" FILTER (WHERE {a}._n <= {page.size}), '[]'::json) FROM ({inner}) {a})"
                )
            pairs.append(f"{values.literal(key)}, {expr}")
        return f"json_build_object({', '.join(pairs)})"


def plan_preview(
    planner: Planner, nodes: list[FieldNode], gql_field: Any, strawberry_field: Any
) -> Preview:
    type_ = planner._object_type(get_named_type(gql_field.type).name)
    fields: list[tuple[str, str, ObjectPlan | None]] = []
    for key, found in planner.collect(type_, [n.selection_set for n in nodes]).items():
        name = found[0].name.value
        plan = None
        if name != "__typename":
            planner._check(type_.name, name)
        if name == "contacts":
            plan = planner.entity_object(entity("Contact"), found)
        fields.append((key, name, plan))
    return Preview(Arguments(nodes[0], gql_field, strawberry_field), fields)
