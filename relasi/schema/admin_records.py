"""What webhook endpoints and workflows share in the schema: workspace settings an admin
manages, listed in pages paged forwards (`relay.forward_connection`) with a filter on their
status, looked up by global id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

from relasi.resolvers.session import Session
from relasi.schema.payloads import provided


def list_filter(filter: Any) -> dict[str, Any]:
    """A list's filter input as the plain fields sent, enum values as their names."""
    flt = provided(filter) if filter is not None else {}
    if isinstance(flt.get("status"), Enum):
        flt["status"] = flt["status"].value
    return flt


async def fetch_by_id(
    info: Any,
    pk: Any,
    get: Callable[[Session, Any], Awaitable[Any]],
    not_found: Callable[..., Exception],
) -> Any:
    """`x(id:)`: the row, or NOT_FOUND on the `id` argument."""
    row = await get(info.context.session, pk)
    if row is None:
        raise not_found(pk, field="id")
    return row
