"""Which read path answers an HTTP request, and the compiled shortcut's place in the view.

A request asks for a read path with the `X-Relasi-Read-Path` header (else the setting,
`Settings.read_path`); the response says which one answered ("compiled", "mixed" or
"resolvers"). On the compiled path, a POSTed document the pipeline already answered compiled
in full is answered again from its statement without strawberry's pipeline
(`compiler/shortcut.py`); `Shortcut` takes such a request apart and builds its response as
the view would.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from relasi.compiler import READ_PATHS, encode_response
from relasi.compiler.shortcut import KnownDocuments, answer_known
from relasi.errors import AppError, ErrorCode
from relasi.schema.limits import Limits

READ_PATH_HEADER = "x-relasi-read-path"  # "compiled" or "resolvers": overrides the setting
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# what a client may accept to get JSON (strawberry answers any other, e.g. multipart, itself)
_JSON_ACCEPTS = frozenset({"", "*/*", "application/json", GRAPHQL_RESPONSE_JSON})


def asked_read_path(request: Any, default: str) -> str:
    """The read path a request (or a WebSocket's upgrade request) asks for; `bad_read_path`
    when it is none of READ_PATHS."""
    return request.headers.get(READ_PATH_HEADER, default)


def bad_read_path() -> AppError:
    return AppError(
        f"{READ_PATH_HEADER} is one of: {', '.join(READ_PATHS)}.", code=ErrorCode.BAD_USER_INPUT
    )


class Shortcut:
    """The documents one schema's pipeline answered compiled in full, answered again."""

    def __init__(self, schema: Any, limits: Limits) -> None:
        self.schema = schema
        self.limits = limits
        self.known = KnownDocuments()

    async def answer(self, request: Request, context: Any) -> Response | None:
        """The response to a POSTed known document; None when the request must go the whole
        way (strawberry's view): another media type, a document not known, any error."""
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
            body = json.loads(await request.body())
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        query, operation, variables = (
            body.get("query"),
            body.get("operationName"),
            body.get("variables"),
        )
        if not isinstance(query, str) or not isinstance(operation, str | None):
            return None
        if not isinstance(variables, dict | None):
            return None
        data = await answer_known(
            self.schema,
            self.known,
            self.limits,
            context.request_session,
            (query, operation, variables),
        )
        if data is None:
            return None
        context.answered_path = "compiled"
        # as the view answers (server.py): GraphQL over HTTP's media type when the client asks
        media = GRAPHQL_RESPONSE_JSON if GRAPHQL_RESPONSE_JSON in accept else "application/json"
        return Response(encode_response({"data": data}), media_type=media)

    def learn(self, context: Any) -> None:
        """After the pipeline answered: remember the document if it was answered compiled
        in full (`CompiledReads` says so in the context)."""
        if context.compiled is not None:
            self.known.remember(*context.compiled)
