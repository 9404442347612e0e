"""Opaque global ids: base64url("Type:uuid"). Clients must treat them as opaque strings."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

from relasi.errors import AppError, NotFound


def encode(type_name: str, pk: UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def decode_any(global_id: str, field: str = "id") -> tuple[str, UUID]:
    """Split an id into (type name, uuid); a malformed id is BAD_USER_INPUT."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return type_name, UUID(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise AppError(f"{global_id!r} is not a valid id.", field=field) from None


def decode(global_id: str, expected: str | tuple[str, ...], field: str = "id") -> UUID:
    """The uuid of an id that must name one of `expected` types.

    An id of another type cannot name a row of the expected type, so it is NOT_FOUND,
    exactly like an id of another workspace.
    """
    type_name, pk = decode_any(global_id, field)
    allowed = (expected,) if isinstance(expected, str) else expected
    if type_name not in allowed:
        raise NotFound(f"No {' or '.join(allowed)} with id {global_id!r}.", field=field)
    return pk
