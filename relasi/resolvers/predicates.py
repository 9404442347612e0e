"""The one predicate language: a filter input becomes one SQL condition.

Lists, relation connections (and later segment rules and subscription filters) compile their
filters here. A filter follows relations in both directions and any number of hops; to-many
relations take quantifiers (`some`, `none`, `every`) that become EXISTS / NOT EXISTS subqueries
correlated on indexed keys, so a filter is always one statement, never a per-row loop.

The filter is the tree `filter_form.parse` returns (the one checker of every filter): field
names of the entity's mapping hold operator objects (eq, ne, in_, not_in, gt, gte, lt, lte,
contains, starts_with, is_null), relation names hold nested filters, plus `and_`, `or_`, `not_`, `search`, `custom_attributes` and the
predicates other domains add to an entity (`model.extend`: a contact's behaviour, segments).
"""

from __future__ import annotations

import json
from typing import Any

from relasi.errors import Forbidden
from relasi.resolvers import filter_form, global_ids
from relasi.resolvers.model import Entity, Field, Kind, Relation, camel, entity

_ATTRIBUTE_OPS = ("eq", "ne", "in_", "gt", "gte", "lt", "lte", "exists")


class Params:
    """Collects bind values; each call returns the placeholder that will carry the value."""

    def __init__(self, *values: Any, pii: bool = True) -> None:
        self.values: list[Any] = list(values)
        self._aliases = 0
        self.pii = pii  # may the filter touch personal data (the caller has pii:read)

    def __call__(self, value: Any, sql_type: str | None = None) -> str:
        self.values.append(value)
        placeholder = f"${len(self.values)}"
        return f"{placeholder}::{sql_type}" if sql_type else placeholder

    def alias(self, prefix: str) -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"


def check_filter_values(flt: Any, path: list[str]) -> None:
    """Refuse a typed filter input with any problem (`filter_form.parse`) at its path (e.g.
    filter.account.name.contains), before anything is compiled or run."""
    if flt is not None:
        name = type(flt).__strawberry_definition__.name.removesuffix("Filter")
        filter_form.parse(name, filter_form.plain(flt), path)


def relation_source(rel: Relation, child: str, parent_key: str, workspace: str) -> str:
    """`FROM ... WHERE ...` of the targets of `rel` for one parent, aliased `child`.

    `parent_key` is the parent's id (to-many) or its foreign key (to-one), `workspace` the
    workspace expression; the caller appends further conditions with AND.
    """
    target = entity(rel.target)
    live = target.live(child)
    if rel.through is not None:
        link = rel.through
        la = f"{child}_l"
        return (
            f"FROM {link.table} {la} JOIN {target.table} {child}"
            f" ON {child}.workspace_id = {la}.workspace_id AND {child}.id = {la}.{link.far}"
            f" WHERE {la}.workspace_id = {workspace} AND {la}.{link.near} = {parent_key}"
            f" AND {live}"
        )
    key = "id" if rel.cardinality == "one" else rel.remote
    return (
        f"FROM {target.table} {child} WHERE {child}.workspace_id = {workspace}"
        f" AND {child}.{key} = {parent_key} AND {live}"
    )


def compile_filter(ent: Entity, flt: Any, alias: str, params: Params, depth: int = 0) -> str:
    """The SQL condition for `flt` over rows of `ent` aliased `alias` ("TRUE" if empty).

    `flt` is a parsed filter (`filter_form.parse`); a typed filter input is parsed first."""
    if flt is None:
        return "TRUE"
    if not isinstance(flt, filter_form.Node):
        flt = filter_form.parse(ent.name, filter_form.plain(flt), ["filter"])
    parts: list[str] = []
    for f in ent.fields:
        ops = getattr(flt, f.name, None)
        if ops is not None:
            if f.pii and not params.pii:
                raise Forbidden(f"Filtering by {camel(f.name)} needs the pii:read scope.")
            parts.extend(_field_conditions(ent, f, ops, alias, params))
    for rel in ent.relations:
        nested = getattr(flt, rel.name, None)
        if nested is not None:
            parts.append(_relation_condition(ent, rel, nested, alias, params, depth))
    search = getattr(flt, "search", None)
    if search:
        pattern = params(f"%{_escape_like(search.strip())}%", "text")
        searched = ent.search + (ent.pii_search if params.pii else ())
        parts.append("(" + " OR ".join(s.format(t=alias, p=pattern) for s in searched) + ")")
    for attr in getattr(flt, "custom_attributes", None) or ():
        parts.extend(_custom_attribute_conditions(attr, alias, params))
    for predicate in ent.predicates:  # added by other domains (model.extend)
        value = getattr(flt, predicate.name, None)
        if value is not None:
            parts.append(predicate.compile(value, alias, params, depth))
    for sub in getattr(flt, "and_", None) or ():
        parts.append(compile_filter(ent, sub, alias, params, depth + 1))
    any_of = getattr(flt, "or_", None)
    if any_of is not None:
        ors = [compile_filter(ent, sub, alias, params, depth + 1) for sub in any_of]
        parts.append("(" + " OR ".join(ors) + ")" if ors else "FALSE")
    negated = getattr(flt, "not_", None)
    if negated is not None:
        parts.append(f"(({compile_filter(ent, negated, alias, params, depth + 1)}) IS NOT TRUE)")
    return " AND ".join(parts) if parts else "TRUE"


