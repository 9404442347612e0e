"""The plan's nodes: each writes the SQL expression of one field's JSON value for a row alias,
reading argument values (filters, pages, cursors) from the request's `Bind`.

A connection is read as `resolvers/loaders.py` reads it (root_page, relation_page and their
counts) — the same predicate compiler and keyset rules — with its edges, cursors, pageInfo and
totalCount built in SQL. Bad arguments raise `Unsupported`, so the resolvers give their errors.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    GraphQLError,
    ListValueNode,
    ObjectValueNode,
    ValueNode,
    VariableNode,
)
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.types.arguments import convert_arguments

from relasi.auth.principal import Principal
from relasi.compiler import values
from relasi.compiler.errors import Unsupported
from relasi.compiler.pages import page_json, page_rows
from relasi.errors import AppError
from relasi.resolvers import global_ids
from relasi.resolvers.model import Entity, Relation
from relasi.resolvers.pagination import (
    key_columns,
    list_fingerprint,
    plan_page,
    sort_keys,
)
from relasi.resolvers.predicates import (
    Params,
    check_filter_values,
    compile_filter,
    relation_source,
)

# a root field's found condition read off its own value (a lookup's object is null exactly
# when no row matched), so the row is not looked up twice
FOUND = "{value} IS NOT NULL"


@dataclass
class Bind:
    """One request's writing of a plan: its parameters ($1 is the workspace) and aliases."""

    schema: strawberry.Schema
    principal: Principal
    variables: VariableValues
    max_page_size: int
    params: Params
    # conditions: each root lookup found a row (FOUND: the root field's value is not null)
    found: list[str] = field(default_factory=list)
    _aliases: int = 0

    def alias(self) -> str:
        self._aliases += 1
        return f"q{self._aliases}"


@dataclass
class Arguments:
    """A field's arguments as its resolver receives them (strawberry inputs). Written as
    literals in the document, they are converted once, by the first request (converting is
    a good part of a request's Python time); the inputs are only ever read."""

    node: FieldNode
    gql_field: Any
    strawberry_field: Any
    _constant: dict[str, Any] | None = None

    def raw(self, b: Bind) -> dict[str, Any]:
        try:
            return get_argument_values(self.gql_field, self.node, b.variables)
        except GraphQLError as e:
            raise Unsupported("arguments") from e

    def read(self, b: Bind) -> dict[str, Any]:
        if self._constant is not None:
            return self._constant
        try:
            converted = convert_arguments(
                self.raw(b),
                self.strawberry_field.arguments,
                scalar_registry=b.schema.schema_converter.scalar_registry,
                config=b.schema.config,
            )
        except (ValueError, TypeError) as e:
            raise Unsupported("arguments") from e
        if not any(_has_variable(a.value) for a in self.node.arguments or ()):
            self._constant = converted
        return converted


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(f.value) for f in value.fields)
    return False


class Plan(ABC):
    @abstractmethod
    def sql(self, b: Bind, alias: str) -> str:
        """A SQL expression for this field's JSON value, for the row aliased `alias`."""


def json_object(b: Bind, alias: str, fields: list[tuple[str, Plan]]) -> str:
    pairs = ", ".join(f"{values.literal(key)}, {plan.sql(b, alias)}" for key, plan in fields)
    return f"json_build_object({pairs})"


@dataclass
class Const(Plan):
    value: str  # SQL

    def sql(self, b: Bind, alias: str) -> str:
        return self.value


@dataclass
class Column(Plan):
    template: str  # over {t}
    type_name: str
    mask: str | None = None

    def sql(self, b: Bind, alias: str) -> str:
        expr = self.template.format(t=alias)
        if self.mask and not b.principal.has("pii:read"):
            expr = values.mask(expr, self.mask)
        return values.scalar(expr, self.type_name)


@dataclass
class GlobalId(Plan):
    type_name: str

    def sql(self, b: Bind, alias: str) -> str:
        return values.global_id(self.type_name, f"{alias}.id")


