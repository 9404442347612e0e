"""Planning: a validated query operation -> a tree of `Plan`s that writes one SQL statement.

The planner reads the storage mapping (`resolvers/model.py`): a plain attribute field of an
entity's type is the column of the same name, a field named like a relation follows it, and
`Entity.outputs` say how the computed fields are produced. Anything else — a type or field it
does not know, a permission the caller lacks (the resolvers report those errors), a directive
other than @skip/@include — raises `Unsupported`, and the resolvers answer.

A plan depends on the document, the caller's scopes and the @skip/@include conditions only;
argument values (filters, pages, cursors) are read when the statement is written (`Bind`),
so one plan serves every value of a document's variables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.permission import PermissionExtension
from strawberry.types.arguments import convert_arguments

from relasi.auth.permissions import PUBLIC, RequireScope
from relasi.auth.principal import Principal
from relasi.compiler import values
from relasi.compiler.errors import Unsupported
from relasi.resolvers.model import EXTENSIONS, Entity, Output, Relation, entity
from relasi.resolvers.predicates import Params, compile_filter, relation_source

# the types whose every field the planner can map (others: the resolvers)
COVERED_TYPES = frozenset(
    {"Contact", "Account", "Deal", "Case", "Interaction", "Member", "PipelineStage", "Pipeline"}
)
ROOT_LOOKUPS = {
    "contact": "Contact",
    "account": "Account",
    "deal": "Deal",
    "case": "Case",
    "interaction": "Interaction",
}
ROOT_LISTS = {
    "contacts": "Contact",
    "accounts": "Account",
    "deals": "Deal",
    "cases": "Case",
    "interactions": "Interaction",
}
MAX_KEYS = 50  # json_build_object takes at most 100 arguments


@dataclass
class Bind:
    """One request's writing of a plan: its parameters ($1 is the workspace) and aliases."""

    schema: strawberry.Schema
    principal: Principal
    variables: VariableValues
    max_page_size: int
    params: Params
    found: list[str] = field(default_factory=list)  # conditions: each root lookup found a row
    _aliases: int = 0

    def alias(self) -> str:
        self._aliases += 1
        return f"q{self._aliases}"

    def arguments(self, owner: str, node: FieldNode, gql_field: Any) -> dict[str, Any]:
        """The field's arguments as its resolver receives them (strawberry inputs)."""
        try:
            raw = get_argument_values(gql_field, node, self.variables)
        except GraphQLError as e:
            raise Unsupported("arguments") from e
        strawberry_field = self.schema.get_field_for_type(node.name.value, owner)
        return convert_arguments(
            raw,
            strawberry_field.arguments,
            scalar_registry=self.schema.schema_converter.scalar_registry,
            config=self.schema.config,
        )


class Plan:
    def sql(self, b: Bind, alias: str) -> str:
        """A SQL expression for this field's JSON value, for the row aliased `alias`."""
        raise NotImplementedError


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
class RootLookup(Plan):
    ent: Entity
    node: FieldNode
    gql_field: Any
    target: ObjectPlan

    def sql(self, b: Bind, alias: str) -> str:
        from relasi.errors import AppError
        from relasi.resolvers import global_ids

        args = b.arguments("Query", self.node, self.gql_field)
        try:
            pk = global_ids.decode(args["id"], self.ent.name)
        except AppError as e:  # malformed or of another type: the resolver's error
            raise Unsupported("lookup id") from e
        x = b.alias()
        where = (
            f"FROM {self.ent.table} {x} WHERE {x}.workspace_id = $1"
            f" AND {x}.id = {b.params(pk, 'uuid')} AND {self.ent.live(x)}"
        )
        b.found.append(f"EXISTS (SELECT 1 {where})")  # else NOT_FOUND: the resolver says it
        return f"(SELECT {self.target.sql(b, x)} {where})"


