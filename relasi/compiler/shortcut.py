"""A document the compiled path answered whole, asked again, skips strawberry's pipeline.

The first request with a document's text goes the whole way: parsed (token limit), validated
(the schema's rules, introspection rules included), executed with every extension, answered
by one statement. The server then remembers the parsed document for that text and operation
(`KnownDocuments`, one per schema: another schema's rules are not this one's). The next POST
of the same text (`relasi/read_paths.py` takes it from the request) measures the document's
limits again (they read the variables) and runs the same compiled statement directly;
parsing, validating and the extension hooks, a third of such a request's Python time, are
skipped. Anything else (an error, a root field left to the
resolvers, another media type) goes the whole way instead: the answer is always the one the
pipeline gives.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode
from strawberry.types.execution import ExecutionResult

from relasi.compiler.run import CompiledData, run
from relasi.schema.limits import Limits, measure_cached, too_complex

_KNOWN_SIZE = 256


class KnownDocuments:
    """(document text, operation name) -> the parsed document, for the documents the whole
    pipeline accepted and the compiled path answered in full; the least recently used go."""

    def __init__(self, size: int = _KNOWN_SIZE) -> None:
        self._documents: OrderedDict[tuple[str, str | None], DocumentNode] = OrderedDict()
        self._size = size

    def remember(self, query: str, operation_name: str | None, document: DocumentNode) -> None:
        self._documents[(query, operation_name)] = document
        self._documents.move_to_end((query, operation_name))
        if len(self._documents) > self._size:
            self._documents.popitem(last=False)

    def get(self, query: str, operation_name: str | None) -> DocumentNode | None:
        return self._documents.get((query, operation_name))


@dataclass
class _Execution:
    """What `compiler.run` reads of strawberry's execution context."""

    schema: Any
    graphql_document: DocumentNode
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None


async def answer_known(
    schema: Any,
    known: KnownDocuments,
    limits: Limits,
    session: Any,
    request: tuple[str, str | None, dict[str, Any] | None],
) -> CompiledData | None:
    """The `data` of a request (document text, operation name, variables) whose document
    `known` holds, from its compiled statement; None when the request must go the whole way
    (strawberry's view). The HTTP side is `relasi/read_paths.py`."""
    query, operation, variables = request
    document = known.get(query, operation)
    if document is None:
        return None
    found = measure_cached(
        schema._schema, query, document, operation, variables or {}, limits.page_size
    )
    if too_complex(found, limits) is not None:
        return None
    execution = _Execution(schema, document, query, operation, variables)
    result = await run(execution, session, whole=True)
    if not isinstance(result, ExecutionResult) or result.errors is not None:
        return None
    return result.data if isinstance(result.data, CompiledData) else None
