"""Durable background work on a PostgreSQL job queue (pgqueuer; README: Background jobs).

    from relasi.jobs import JobContext, enqueue, entrypoint, periodic

    @entrypoint("contacts.enrich", concurrency=4)
    async def enrich(ctx: JobContext, payload: dict[str, Any]) -> None: ...

    await enqueue(conn_or_session, "contacts.enrich", {"workspace_id": ..., "id": ...})

Jobs are rows in the same database, inserted in the writer's transaction; workers (inside
`relasi serve`, and `relasi worker` processes) run them at least once. A module declaring
work is listed in relasi/jobs/handlers.py.
"""

from pgqueuer import RetryRequested

from relasi.jobs.queue import enqueue
from relasi.jobs.registry import JobContext, entrypoint, periodic

__all__ = ["JobContext", "RetryRequested", "enqueue", "entrypoint", "periodic"]
