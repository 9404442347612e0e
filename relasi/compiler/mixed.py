"""A query some of whose root fields the compiler left to the resolvers: graphql-core runs
those (an operation selecting only them, with the document's fragments and variables), and
the answer merges both in document order.

A root field's value and errors do not depend on its siblings, so the resolvers' part answers
exactly what it answers within the whole operation: the same errors at the same paths, and
an error on a non-null root field nulls the whole `data`, as it would have. (No schema
extension has a `resolve` hook, so graphql-core runs it without strawberry's middleware.)
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
)
from strawberry.execution.is_awaitable import optimized_is_awaitable

from relasi.compiler.plan import Root


async def with_resolvers(
    ec: Any,
    operation: OperationDefinitionNode,
    root: Root,
    compiled: dict[str, Any],
    rest: set[str],
) -> ExecutionResult:
    """The response of `operation`: `compiled` values, and the resolvers' for keys in `rest`."""
    nodes: list[FieldNode] = [
        node for key, field_nodes in root.fields if key in rest for node in field_nodes
    ]
    part = OperationDefinitionNode(
        operation=operation.operation,
        name=operation.name,
        variable_definitions=operation.variable_definitions,
        directives=operation.directives,
        selection_set=SelectionSetNode(selections=tuple(nodes)),
    )
    fragments = [
        d for d in ec.graphql_document.definitions if isinstance(d, FragmentDefinitionNode)
    ]
    result = execute(
        ec.schema._schema,
        DocumentNode(definitions=(part, *fragments)),
        root_value=ec.root_value,
        context_value=ec.context,
        variable_values=ec.variables,
        operation_name=ec.operation_name,
        executor_class=ec.schema.execution_context_class,
        is_awaitable=optimized_is_awaitable,
    )
    if optimized_is_awaitable(result):
        result = await result
    if result.data is None:  # a non-null root field failed: no data at all
        return result
    data = {key: result.data[key] if key in rest else compiled[key] for key in root.keys}
    return ExecutionResult(data=data, errors=result.errors)