@dataclass
class ObjectPlan(Plan):
    fields: list[tuple[str, Plan]]

    def sql(self, b: Bind, alias: str) -> str:
        return json_object(b, alias, self.fields)


@dataclass
class MoneyPlan(Plan):
    amount: str
    currency: str
    fields: list[tuple[str, str]]  # (response key, "amount" | "currency" | "__typename")

    def sql(self, b: Bind, alias: str) -> str:
        amount, currency = f"{alias}.{self.amount}", f"{alias}.{self.currency}"
        parts = {
            "amount": values.money_amount(amount, currency),
            "currency": currency,
            "__typename": "'Money'",
        }
        pairs = ", ".join(f"{values.literal(k)}, {parts[name]}" for k, name in self.fields)
        return f"CASE WHEN {amount} IS NULL THEN NULL ELSE json_build_object({pairs}) END"


@dataclass
class Rows(Plan):
    """A list of small objects read from rows of another table (a contact's emails)."""

    rows: str  # FROM ... WHERE ... over {t} and {i}
    order: str
    item: ObjectPlan

    def sql(self, b: Bind, alias: str) -> str:
        i = b.alias()
        source = self.rows.format(t=alias, i=i)
        return (
            f"coalesce((SELECT json_agg({self.item.sql(b, i)} ORDER BY {self.order.format(i=i)})"
            f" {source}), '[]'::json)"
        )


@dataclass
class ToOne(Plan):
    relation: Relation
    target: ObjectPlan

    def sql(self, b: Bind, alias: str) -> str:
        x = b.alias()
        source = relation_source(self.relation, x, f"{alias}.{self.relation.local}", "$1")
        return f"(SELECT {self.target.sql(b, x)} {source})"


@dataclass
class RelationList(Plan):
    """An unpaged to-many relation (a GraphQL list), in the relation's `order`."""

    relation: Relation
    target: ObjectPlan

    def sql(self, b: Bind, alias: str) -> str:
        x = b.alias()
        source = relation_source(self.relation, x, f"{alias}.id", "$1")
        order = self.relation.order.format(t=x)
        return (
            f"coalesce((SELECT json_agg({self.target.sql(b, x)} ORDER BY {order}) {source}),"
            " '[]'::json)"
        )


@dataclass
class RootLookup(Plan):
    ent: Entity
    arguments: Arguments
    target: ObjectPlan

    def sql(self, b: Bind, alias: str) -> str:
        args = self.arguments.raw(b)  # an ID: nothing to convert
        try:
            pk = global_ids.decode(args["id"], self.ent.name)
        except AppError as e:  # malformed or of another type: the resolver's error
            raise Unsupported("lookup id") from e
        x = b.alias()
        where = (
            f"FROM {self.ent.table} {x} WHERE {x}.workspace_id = $1"
            f" AND {x}.id = {b.params(pk, 'uuid')} AND {self.ent.live(x)}"
        )
        b.found.append(FOUND)  # else NOT_FOUND: the resolver says it
        return f"(SELECT {self.target.sql(b, x)} {where})"


