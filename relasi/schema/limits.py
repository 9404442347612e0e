"""Refusing expensive documents before anything runs: depth, aliases, tokens and cost.

The cost of a document is what it can make the server load: each field counts once for every
row its enclosing lists can hold, a list counting as the page size it asks for (`first`/`last`,
their variables read, 20 when not given) and `nodes(ids:)` as its number of ids. So
`contacts(first: 100) { nodes { deals(first: 100) { nodes { name } } } }` costs
1 + 100 + 100 + 10,000 + 10,000, however little data there happens to be. Every field counts,
`__typename`, `__schema` and `__type` included: introspection is cheap once cached
(`schema/executor.py`), but a thousand aliased copies of it are still a thousand answers to
build and send. Only `__Type.ofType` does not add depth: it unwraps a list or non-null type,
and introspection queries nest it 8 or 9 times. A page size beyond the cap counts as the cap:
the argument itself is refused later as BAD_USER_INPUT, which says more than
QUERY_TOO_COMPLEX would.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    VariableNode,
    get_named_type,
    validate,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from relasi.errors import AppError, ErrorCode
from relasi.resolvers.pagination import DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class Limits:
    depth: int = 12
    aliases: int = 100
    cost: int = 25_000
    tokens: int = 5_000
    page_size: int = 100  # the largest page a list can return (RELASI_MAX_PAGE_SIZE)


@dataclass
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0
    # the variables the measure read (page sizes, ids), with their values
    read: tuple[tuple[str, Any], ...] = ()


class _Recording(dict):
    """Variables that remember which of them were read."""

    def __init__(self, variables: dict) -> None:
        super().__init__(variables)
        self.read: dict[str, Any] = {}

    def get(self, name: str, default: Any = None) -> Any:
        value = super().get(name, default)
        self.read[name] = value
        return value

    def __getitem__(self, name: str) -> Any:
        value = super().__getitem__(name)
        self.read[name] = value
        return value


class _Walker:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: dict, page_size: int
    ) -> None:
        self.schema = schema
        self.page_size = page_size
        self.variables = _Recording(variables or {})
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
                        return min(max(value, 1), self.page_size)
            return DEFAULT_PAGE_SIZE
        if "ids" in args:
            value = self._value(args["ids"])
            return max(len(value), 1) if isinstance(value, list) else 1
        return 1

    def _field(self, parent: Any, name: str) -> Any:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
        return (getattr(parent, "fields", None) or {}).get(name)  # __typename: a leaf, None

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
                self.result.aliases += node.alias is not None
                self.result.depth = max(self.result.depth, depth)
                self.result.cost += weight
                definition = self._field(parent, name)
                child = get_named_type(definition.type) if definition else None
                size = self._size(node, definition)
                # `ofType` unwraps a type reference (`[Contact!]!`): clients nest it 8 or 9
                # deep in every introspection query, so it costs but does not deepen
                deeper = (
                    depth
                    if name == "ofType" and getattr(parent, "name", "") == "__Type"
                    else depth + 1
                )
                self.walk(node.selection_set, child, deeper, weight * size, seen)
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
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict,
    page_size: int = Limits.page_size,
) -> Measure:
    walker = _Walker(schema, document, variables, page_size)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and (definition.name is None or definition.name.value != operation_name):
            continue
        root = schema.get_root_type(definition.operation)
        walker.walk(definition.selection_set, root, 1, 1)
    walker.result.read = tuple(walker.variables.read.items())
    return walker.result


# (document text, operation, page size) -> its last measure: documents are measured on every
# request (the variables decide page sizes), and most requests repeat one
_MEASURES: OrderedDict[tuple, Measure] = OrderedDict()
_MEASURES_SIZE = 256


def measure_cached(
    schema: GraphQLSchema,
    query: str,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict,
    page_size: int,
) -> Measure:
    """`measure`, reused while the variables it read have the same values."""
    key = (query, operation_name, page_size)
    found = _MEASURES.get(key)
    if found is not None and all(variables.get(n) == v for n, v in found.read):
        _MEASURES.move_to_end(key)
        return found
    found = _MEASURES[key] = measure(schema, document, operation_name, variables, page_size)
    if len(_MEASURES) > _MEASURES_SIZE:
        _MEASURES.popitem(last=False)
    return found


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


# (schema, document text, rules, hints hidden) -> the document's validation errors. Keyed by
# the text, not the parsed document: hashing a document walks all its nodes, every request.
_VALIDATIONS: OrderedDict[tuple, list[GraphQLError]] = OrderedDict()


def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """strawberry's validation; in production mode minus the "Did you mean ...?" hints: they
    spell out the schema to a prober, one typo at a time."""
    rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    return validate(schema, document, rules, hide_suggestions=hide_suggestions)


def limited_validation(limits: Limits, *, hide_suggestions: bool = False) -> type[SchemaExtension]:
    """Validation (cached per document text) preceded by the limits, which read the variables
    and so are never cached."""

    class LimitedValidation(SchemaExtension):
        def __init__(self, maxsize: int) -> None:
            super().__init__()
            self.maxsize = maxsize

        def _validated(self) -> list[GraphQLError]:
            context = self.execution_context
            schema, rules = context.schema._schema, context.validation_rules
            if context.query is None:  # a document given parsed: no text to key it by
                return _validate(schema, context.graphql_document, rules, hide_suggestions)
            key = (schema, context.query, rules, hide_suggestions)
            errors = _VALIDATIONS.get(key)
            if errors is None:
                errors = _validate(schema, context.graphql_document, rules, hide_suggestions)
                _VALIDATIONS[key] = errors
                if len(_VALIDATIONS) > self.maxsize:
                    _VALIDATIONS.popitem(last=False)
            else:
                _VALIDATIONS.move_to_end(key)
            return errors

        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            found = measure_cached(
                context.schema._schema,
                context.query or "",
                context.graphql_document,
                context.operation_name,
                context.variables or {},
                limits.page_size,
            )
            message = too_complex(found, limits)
            if message is None:
                context.pre_execution_errors = self._validated() or _unchosen(context)
                yield
                return
            error = AppError(message, code=ErrorCode.QUERY_TOO_COMPLEX)
            # validation is skipped: strawberry answers these errors without executing
            context.pre_execution_errors = [GraphQLError(message, original_error=error)]
            yield

    return LimitedValidation


def _unchosen(context: Any) -> list[GraphQLError]:
    """The GraphQL spec's error for a document of several operations and no operation name
    (strawberry would run the first one, on either read path)."""
    if getattr(context, "_provided_operation_name", None) is not None:
        return []
    operations = [
        d for d in context.graphql_document.definitions if d.kind == "operation_definition"
    ]
    if len(operations) < 2:
        return []
    message = "Must provide operation name if query contains multiple operations."
    error = AppError(message, code=ErrorCode.BAD_USER_INPUT)
    return [GraphQLError(message, original_error=error)]
