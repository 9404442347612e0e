"""Refusing expensive documents before anything runs: depth, aliases, tokens and cost.

The cost of a document is what it can make the server load: each field counts once for every
row its enclosing lists can hold, a list counting as the page size it asks for (`first`/`last`,
their variables read, 20 when not given) and `nodes(ids:)` as its number of ids. So
`contacts(first: 100) { nodes { deals(first: 100) { nodes { name } } } }` costs
1 + 100 + 100 + 10,000 + 10,000, however little data there happens to be. Introspection is
left out (it has its own switch).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)
from strawberry.extensions import ValidationCache

from relasi.errors import AppError, ErrorCode
from relasi.resolvers.pagination import DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class Limits:
    depth: int = 12
    aliases: int = 100
    cost: int = 25_000
    tokens: int = 5_000


@dataclass
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0


class _Walker:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict) -> None:
        self.schema = schema
        self.variables = variables or {}
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.result = Measure()

    def _value(self, node: Any) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        return value_from_ast_untyped(node, self.variables)

    def _size(self, field: FieldNode, definition: Any) -> int:
        """How many rows a list field multiplies its selections by (1 for other fields)."""
        args = {a.name.value: a.value for a in field.arguments or ()}
        if definition is not None and "first" in definition.args:
            for name in ("first", "last"):
                if name in args:
                    value = self._value(args[name])
                    if isinstance(value, int):
                        return max(value, 1)
            return DEFAULT_PAGE_SIZE
        if "ids" in args:
            value = self._value(args["ids"])
            return max(len(value), 1) if isinstance(value, list) else 1
        return 1

    def walk(
        self,
        selections: SelectionSetNode | None,
        parent: Any,
        depth: int,
        weight: int,
        seen: frozenset[str] = frozenset(),
    ) -> None:
        for node in selections.selections if selections else ():
            if isinstance(node, FieldNode):
                name = node.name.value
                if name.startswith("__"):
                    continue  # introspection and __typename are free
                self.result.aliases += node.alias is not None
                self.result.depth = max(self.result.depth, depth)
                self.result.cost += weight
                fields = getattr(parent, "fields", None) or {}
                definition = fields.get(name)
                child = get_named_type(definition.type) if definition else None
                size = self._size(node, definition)
                self.walk(node.selection_set, child, depth + 1, weight * size, seen)
            elif isinstance(node, InlineFragmentNode):
                target = parent
                if node.type_condition is not None:
                    target = self.schema.get_type(node.type_condition.name.value)
                self.walk(node.selection_set, target, depth, weight, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # validation reports unknown or cyclic fragments
                target = self.schema.get_type(fragment.type_condition.name.value)
                self.walk(fragment.selection_set, target, depth, weight, seen | {name})


def measure(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: dict
) -> Measure:
    walker = _Walker(schema, document, variables)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and (definition.name is None or definition.name.value != operation_name):
            continue
        root = schema.get_root_type(definition.operation)
        walker.walk(definition.selection_set, root, 1, 1)
    return walker.result


def too_complex(found: Measure, limits: Limits) -> str | None:
    if found.depth > limits.depth:
        return (
            f"The query nests {found.depth} levels deep; at most {limits.depth} are allowed."
            " Nest fewer levels."
        )
    if found.aliases > limits.aliases:
        return (
            f"The query uses {found.aliases} aliases; at most {limits.aliases} are allowed."
            " Split it into several requests."
        )
    if found.cost > limits.cost:
        return (
            f"The query could load {found.cost} objects (its cost); at most {limits.cost} are"
            " allowed. Ask for smaller pages or fewer nested lists, and page through the rest."
        )
    return None


def limited_validation(limits: Limits) -> type[ValidationCache]:
    """Validation (cached per document) preceded by the limits, which read the variables and
    so are never cached."""

    class LimitedValidation(ValidationCache):
        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            found = measure(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables or {},
            )
            message = too_complex(found, limits)
            if message is None:
                yield from super().on_validate()
                return
            error = AppError(message, code=ErrorCode.QUERY_TOO_COMPLEX)
            # validation is skipped: strawberry answers these errors without executing
            context.pre_execution_errors = [GraphQLError(message, original_error=error)]
            yield

    return LimitedValidation
