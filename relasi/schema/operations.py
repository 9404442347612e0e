"""Picks the request's transaction mode from the operation: reads get a read-only snapshot,
bulk mutations the longer statement time limit."""

import contextlib
from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
    get_operation_ast,
)
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.types.graphql import OperationType

# Mutations documented to work on many rows at once (up to 1,000 touches, 10,000 segment
# members, a segment's whole membership): they run under RELASI_BULK_STATEMENT_TIMEOUT.
BULK_MUTATIONS = frozenset(
    {
        "trackInteractions",
        "createSegment",
        "updateSegment",
        "refreshSegment",
        "restoreSegment",
        "addToSegment",
        "removeFromSegment",
    }
)


class TransactionMode(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        session = getattr(context, "session", None)
        if session is not None:
            mutation = self.execution_context.operation_type is OperationType.MUTATION
            session.read_only = not mutation
            session.bulk = mutation and not BULK_MUTATIONS.isdisjoint(self._root_fields())
        yield

    def _root_fields(self) -> set[str]:
        document = self.execution_context.graphql_document
        if document is None:
            return set()
        operation = get_operation_ast(document, self.execution_context.operation_name)
        return set() if operation is None else _field_names(operation.selection_set, document)


def _field_names(selections: SelectionSetNode, document: DocumentNode) -> set[str]:
    """The names of the fields a selection set selects, through its fragments."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names: set[str] = set()
    pending, seen = [selections], set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                if selection.name.value in fragments:
                    pending.append(fragments[selection.name.value].selection_set)
    return names


class SafeParserCache(ParserCache):
    """ParserCache, except that a syntax error is left to strawberry's own parse step.

    ParserCache raises inside its hook, and then the other extensions' `on_operation` never
    resume (so such errors would miss their `extensions.code`). An uncached document makes
    strawberry parse it and report the error the normal way.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield
