"""A document the compiled path answered whole, asked again, skips strawberry's pipeline.

The first request with a document's text goes the whole way: parsed (token limit), validated
(the schema's rules, introspection rules included), executed with every extension, answered
by one statement. The server then remembers the parsed document for that text and operation
(`KnownDocuments`, one per schema: another schema's rules are not this one's). The next POST
of the same text measures the document's limits again (they read the variables) and runs the
same compiled statement directly; parsing, validating and the extension hooks, a third of
such a request's Python time, are skipped. Anything else (an error, a root field left to the
resolvers, another media type) goes the whole way instead: the answer is always the one the
pipeline gives.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types.execution import ExecutionResult

from relasi.compiler.run import CompiledData, encode_response, run
from relasi.schema.limits import Limits, measure_cached, too_complex

_KNOWN_SIZE = 256
_GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# what a client may accept to get JSON (strawberry answers any other, e.g. multipart, itself)
_JSON_ACCEPTS = frozenset({"", "*/*", "application/json", _GRAPHQL_RESPONSE_JSON})


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
    request: Request, context: Any, schema: Any, known: KnownDocuments, limits: Limits
) -> Response | None:
    """The response to a POSTed document `known` holds, from its compiled statement; None
    when the request must go the whole way (strawberry's view)."""
    headers = request.headers
    if (
        context.read_path != "compiled"
        or request.method != "POST"
        or "application/json" not in headers.get("content-type", "")
    ):
        return None
    accept = headers.get("accept", "")
    if any(media.split(";")[0].strip() not in _JSON_ACCEPTS for media in accept.split(",")):
        return None
    try:
        data = json.loads(await request.body())
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    query, operation, variables = (
        data.get("query"),
        data.get("operationName"),
        data.get("variables"),
    )
    if not isinstance(query, str) or not isinstance(operation, str | None):
        return None
    if not isinstance(variables, dict | None):
        return None
    document = known.get(query, operation)
    if document is None:
        return None
    found = measure_cached(
        schema._schema, query, document, operation, variables or {}, limits.page_size
    )
    if too_complex(found, limits) is not None:
        return None
    execution = _Execution(schema, document, query, operation, variables)
    result = await run(execution, context.request_session, whole=True)
    if not isinstance(result, ExecutionResult) or result.errors is not None:
        return None
    if not isinstance(result.data, CompiledData):
        return None
    context.answered_path = "compiled"
    # as the view answers (server.py): GraphQL over HTTP's media type when the client asks
    media = _GRAPHQL_RESPONSE_JSON if _GRAPHQL_RESPONSE_JSON in accept else "application/json"
    return Response(encode_response({"data": result.data}), media_type=media)
