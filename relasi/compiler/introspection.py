"""`__schema` and `__type` compiled: the answer depends on the schema and the selection only,
so graphql-core builds it (through the schema's executor, whose cache builds each selection
once, `schema/executor.py`) and the statement carries it as a bound JSON value. A document
mixing introspection with reads stays one statement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    execute,
    visit,
)
from graphql.language import Visitor

from relasi.compiler.errors import Unsupported
from relasi.compiler.nodes import Plan

if TYPE_CHECKING:
    from relasi.compiler.nodes import Bind


@dataclass
class Introspection(Plan):
    """One root introspection field (all its nodes, as collected under one response key)."""

    key: str
    nodes: list[FieldNode]
    operation: OperationDefinitionNode
    fragments: list[FragmentDefinitionNode]

    def sql(self, b: Bind, alias: str) -> str:
        used = _Used()
        pending: list[Any] = list(self.nodes)
        while pending:
            before = set(used.spreads)
            visit(pending.pop(), used)
            pending += [f for f in self.fragments if f.name.value in used.spreads - before]
        fragments = [f for f in self.fragments if f.name.value in used.spreads]
        definitions = [
            d
            for d in self.operation.variable_definitions or ()
            if d.variable.name.value in used.names
        ]
        part = OperationDefinitionNode(
            operation=OperationType.QUERY,
            variable_definitions=tuple(definitions),
            selection_set=SelectionSetNode(selections=tuple(self.nodes)),
        )
        # introspection's arguments and @skip/@include are Strings and Booleans: their
        # coerced values are the values sent
        given = {k: v for k, v in b.variables.coerced.items() if k in used.names}
        result = execute(
            b.schema._schema,
            DocumentNode(definitions=(part, *fragments)),
            variable_values=given,
            executor_class=b.schema.execution_context_class,
        )
        if not isinstance(result.data, dict) or result.errors:  # the resolvers report them
            raise Unsupported("introspection")
        return b.params(result.data[self.key], "json")


class _Used(Visitor):
    """The variables and fragments a selection uses."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.spreads: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.spreads.add(node.name.value)

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.names.add(node.name.value)