class Planner:
    def __init__(
        self,
        schema: strawberry.Schema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        principal: Principal,
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.gql = schema._schema
        self.operation = operation
        self.principal = principal
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        if not values.ENUMS:
            values.ENUMS.update(
                name for name, t in self.gql.type_map.items() if isinstance(t, GraphQLEnumType)
            )

    # -- selections -------------------------------------------------------------------------

    def _included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise Unsupported(f"@{name}")
            arg = directive.arguments[0].value
            if isinstance(arg, BooleanValueNode):
                value = arg.value
            elif isinstance(arg, VariableNode):
                value = self.variables.get(arg.name.value)
            else:
                raise Unsupported("directive argument")
            if value is not True and value is not False:
                raise Unsupported("directive argument")
            if value == (name == "skip"):
                return False
        return True

    def _applies(self, condition: str | None, type_: GraphQLObjectType) -> bool:
        return (
            condition is None
            or condition == type_.name
            or any(i.name == condition for i in type_.interfaces)
        )

    def collect(
        self, type_: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode | None]
    ) -> dict[str, list[FieldNode]]:
        """Fields by response key, with fragments expanded and @skip/@include applied."""
        found: dict[str, list[FieldNode]] = {}

        def walk(selection_set: SelectionSetNode | None) -> None:
            for node in selection_set.selections if selection_set else ():
                if not self._included(node):
                    continue
                if isinstance(node, FieldNode):
                    key = node.alias.value if node.alias else node.name.value
                    found.setdefault(key, []).append(node)
                elif isinstance(node, InlineFragmentNode):
                    condition = node.type_condition.name.value if node.type_condition else None
                    if self._applies(condition, type_):
                        walk(node.selection_set)
                elif isinstance(node, FragmentSpreadNode):
                    fragment = self.fragments[node.name.value]
                    if fragment.variable_definitions:
                        raise Unsupported("fragment variables")
                    if self._applies(fragment.type_condition.name.value, type_):
                        walk(fragment.selection_set)

        for selection_set in selection_sets:
            walk(selection_set)
        if len(found) > MAX_KEYS:
            raise Unsupported("too many fields in one object")
        return found

    def _check(self, type_name: str, name: str) -> Any:
        """The strawberry field, if the caller may read it (else the resolver's error)."""
        strawberry_field = self.schema.get_field_for_type(name, type_name)
        if strawberry_field is None:
            raise Unsupported(f"{type_name}.{name}")
        for extension in strawberry_field.extensions:
            if not isinstance(extension, PermissionExtension):
                raise Unsupported(f"extension on {type_name}.{name}")
            for permission in extension.permissions:
                if not isinstance(permission, RequireScope) or not (
                    permission.scope == PUBLIC or self.principal.has(permission.scope)
                ):
                    raise Unsupported(f"permission on {type_name}.{name}")
        return strawberry_field

    def _object_type(self, name: str) -> GraphQLObjectType:
        type_ = self.gql.get_type(name)
        if not isinstance(type_, GraphQLObjectType):
            raise Unsupported(f"abstract type {name}")
        return type_

    # -- plans ------------------------------------------------------------------------------

    def root(self) -> list[tuple[str, Plan]]:
        query = self.gql.query_type
        plans: list[tuple[str, Plan]] = []
        for key, nodes in self.collect(query, [self.operation.selection_set]).items():
            name = nodes[0].name.value
            if name == "__typename":
                plans.append((key, Const("'Query'")))
                continue
            self._check("Query", name)
            gql_field = query.fields[name]
            if name in ROOT_LOOKUPS:
                ent = entity(ROOT_LOOKUPS[name])
                target = self.entity_object(ent, nodes)
                plans.append((key, RootLookup(ent, nodes[0], gql_field, target)))
            elif name in ROOT_LISTS:
                ent = entity(ROOT_LISTS[name])
                plans.append((key, self.connection("Query", ent, None, nodes, gql_field)))
            else:
                raise Unsupported(f"Query.{name}")
        return plans

    def entity_object(self, ent: Entity, nodes: list[FieldNode]) -> ObjectPlan:
        if ent.name not in COVERED_TYPES:
            raise Unsupported(ent.name)
        type_ = self._object_type(ent.name)
        plans: list[tuple[str, Plan]] = []
        for key, fields in self.collect(type_, [n.selection_set for n in nodes]).items():
            plans.append((key, self.entity_field(ent, type_, fields)))
        return ObjectPlan(plans)

    def entity_field(self, ent: Entity, type_: GraphQLObjectType, nodes: list[FieldNode]) -> Plan:
        name = nodes[0].name.value
        if name == "__typename":
            return Const(values.literal(ent.name))
        strawberry_field = self._check(ent.name, name)
        gql_field = type_.fields[name]
        named = get_named_type(gql_field.type)
        if name == "id":
            return GlobalId(ent.name)
        output = ent.output(name)
        if output is not None:
            return self.output(output, named, nodes)
        relation = ent.find_relation(name)
        if relation is not None and strawberry_field.base_resolver is not None:
            if relation in EXTENSIONS.get(ent.name, _NO_EXTENSION).relations:
                raise Unsupported(f"{ent.name}.{name}")  # another domain's (segments)
            if relation.cardinality == "one":
                target = self.entity_object(entity(relation.target), nodes)
                return ToOne(relation, target)
            if not named.name.endswith("Connection"):
                raise Unsupported(f"{ent.name}.{name}")
            return self.connection(ent.name, entity(relation.target), relation, nodes, gql_field)
        if strawberry_field.base_resolver is None and gql_field.args == {}:
            return Column(f"{{t}}.{strawberry_field.python_name}", named.name)
        raise Unsupported(f"{ent.name}.{name}")

    def output(self, output: Output, named: Any, nodes: list[FieldNode]) -> Plan:
        if output.sql:
            return Column(output.sql, named.name, output.mask)
        if output.money is not None:
            money_type = self._object_type(named.name)
            keys = []
            for key, fields in self.collect(money_type, [n.selection_set for n in nodes]).items():
                sub = fields[0].name.value
                if sub != "__typename":
                    self._check(named.name, sub)
                keys.append((key, sub))
            return MoneyPlan(*output.money, keys)
        item_type = self._object_type(named.name)
        columns = dict(output.fields)
        plans: list[tuple[str, Plan]] = []
        for key, fields in self.collect(item_type, [n.selection_set for n in nodes]).items():
            sub = fields[0].name.value
            if sub == "__typename":
                plans.append((key, Const(values.literal(named.name))))
                continue
            self._check(named.name, sub)
            if sub not in columns:
                raise Unsupported(f"{named.name}.{sub}")
            template = columns[sub].replace("{i}", "{t}") if output.rows else columns[sub]
            sub_type = get_named_type(item_type.fields[sub].type).name
            mask = output.mask if sub == output.mask_field else None
            plans.append((key, Column(template, sub_type, mask)))
        item = ObjectPlan(plans)
        if output.rows:
            return Rows(output.rows, output.order, item)
        return item

    def connection(
        self,
        owner: str,
        target: Entity,
        relation: Relation | None,
        nodes: list[FieldNode],
        gql_field: Any,
    ) -> Connection:
        if target.name not in COVERED_TYPES:
            raise Unsupported(target.name)
        connection_type = self._object_type(get_named_type(gql_field.type).name)
        parts: list[tuple[str, str, Any]] = []
        for key, fields in self.collect(connection_type, [n.selection_set for n in nodes]).items():
            name = fields[0].name.value
            if name == "__typename":
                parts.append((key, "const", values.literal(connection_type.name)))
                continue
            self._check(connection_type.name, name)
            if name == "nodes":
                parts.append((key, "nodes", self.entity_object(target, fields)))
            elif name == "totalCount":
                parts.append((key, "totalCount", None))
            elif name == "pageInfo":
                parts.append((key, "pageInfo", self.page_info(fields)))
            elif name == "edges":
                edge_type = get_named_type(connection_type.fields["edges"].type)
                parts.append((key, "edges", self.edge(edge_type, target, relation, fields)))
            else:
                raise Unsupported(f"{connection_type.name}.{name}")
        return Connection(owner, target, relation, nodes[0], gql_field, parts)

    def page_info(self, nodes: list[FieldNode]) -> list[tuple[str, str]]:
        type_ = self._object_type("PageInfo")
        keys = []
        for key, fields in self.collect(type_, [n.selection_set for n in nodes]).items():
            name = fields[0].name.value
            if name != "__typename":
                self._check("PageInfo", name)
            keys.append((key, name))
        return keys

    def edge(
        self, edge_type: Any, target: Entity, relation: Relation | None, nodes: list[FieldNode]
    ) -> list[tuple[str, str, Any]]:
        links = relation.through.columns if relation and relation.through else ()
        parts: list[tuple[str, str, Any]] = []
        for key, fields in self.collect(edge_type, [n.selection_set for n in nodes]).items():
            name = fields[0].name.value
            if name == "__typename":
                parts.append((key, "const", values.literal(edge_type.name)))
                continue
            strawberry_field = self._check(edge_type.name, name)
            if name == "cursor":
                parts.append((key, "cursor", None))
            elif name == "node":
                parts.append((key, "node", self.entity_object(target, fields)))
            elif strawberry_field.python_name in links:
                sub_type = get_named_type(edge_type.fields[name].type).name
                column = f"{{t}}._link_{strawberry_field.python_name}"
                parts.append((key, "link", Column(column, sub_type)))
            else:
                raise Unsupported(f"{edge_type.name}.{name}")
        return parts


