"""Planning: a validated query operation -> a tree of `Plan`s that writes one SQL statement.

The planner reads the storage mapping (`resolvers/model.py`): a plain attribute field of an
entity's type is the column of the same name, a field named like a relation follows it, and
`Entity.outputs` say how the computed fields are produced. Anything else — a type or field it
does not know, a permission the caller lacks (the resolvers report those errors), a directive
other than @skip/@include — raises `Unsupported`, and the resolvers answer that root field
(`Root.rest`); the others are still compiled.

A plan depends on the document, the caller's scopes and the @skip/@include conditions only;
argument values (filters, pages, cursors) are read when the statement is written (`Bind`),
so one plan serves every value of a document's variables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from strawberry.permission import PermissionExtension

from relasi.auth.permissions import PUBLIC, RequireScope, can_read_type
from relasi.auth.principal import Principal
from relasi.compiler import values
from relasi.compiler.caller import plan_me
from relasi.compiler.changes import plan_changes
from relasi.compiler.coverage import COVERED_TYPES, ROOT_LISTS, ROOT_LOOKUPS
from relasi.compiler.errors import Unsupported
from relasi.compiler.introspection import Introspection
from relasi.compiler.journeys import plan_journey
from relasi.compiler.nodes import (
    Arguments,
    Column,
    Connection,
    Const,
    GlobalId,
    MoneyPlan,
    NodeLookup,
    ObjectPlan,
    Plan,
    RelationList,
    RootLookup,
    Rows,
    ToOne,
)
from relasi.compiler.segments import Rule, plan_preview, plan_size_history
from relasi.compiler.timelines import (
    OWNERS,
    When,
    actor_plan,
    plan_stage_history,
    plan_timeline,
)
from relasi.compiler.webhooks import plan_webhooks
from relasi.resolvers.model import Entity, Output, Relation, entity

MAX_KEYS = 50  # json_build_object takes at most 100 arguments
log = logging.getLogger("relasi.compiler")


@dataclass
class Root:
    """An operation's root fields: (response key, field nodes) in document order, the
    compiled ones' `plans`, and the keys of the `rest`, which the resolvers answer."""

    fields: list[tuple[str, list[FieldNode]]]
    plans: list[tuple[str, Plan]]
    rest: list[str]

    @property
    def keys(self) -> list[str]:
        return [key for key, _ in self.fields]


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

    def root(self) -> Root:
        """Each root field's plan; a root field the compiler does not cover is left to the
        resolvers (`Root.rest`), unless none is covered: then the whole operation is."""
        query = self.gql.query_type
        root = Root([], [], [])
        for key, nodes in self.collect(query, [self.operation.selection_set]).items():
            root.fields.append((key, nodes))
            try:
                root.plans.append((key, self.root_field(query, nodes)))
            except Unsupported as e:
                log.debug("resolvers answer %s: %s", key, e)
                root.rest.append(key)
        if all(isinstance(plan, Const) for _, plan in root.plans) and root.rest:
            raise Unsupported("no root field that reads")  # a statement would add nothing
        return root

    def root_field(self, query: GraphQLObjectType, nodes: list[FieldNode]) -> Plan:
        from relasi.schema.executor import INTROSPECTION_FIELDS  # relasi.schema imports us

        name = nodes[0].name.value
        if name == "__typename":
            return Const("'Query'")
        if name in INTROSPECTION_FIELDS:
            key = nodes[0].alias.value if nodes[0].alias else name
            return Introspection(key, nodes, self.operation, list(self.fragments.values()))
        strawberry_field = self._check("Query", name)
        gql_field = query.fields[name]
        if name in ROOT_LOOKUPS:
            ent = entity(ROOT_LOOKUPS[name])
            target = self.entity_object(ent, nodes)
            return RootLookup(ent, Arguments(nodes[0], gql_field, strawberry_field), target)
        if name in ROOT_LISTS:
            return self.connection("Query", entity(ROOT_LISTS[name]), None, nodes, gql_field)
        if name == "me":
            return plan_me(self, nodes, gql_field)
        if name == "changes":
            return plan_changes(self, nodes, gql_field, strawberry_field)
        if name == "previewSegment":
            return plan_preview(self, nodes, gql_field, strawberry_field)
        if name in ("webhookEndpoint", "webhookEndpoints", "webhookDeliveries"):
            return plan_webhooks(self, nodes, gql_field, strawberry_field)
        if name in ("node", "nodes"):
            arguments = Arguments(nodes[0], gql_field, strawberry_field)
            node_types = self.gql.get_possible_types(self.gql.get_type("Node"))
            names = frozenset(t.name for t in node_types)
            return NodeLookup(arguments, names, self.node_targets(names, nodes), name == "nodes")
        raise Unsupported(f"Query.{name}")

    def node_targets(
        self, names: frozenset[str], nodes: list[FieldNode]
    ) -> dict[str, tuple[Entity, ObjectPlan]]:
        """The plan of the selection for each Node type the caller may read that it covers."""
        targets = {}
        for name in sorted(names & COVERED_TYPES):
            if not can_read_type(self.principal, name):
                continue  # the resolver's FORBIDDEN
            try:
                targets[name] = (entity(name), self.entity_object(entity(name), nodes))
            except Unsupported as e:
                log.debug("resolvers answer a node of type %s: %s", name, e)
        return targets

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
        if name == "timeline" and ent.name in OWNERS:
            return plan_timeline(self, ent.name, nodes, gql_field, strawberry_field)
        if name == "journey" and ent.name in OWNERS:
            return plan_journey(self, ent.name, nodes, gql_field, strawberry_field)
        if name == "stageHistory" and ent.name == "Deal":
            return plan_stage_history(self, nodes, gql_field)
        if ent.name == "AuditEntry" and name == "entityId":  # the changed object's global id
            expr = values.base64url("{t}.entity_type || ':' || ({t}.entity_id)::text")
            return Column(expr, "String")
        if ent.name == "AuditEntry" and name == "actor":
            return actor_plan(self, self._object_type(named.name), nodes)
        if ent.name == "Task" and name == "completedBy":  # null unless DONE
            actor = actor_plan(self, self._object_type(named.name), nodes, "completed_by")
            return When("{t}.status = 'DONE'", actor)
        if ent.name == "Segment" and name == "sizeHistory":
            return plan_size_history(self, nodes, gql_field)
        if ent.name == "Segment" and name == "rule":
            return Rule()
        relation = ent.find_relation(strawberry_field.python_name)
        if relation is not None and strawberry_field.base_resolver is not None:
            if relation.cardinality == "one":
                target = self.entity_object(entity(relation.target), nodes)
                return ToOne(relation, target)
            if relation.order:
                return RelationList(relation, self.entity_object(entity(relation.target), nodes))
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
        edge_type = get_named_type(connection_type.fields["edges"].type)
        parts = self.connection_parts(
            connection_type,
            nodes,
            lambda found: self.entity_object(target, found),
            lambda found: self.edge(edge_type, target, relation, found),
        )
        arguments = Arguments(nodes[0], gql_field, self._check(owner, nodes[0].name.value))
        return Connection(target, relation, arguments, parts)

    def connection_parts(
        self,
        connection_type: GraphQLObjectType,
        nodes: list[FieldNode],
        node_plan: Callable[[list[FieldNode]], Any],
        edge_plan: Callable[[list[FieldNode]], Any],
    ) -> list[tuple[str, str, Any]]:
        """A connection's selection as (response key, "const" | "nodes" | "totalCount" |
        "pageInfo" | "edges", payload): `node_plan(fields)` plans a node, `edge_plan(fields)`
        an edge."""
        parts: list[tuple[str, str, Any]] = []
        for key, fields in self.collect(connection_type, [n.selection_set for n in nodes]).items():
            name = fields[0].name.value
            if name == "__typename":
                parts.append((key, "const", values.literal(connection_type.name)))
                continue
            self._check(connection_type.name, name)
            if name == "nodes":
                parts.append((key, "nodes", node_plan(fields)))
            elif name == "totalCount":
                parts.append((key, "totalCount", None))
            elif name == "pageInfo":
                parts.append((key, "pageInfo", self.page_info(fields)))
            elif name == "edges":
                parts.append((key, "edges", edge_plan(fields)))
            else:
                raise Unsupported(f"{connection_type.name}.{name}")
        return parts

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
