"""Putting a job on the queue, in the caller's transaction."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
from pgqueuer.adapters.persistence.qb import QueryQueueBuilder

from relasi.jobs.registry import check_name

if TYPE_CHECKING:
    from relasi.resolvers.session import Session

# pgqueuer's own enqueue statement; "skip": a job whose dedupe_key is already queued or
# running is not added again (and, unlike a unique violation, leaves the transaction usable)
_ENQUEUE = QueryQueueBuilder().build_enqueue_query("skip")


async def enqueue(
    conn: asyncpg.Connection | Session,
    entrypoint: str,
    payload: dict[str, Any] | None = None,
    *,
    delay: float = 0.0,
    dedupe_key: str | None = None,
) -> None:
    """Queue the job `entrypoint` with `payload`, to run after `delay` seconds.

    It is inserted in `conn`'s current transaction (a request's Session works too, for a
    mutation): the job exists only if that transaction commits, and workers hear of it at the
    commit. With `dedupe_key`, nothing is added while a job with that key is queued or running.
    The payload travels as JSON; values JSON lacks (UUIDs, datetimes, decimals) arrive as
    strings."""
    await enqueue_many(conn, entrypoint, [(payload, dedupe_key)], delay=delay)


async def enqueue_many(
    conn: asyncpg.Connection | Session,
    entrypoint: str,
    jobs: list[tuple[dict[str, Any] | None, str | None]],
    *,
    delay: float = 0.0,
) -> None:
    """`enqueue` of several (payload, dedupe_key) jobs of one entrypoint, in one statement."""
    check_name(entrypoint)
    if delay < 0:
        raise ValueError("delay must not be negative")
    if not jobs:
        return
    n = len(jobs)
    bodies = [json.dumps(payload or {}, default=str).encode() for payload, _ in jobs]
    # headers: NULL, passed as None so that no JSON codec of the pool touches them
    await conn.fetch(
        _ENQUEUE,
        [0] * n,
        [entrypoint] * n,
        bodies,
        [timedelta(seconds=delay)] * n,
        [key for _, key in jobs],
        [None] * n,
    )
