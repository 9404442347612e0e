"""The error model shared by every layer: one closed set of codes.

Resolvers raise these; the schema layer turns `UserInputError` into a payload's `userErrors`
and any other `AppError` into a top-level GraphQL error with `extensions.code`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ErrorCode(Enum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    TIMEOUT = "TIMEOUT"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class AppError(Exception):
    """An error the client caused or may act on; its message is safe to show."""

    code = ErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, *, code: ErrorCode | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field

    @property
    def extensions(self) -> dict[str, object]:
        # graphql-core copies an original error's `extensions` into the GraphQL error
        ext: dict[str, object] = {"code": self.code.value}
        if self.field:
            ext["field"] = self.field
        return ext


class Unauthenticated(AppError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(AppError):
    code = ErrorCode.FORBIDDEN


class NotFound(AppError):
    code = ErrorCode.NOT_FOUND


class Conflict(AppError):
    code = ErrorCode.CONFLICT


class Timeout(AppError):
    """A statement ran past the request's time limit; the request was stopped and rolled back."""

    code = ErrorCode.TIMEOUT


class ServiceUnavailable(AppError):
    """PostgreSQL cannot be reached (or lost the connection): retry later; nothing was written.
    Carries the request id the server logged it under, like an unexpected error."""

    code = ErrorCode.SERVICE_UNAVAILABLE

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id

    @property
    def extensions(self) -> dict[str, object]:
        return {**super().extensions, "requestId": self.request_id}


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field; `field` is the path, e.g. ['input', 'emails', '1']."""

    field: list[str]
    message: str
    code: ErrorCode = ErrorCode.BAD_USER_INPUT


class UserInputError(AppError):
    """A mutation's input was refused; carries every problem found, not just the first."""

    def __init__(self, errors: list[FieldError]):
        first = errors[0]
        super().__init__(first.message, code=first.code, field=".".join(first.field))
        self.errors = errors

    @classmethod
    def single(
        cls, field: str | list[str], message: str, code: ErrorCode = ErrorCode.BAD_USER_INPUT
    ) -> UserInputError:
        path = field.split(".") if isinstance(field, str) else field
        return cls([FieldError(path, message, code)])
