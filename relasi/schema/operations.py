"""Picks the request's transaction mode from the operation: reads get a read-only snapshot."""

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType


class TransactionMode(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        session = getattr(context, "session", None)
        if session is not None:
            session.read_only = self.execution_context.operation_type is not OperationType.MUTATION
        yield
