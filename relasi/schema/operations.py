"""Picks the request's transaction mode from the operation: reads get a read-only snapshot."""

import contextlib
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.types.graphql import OperationType


class TransactionMode(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        session = getattr(context, "session", None)
        if session is not None:
            session.read_only = self.execution_context.operation_type is not OperationType.MUTATION
        yield


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
