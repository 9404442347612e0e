"""What background work exists: entrypoints (jobs run on demand) and periodic work, registered
by decorators at import time. relasi/jobs/handlers.py imports every module that declares some,
so a worker knows them all."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from relasi.db import Database
    from relasi.settings import Settings

# names end up in SQL parameters only, but a plain shape keeps logs and dashboards readable
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
DEFAULT_RETRY_AFTER = 5.0  # seconds before the first retry of a failed job; then doubling


@dataclass(frozen=True)
class JobContext:
    """What a handler runs with. `db` is the process's pool: a handler takes connections from
    it (relasi.db.system_connection for work across workspaces, or use_workspace to act in the
    one its payload names)."""

    db: Database
    settings: Settings
    entrypoint: str
    job_id: int | None = None  # None for periodic work
    attempts: int = 0  # retries before this run (0: the first run)
    # set when the worker stops: a handler that would go on while there is work (a drain
    # under constant load) finishes what it has in hand and returns, instead of being
    # cancelled at the end of the grace period
    stopping: asyncio.Event = field(default_factory=asyncio.Event)


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]
PeriodicHandler = Callable[[JobContext], Awaitable[None]]


@dataclass(frozen=True)
class Entrypoint:
    name: str
    handler: Handler
    concurrency: int | None
    retry_after: float


@dataclass(frozen=True)
class Periodic:
    name: str
    handler: PeriodicHandler
    every: float


ENTRYPOINTS: dict[str, Entrypoint] = {}
PERIODIC: dict[str, Periodic] = {}


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"job name {name!r}: lowercase words joined by dots (segments.refresh)")


def _check_new_name(name: str) -> None:
    check_name(name)
    if name in ENTRYPOINTS or name in PERIODIC:
        raise ValueError(f"job name {name!r} is registered twice")


def entrypoint(
    name: str, *, concurrency: int | None = None, retry_after: float | None = None
) -> Callable[[Handler], Handler]:
    """Register `async def handler(ctx: JobContext, payload: dict) -> None` as the job
    `name`, run for every `enqueue(conn, name, payload)`.

    A handler that raises is retried by the queue, first after `retry_after` seconds (default
    5), each time twice as long (at most an hour), up to 10 retries; then the job is kept with
    status 'failed' in the `pgqueuer` table. A handler may raise `RetryRequested(delay=...)` to
    choose its own delay (those retries are not counted against the limit). Jobs run at least
    once: a job whose worker died is run again, so handlers must be idempotent.
    `concurrency`: at most that many of these jobs run at once across all workers."""
    if concurrency is not None and concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if retry_after is not None and retry_after < 0:
        raise ValueError("retry_after must not be negative")
    _check_new_name(name)

    def register(handler: Handler) -> Handler:
        ENTRYPOINTS[name] = Entrypoint(
            name,
            handler,
            concurrency,
            DEFAULT_RETRY_AFTER if retry_after is None else retry_after,
        )
        return handler

    return register


def periodic(name: str, *, every: float) -> Callable[[PeriodicHandler], PeriodicHandler]:
    """Register `async def handler(ctx: JobContext) -> None` to run about every `every`
    seconds (at least 1), by one worker of the whole cluster at a time: a tick that is still
    running is not started again elsewhere. A tick that raises is logged; the next one runs
    as planned."""
    if every < 1:
        raise ValueError("periodic work runs at most once a second (every >= 1)")
    _check_new_name(name)

    def register(handler: PeriodicHandler) -> PeriodicHandler:
        PERIODIC[name] = Periodic(name, handler, every)
        return handler

    return register
