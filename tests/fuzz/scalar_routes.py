"""Where the schema takes a custom scalar, found by walking it: for each root field, the
shortest argument path to every input field (or argument) of type `Decimal`, `DateTime`,
`Date` or `JSON` that its arguments reach, and a minimal request carrying a value there."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
)

BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}
VALID = {  # a harmless value of each scalar, for the required fields around the tested one
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "ID": "x",
    "Decimal": "1",
    "DateTime": "2026-01-01T00:00:00Z",
    "Date": "2026-01-01",
    "JSON": {},
}


@dataclass(frozen=True)
class Route:
    operation: str  # "query" or "mutation"
    name: str  # the root field
    field: GraphQLField
    argument: str
    steps: tuple[str, ...]  # input fields from the argument down to the scalar
    scalar: str

    def request(self, value: Any) -> tuple[str, dict[str, Any]]:
        """A document and its variables, with `value` at this route's place."""
        declared, passed, variables = [], [], {}
        for i, (name, arg) in enumerate(self.field.args.items()):
            if name == self.argument:
                variables[f"v{i}"] = _build(arg.type, self.steps, value)
            elif isinstance(arg.type, GraphQLNonNull):
                variables[f"v{i}"] = _minimal(arg.type)
            else:
                continue
            declared.append(f"$v{i}: {arg.type}")
            passed.append(f"{name}: $v{i}")
        leaf = isinstance(get_named_type(self.field.type), (GraphQLScalarType, GraphQLEnumType))
        selection = "" if leaf else " { __typename }"
        document = (
            f"{self.operation}({', '.join(declared)}) "
            f"{{ {self.name}({', '.join(passed)}){selection} }}"
        )
        return document, variables

    def __str__(self) -> str:
        return ".".join((self.name, self.argument, *self.steps))


def _one_of(t: GraphQLInputObjectType) -> bool:
    # Strawberry checks @oneOf itself (graphql-core's is_one_of stays False)
    definition = (t.extensions or {}).get("strawberry-definition")
    return bool(getattr(definition, "is_one_of", False))


def _minimal(t: Any) -> Any:
    """A value of input type `t` with only its required fields (a @oneOf input: its first)."""
    if isinstance(t, GraphQLNonNull):
        return _minimal(t.of_type)
    if isinstance(t, GraphQLList):
        return [_minimal(t.of_type)]
    if isinstance(t, GraphQLEnumType):
        return next(iter(t.values))
    if isinstance(t, GraphQLInputObjectType) and _one_of(t):
        name, f = next(iter(t.fields.items()))
        return {name: _minimal(f.type)}
    if isinstance(t, GraphQLInputObjectType):
        return {
            name: _minimal(f.type)
            for name, f in t.fields.items()
            if isinstance(f.type, GraphQLNonNull)
        }
    return VALID[t.name]


def _build(t: Any, steps: tuple[str, ...], value: Any) -> Any:
    """A value of type `t` holding `value` at `steps` (through lists: as their one item)."""
    if isinstance(t, GraphQLNonNull):
        return _build(t.of_type, steps, value)
    if isinstance(t, GraphQLList):
        return [_build(t.of_type, steps, value)]
    if not steps:
        return value
    out = {} if _one_of(t) else _minimal(t)  # a @oneOf input holds only the tested field
    out[steps[0]] = _build(t.fields[steps[0]].type, steps[1:], value)
    return out


def routes(schema: GraphQLSchema) -> list[Route]:
    found: list[Route] = []
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        for name, field in root.fields.items():
            for argument, arg in field.args.items():
                found += _from_argument(operation, name, field, argument, arg)
    return found


def _from_argument(
    operation: str, name: str, field: GraphQLField, argument: str, arg: GraphQLArgument
) -> list[Route]:
    """Breadth first, so each input field is reached by its shortest path from here."""
    found: list[Route] = []
    seen: set[tuple[str, str]] = set()
    queue: deque[tuple[Any, tuple[str, ...]]] = deque([(arg.type, ())])
    while queue:
        t, steps = queue.popleft()
        named = get_named_type(t)
        if isinstance(named, GraphQLScalarType) and named.name not in BUILT_IN:
            found.append(Route(operation, name, field, argument, steps, named.name))
        if not isinstance(named, GraphQLInputObjectType):
            continue
        for child, f in named.fields.items():
            if (named.name, child) not in seen:
                seen.add((named.name, child))
                queue.append((f.type, (*steps, child)))
    return found