@dataclass
class Connection(Plan):
    """A keyset page as `resolvers/loaders.py` reads it (root_page / relation_page), with its
    edges, cursors, pageInfo and totalCount built in SQL."""

    target: Entity
    relation: Relation | None  # None: a root list
    arguments: Arguments
    parts: list[tuple[str, str, Any]]

    def _source(self, alias: str, parent: str) -> str:
        if self.relation is None:
            return (
                f"FROM {self.target.table} {alias} WHERE {alias}.workspace_id = $1"
                f" AND {self.target.live(alias)}"
            )
        return relation_source(self.relation, alias, f"{parent}.id", "$1")

    def sql(self, b: Bind, parent: str) -> str:
        from relasi.schema.relay import order_specs, page_args  # relasi.schema imports us

        kwargs = self.arguments.read(b)
        flt = kwargs.get("filter")
        a = b.alias()
        try:
            order = order_specs(kwargs.get("order_by"))
            keys = sort_keys(self.target, order, a)
            check_filter_values(flt, ["filter"])  # over-long values: the resolvers refuse them
            cond = compile_filter(self.target, flt, a, b.params)
            args = page_args(
                kwargs.get("first"), kwargs.get("after"), kwargs.get("last"), kwargs.get("before")
            )
            # a cursor names its ordering as the loaders write it (their alias: t or c)
            loader_keys = sort_keys(self.target, order, "t" if self.relation is None else "c")
            fingerprint = list_fingerprint("|".join(k.order_sql() for k in loader_keys))
            page = plan_page(keys, args, b.params, b.max_page_size, fingerprint)
        except AppError as e:  # bad arguments: the resolver's error, at the resolver's path
            raise Unsupported("arguments") from e
        links = self.relation.through.columns if self.relation and self.relation.through else ()
        link_columns = "".join(f", {a}_l.{c} AS _link_{c}" for c in links)
        number, limit = page_rows(page, self.parts, page.order_sql)
        inner = (
            f"SELECT {a}.*{link_columns}, {key_columns(keys)}{number}"
            f" {self._source(a, parent)} AND {cond} AND {page.where}"
            f" ORDER BY {page.order_sql} LIMIT {limit}"
        )

        def total() -> str:  # as loaders.root_count / relation_count
            c = b.alias()
            count_cond = compile_filter(self.target, flt, c, b.params)
            return f"(SELECT count(*) {self._source(c, parent)} AND {count_cond})"

        sql = page_json(b, a, page, keys, self.parts, inner, total, numbered=bool(number))
        return sql.replace(f"SELECT {a}.*", f"SELECT {_read_columns(sql, a)}", 1)


def _read_columns(sql: str, a: str) -> str:
    """The columns of the rows aliased `a` that `sql` reads: a page's rows carry only those
    (every column of a wide row costs PostgreSQL a copy), or all when a whole row is read."""
    if re.search(rf"[(,]\s*{a}\s*[),]", sql):
        return f"{a}.*"
    names = dict.fromkeys(n for n in re.findall(rf"\b{a}\.(\w+)", sql) if not n.startswith("_"))
    return ", ".join(f"{a}.{n}" for n in names) or f"{a}.id"


@dataclass
class NodeLookup(Plan):
    """`node(id:)`, or `nodes(ids:)` (`many`): the object of whichever type each id names, as
    `schema/node.py` answers it — null for an id of no Node type or of no live row in this
    workspace. An id the resolver refuses (malformed, of a type the caller may not read) or of
    a type without a plan (`targets`) raises `Unsupported`: the resolvers give their error."""

    arguments: Arguments
    node_types: frozenset[str]
    targets: dict[str, tuple[Entity, ObjectPlan]]
    many: bool

    def sql(self, b: Bind, alias: str) -> str:
        from relasi.schema.node import MAX_IDS  # relasi.schema imports us

        args = self.arguments.raw(b)
        if not self.many:
            return self._one(b, args["id"])
        if len(args["ids"]) > MAX_IDS:
            raise Unsupported("too many ids")
        return f"json_build_array({', '.join(self._one(b, i) for i in args['ids'])})"

    def _one(self, b: Bind, global_id: str) -> str:
        try:
            type_name, pk = global_ids.decode_any(global_id)
        except AppError as e:
            raise Unsupported("node id") from e
        if type_name not in self.node_types:
            return "NULL::json"
        if type_name not in self.targets:
            raise Unsupported(f"node of type {type_name}")
        ent, target = self.targets[type_name]
        x = b.alias()
        return (
            f"(SELECT {target.sql(b, x)} FROM {ent.table} {x} WHERE {x}.workspace_id = $1"
            f" AND {x}.id = {b.params(pk, 'uuid')} AND {ent.live(x)})"
        )
