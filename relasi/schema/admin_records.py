"""What webhook endpoints and workflows share in the schema: workspace settings an admin
manages, listed in keyset pages (`relay.forward_connection`) with a filter on their status,
looked up and deleted by global id (segments delete with `delete_by_id` too)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

from relasi.resolvers import global_ids
from relasi.resolvers.session import Session
from relasi.schema.payloads import DeletePayload, provided, run_mutation


def list_filter(filter: Any) -> dict[str, Any]:
    """A list's filter input as the plain fields sent, enum values as their names."""
    flt = provided(filter) if filter is not None else {}
    if isinstance(flt.get("status"), Enum):
        flt["status"] = flt["status"].value
    return flt


def delete_by_id(
    info: Any,
    type_name: str,
    global_id: str,
    delete: Callable[[Session, Any], Awaitable[Any]],
) -> Awaitable[DeletePayload]:
    """`deleteX(input: {id})` for a record deleted by its resolver's `delete(session, pk)`."""

    async def action(session: Session) -> Any:
        await delete(session, global_ids.decode(global_id, type_name, field="input.id"))

    return run_mutation(info, DeletePayload, action, lambda _: {"deleted_id": global_id})


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