@dataclass
class _NoExtension:
    relations: tuple = ()


_NO_EXTENSION = _NoExtension()


@dataclass
class Connection(Plan):
    """A keyset page as `resolvers/loaders.py` reads it (root_page / relation_page), with its
    edges, cursors, pageInfo and totalCount built in SQL."""

    owner: str  # the GraphQL type the field is on (its arguments' owner)
    target: Entity
    relation: Relation | None  # None: a root list
    node: FieldNode
    gql_field: Any
    parts: list[tuple[str, str, Any]]

    def _source(self, alias: str, parent: str) -> str:
        if self.relation is None:
            return (
                f"FROM {self.target.table} {alias} WHERE {alias}.workspace_id = $1"
                f" AND {self.target.live(alias)}"
            )
        return relation_source(self.relation, alias, f"{parent}.id", "$1")

    def sql(self, b: Bind, parent: str) -> str:
        from relasi.errors import AppError
        from relasi.resolvers.pagination import (
            key_columns,
            list_fingerprint,
            plan_page,
            sort_keys,
        )
        from relasi.schema.relay import order_specs, page_args

        kwargs = b.arguments(self.owner, self.node, self.gql_field)
        flt = kwargs.get("filter")
        a = b.alias()
        try:
            order = order_specs(kwargs.get("order_by"))
            keys = sort_keys(self.target, order, a)
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
        inner = (
            f"SELECT {a}.*{link_columns}, {key_columns(keys)},"
            f" row_number() OVER (ORDER BY {page.order_sql}) AS _n"
            f" {self._source(a, parent)} AND {cond} AND {page.where}"
            f" ORDER BY {page.order_sql} LIMIT {page.limit}"
        )
        forward, backward = f"ORDER BY {a}._n", f"ORDER BY {a}._n DESC"
        order, reverse = (backward, forward) if page.backwards else (forward, backward)
        in_page = f"FILTER (WHERE {a}._n <= {page.size})"
        more = f"count(*) > {page.size}"
        cursor = None

        def cursor_sql() -> str:
            nonlocal cursor
            if cursor is None:
                cursor = values.cursor(
                    page.fingerprint, [(f"{a}._k{i}", k.sql_type) for i, k in enumerate(keys)]
                )
            return cursor

        pairs = []
        for key, kind, payload in self.parts:
            if kind == "const":
                expr = payload
            elif kind == "nodes":
                expr = f"coalesce(json_agg({payload.sql(b, a)} {order}) {in_page}, '[]'::json)"
            elif kind == "edges":
                edge = []
                for edge_key, edge_kind, edge_payload in payload:
                    if edge_kind == "const":
                        value = edge_payload
                    elif edge_kind == "cursor":
                        value = cursor_sql()
                    else:  # node, link
                        value = edge_payload.sql(b, a)
                    edge.append(f"{values.literal(edge_key)}, {value}")
                expr = (
                    f"coalesce(json_agg(json_build_object({', '.join(edge)}) {order}) {in_page},"
                    " '[]'::json)"
                )
            elif kind == "pageInfo":
                has_next = _bool(page.before is not None) if page.backwards else more
                has_previous = more if page.backwards else _bool(page.after is not None)
                info = {
                    "hasNextPage": has_next,
                    "hasPreviousPage": has_previous,
                    "__typename": "'PageInfo'",
                }
                items = []
                for info_key, name in payload:
                    if name == "startCursor":
                        value = f"(array_agg({cursor_sql()} {order}) {in_page})[1]"
                    elif name == "endCursor":
                        value = f"(array_agg({cursor_sql()} {reverse}) {in_page})[1]"
                    else:
                        value = info[name]
                    items.append(f"{values.literal(info_key)}, {value}")
                expr = f"json_build_object({', '.join(items)})"
            else:  # totalCount: as loaders.root_count / relation_count
                c = b.alias()
                count_cond = compile_filter(self.target, flt, c, b.params)
                expr = f"(SELECT count(*) {self._source(c, parent)} AND {count_cond})"
            pairs.append(f"{values.literal(key)}, {expr}")
        # GROUP BY (): one row, also when only totalCount is selected (no aggregate of rows)
        return f"(SELECT json_build_object({', '.join(pairs)}) FROM ({inner}) {a} GROUP BY ())"


def _bool(value: bool) -> str:
    return "true" if value else "false"
