"""Reading deliveries with their attempts, and replaying them.

A replay sends a delivery again as it was first sent: the same body and the same
`webhook-id` (receivers dedupe on it), as a new attempt with a fresh timestamp and signature.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from relasi.errors import AppError, NotFound
from relasi.resolvers import global_ids
from relasi.resolvers.changes import EVENT_TYPES
from relasi.resolvers.predicates import Params
from relasi.resolvers.session import Session
from relasi.resolvers.webhooks import endpoints, listing

TYPE_NAME = "WebhookDelivery"
STATUSES = ("PENDING", "SENDING", "DELIVERED", "FAILED")
MAX_REPLAY = 10_000  # deliveries one replayWebhookEndpoint resends


async def page(
    session: Session,
    endpoint_id: UUID,
    flt: dict[str, Any],
    first: int | None,
    after: str | None,
) -> tuple[list[asyncpg.Record], bool]:
    """An endpoint's deliveries, newest event first."""
    if await endpoints.get(session, endpoint_id) is None:
        raise endpoints.not_found(endpoint_id, field="endpointId")
    params = Params(session.workspace_id)
    return await listing.keyset_page(
        session,
        "SELECT * FROM webhook_deliveries t WHERE " + conditions(params, endpoint_id, flt),
        params,
        descending=True,
        first=first,
        after=after,
        name="webhookDeliveries",
        at="occurred_at",
    )


def conditions(params: Params, endpoint_id: UUID, flt: dict[str, Any]) -> str:
    """Which deliveries of the endpoint a page reads (alias t; $1 the workspace)."""
    found = ["t.workspace_id = $1", f"t.endpoint_id = {params(endpoint_id)}"]
    if flt.get("status") is not None:
        found.append(f"t.status = {params(flt['status'])}")
    if flt.get("event_type") is not None:
        if flt["event_type"] not in EVENT_TYPES:
            raise AppError(
                f"{flt['event_type'][:100]!r} is not an event type.", field="filter.eventType"
            )
        found.append(f"t.event_type = {params(flt['event_type'])}")
    for key, op in (("from_", ">="), ("to", "<")):
        if flt.get(key) is not None:
            found.append(f"t.occurred_at {op} {params(flt[key])}")
    return " AND ".join(found)


async def attempts(session: Session, delivery_ids: list[UUID]) -> dict[UUID, list[asyncpg.Record]]:
    """The attempts of each delivery, oldest first (one statement for a page)."""
    found: dict[UUID, list[asyncpg.Record]] = {pk: [] for pk in delivery_ids}
    for row in await session.fetch(
        "SELECT * FROM webhook_attempts WHERE workspace_id = $1 AND delivery_id = ANY($2)"
        " ORDER BY attempted_at, id",
        session.workspace_id,
        delivery_ids,
    ):
        found[row["delivery_id"]].append(row)
    return found


_REQUEUE = """UPDATE webhook_deliveries
                 SET status = 'PENDING', next_attempt_at = now(), lease_until = NULL
               WHERE workspace_id = $1 AND {which} AND status <> 'SENDING'"""


async def replay(session: Session, pk: UUID) -> asyncpg.Record:
    """Send one delivery again, now (a delivery being sent is left to finish)."""
    row = await session.fetchrow(
        _REQUEUE.format(which="id = $2") + " RETURNING *", session.workspace_id, pk
    )
    if row is None:
        exists = await session.fetchval(
            "SELECT status FROM webhook_deliveries WHERE workspace_id = $1 AND id = $2",
            session.workspace_id,
            pk,
        )
        if exists is None:
            raise NotFound(
                f"No {TYPE_NAME} with id {global_ids.encode(TYPE_NAME, pk)!r}.", field="input.id"
            )
        row = await session.fetchrow(
            "SELECT * FROM webhook_deliveries WHERE workspace_id = $1 AND id = $2",
            session.workspace_id,
            pk,
        )
    return row


async def replay_endpoint(session: Session, endpoint_id: UUID, since: datetime) -> int:
    """Send again every delivery of the endpoint whose change happened at or after `since`
    (at most MAX_REPLAY, the oldest first); how many."""
    if await endpoints.get(session, endpoint_id) is None:
        raise endpoints.not_found(endpoint_id, field="input.endpointId")
    if since.tzinfo is None:
        raise AppError("Give a time zone (e.g. 2027-01-31T00:00:00Z).", field="input.from")
    status = await session.execute(
        _REQUEUE.format(
            which="id IN (SELECT id FROM webhook_deliveries WHERE workspace_id = $1"
            " AND endpoint_id = $2 AND occurred_at >= $3 ORDER BY sequence, seq LIMIT $4)"
        ),
        session.workspace_id,
        endpoint_id,
        since,
        MAX_REPLAY,
    )
    return int(status.split()[-1])