def _relation_condition(
    ent: Entity, rel: Relation, nested: Any, alias: str, params: Params, depth: int
) -> str:
    child = params.alias(rel.target[:2].lower())
    target = entity(rel.target)
    if rel.cardinality == "one":
        source = relation_source(rel, child, f"{alias}.{rel.local}", f"{alias}.workspace_id")
        cond = compile_filter(target, nested, child, params, depth + 1)
        return f"EXISTS (SELECT 1 {source} AND {cond})"
    source = relation_source(rel, child, f"{alias}.id", f"{alias}.workspace_id")
    parts = []
    for quantifier in ("some", "none", "every"):
        sub = getattr(nested, quantifier, None)
        if sub is None:
            continue
        cond = compile_filter(target, sub, child, params, depth + 1)
        if quantifier == "some":
            parts.append(f"EXISTS (SELECT 1 {source} AND {cond})")
        elif quantifier == "none":
            parts.append(f"NOT EXISTS (SELECT 1 {source} AND {cond})")
        else:
            parts.append(f"NOT EXISTS (SELECT 1 {source} AND ({cond}) IS NOT TRUE)")
    return " AND ".join(parts) if parts else "TRUE"


def _bind_value(f: Field, value: Any, params: Params) -> str:
    return params(_python_value(f, value), f.kind.sql_type)


def _python_value(f: Field, value: Any) -> Any:
    if f.kind is Kind.ID:  # checked by the parser: a global id of the field's target
        return global_ids.decode_any(value)[1]
    if f.kind is Kind.STRING and f.lowercase:
        return value.lower()
    return value


def _field_conditions(ent: Entity, f: Field, ops: Any, alias: str, params: Params) -> list[str]:
    positive: list[str] = []  # conditions on the value
    negative: list[str] = []  # conditions whose negation is wanted (ne, not_in)
    value_expr = "i.value" if f.exists else f.expr(alias)
    array_type = f"{f.kind.sql_type}[]"

    eq = getattr(ops, "eq", None)
    if eq is not None:
        positive.append(f"{value_expr} = {_bind_value(f, eq, params)}")
    ne = getattr(ops, "ne", None)
    if ne is not None:
        negative.append(f"{value_expr} = {_bind_value(f, ne, params)}")
    values = getattr(ops, "in_", None)
    if values is not None:
        bound = params([_python_value(f, v) for v in values], array_type)
        positive.append(f"{value_expr} = ANY({bound})")
    values = getattr(ops, "not_in", None)
    if values is not None:
        bound = params([_python_value(f, v) for v in values], array_type)
        negative.append(f"{value_expr} = ANY({bound})")
    for op, sql_op in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
        bound_value = getattr(ops, op, None)
        if bound_value is not None:
            positive.append(f"{value_expr} {sql_op} {_bind_value(f, bound_value, params)}")
    contains = getattr(ops, "contains", None)
    if contains is not None:
        positive.append(f"{value_expr} ILIKE {params(f'%{_escape_like(contains)}%', 'text')}")
    starts = getattr(ops, "starts_with", None)
    if starts is not None:
        positive.append(f"{value_expr} ILIKE {params(f'{_escape_like(starts)}%', 'text')}")
    is_null = getattr(ops, "is_null", None)

    if f.exists:
        source = f.exists.format(t=alias)
        out = [f"EXISTS (SELECT 1 {source} AND {c})" for c in positive]
        out += [f"NOT EXISTS (SELECT 1 {source} AND {c})" for c in negative]
        if is_null is not None:
            out.append(f"{'NOT ' if is_null else ''}EXISTS (SELECT 1 {source})")
        return out
    out = positive
    # a NULL is "not equal" to any value: ne / not_in keep rows where the field is unset
    out += [f"({value_expr} IS NULL OR NOT ({c}))" for c in negative]
    if is_null is not None:
        out.append(f"{value_expr} IS {'' if is_null else 'NOT '}NULL")
    return out


def _custom_attribute_conditions(attr: Any, alias: str, params: Params) -> list[str]:
    if all(getattr(attr, op, None) is None for op in _ATTRIBUTE_OPS):
        return []  # only a key (`eq: null` is no operator): no condition, no unused parameter
    column = f"{alias}.custom_attributes"
    key = params(attr.key, "text")
    value_at = f"({column} -> {key})"
    out = []
    if attr.eq is not None:
        # containment uses the GIN index on custom_attributes
        out.append(f"{column} @> jsonb_build_object({key}, {params(attr.eq, 'jsonb')})")
    if attr.ne is not None:
        out.append(f"NOT ({column} @> jsonb_build_object({key}, {params(attr.ne, 'jsonb')}))")
    if attr.in_ is not None:
        # as JSON texts: asyncpg would read a JSON array among the values as an array dimension
        texts = [json.dumps(v) for v in attr.in_]
        out.append(f"{value_at} = ANY({params(texts, 'text[]')}::jsonb[])")
    for op, sql_op in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
        bound = getattr(attr, op, None)
        if bound is not None:
            p = params(bound, "jsonb")
            # jsonb orders values of different types by type first; compare like with like
            out.append(
                f"(jsonb_typeof({value_at}) = jsonb_typeof({p}) AND {value_at} {sql_op} {p})"
            )
    if attr.exists is not None:
        out.append(f"{'' if attr.exists else 'NOT '}({column} ? {key})")
    return out


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
