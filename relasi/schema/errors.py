"""How errors reach clients.

- A mutation's refused input: `userErrors { field message code }` in its payload.
- Other `AppError`s: top-level errors with `extensions.code`.
- Parse, validation and variable errors: `extensions.code = BAD_USER_INPUT`.
- Anything unexpected: masked as INTERNAL_SERVER_ERROR with the request id, and logged with
  its stack trace under that id, so support can find it without the client seeing internals.
"""

import logging
from collections.abc import Iterator
from typing import Any

import asyncpg
import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from relasi.errors import AppError, ErrorCode, FieldError
from relasi.schema.enums import ErrorCodeEnum

log = logging.getLogger("relasi.errors")

# the client's text, not our code, is at fault: invalid byte sequences, \u0000 in text or jsonb
UNSTORABLE_TEXT = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
)


@strawberry.type(description="A problem with a mutation's input that the client can fix.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field, e.g. ["input", "emails", "1", "address"].'
    )
    message: str
    code: ErrorCodeEnum


def user_errors(errors: list[FieldError]) -> list[UserError]:
    return [UserError(field=e.field, message=e.message, code=e.code) for e in errors]


class Schema(strawberry.Schema):
    """Strawberry logs every error of every result at ERROR, with its traceback. Most are normal
    traffic (a NOT_FOUND id, a TIMEOUT, a typo in a query): logged at debug here. The unexpected
    ones are logged by ErrorPolicy, once, under the request id the client is given."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            log.debug("request error: %s", error.message)


class ErrorPolicy(SchemaExtension):
    """Gives every error a code, and masks the unexpected ones."""

    _streamed = False

    def on_operation(self) -> Iterator[None]:
        yield
        if not self._streamed:
            self._apply(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # a WebSocket sends each result as it is yielded, long before on_operation resumes
        self._streamed = True
        self._apply(result)
        yield

    def _apply(self, result: Any) -> None:
        if result is None or not getattr(result, "errors", None):
            return
        request_id = getattr(self.execution_context.context, "request_id", None)
        result.errors = [self._process(error, request_id) for error in result.errors]

    def _process(self, error: GraphQLError, request_id: str | None) -> GraphQLError:
        original = error.original_error
        if isinstance(original, AppError):
            return error
        if isinstance(original, UNSTORABLE_TEXT):  # e.g. a NUL in a filter value
            return GraphQLError(
                "Text may not contain NUL (\\u0000) or other characters PostgreSQL cannot store.",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": ErrorCode.BAD_USER_INPUT.value},
            )
        if error.path is None:  # parse, validation or variable coercion: the request's fault
            # the parser's token limit (MaxTokensLimiter) is a size limit, not a typo
            too_big = "tokens. Parsing aborted" in error.message
            code = ErrorCode.QUERY_TOO_COMPLEX if too_big else ErrorCode.BAD_USER_INPUT
            error.extensions = {**(error.extensions or {}), "code": code.value}
            return error
        log.error("request %s failed", request_id, exc_info=original)
        return GraphQLError(
            message=f"Internal server error (request id {request_id}).",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
        )
