"""A process's job worker: pgqueuer's queue and schedule managers running every registered
entrypoint and periodic work, started and stopped with the process (`relasi serve`'s
lifespan, `relasi worker`).

pgqueuer picks jobs with FOR UPDATE SKIP LOCKED, wakes on the NOTIFY an insert sends, and
keeps a heartbeat on every running job; a job whose heartbeat stops (its process was killed)
is picked again by another worker after `jobs_heartbeat_timeout`. Stopping: no new jobs are
picked, running ones get `shutdown_timeout` seconds to finish; past it they are cancelled and
put back on the queue (a retry, due at once), never dropped and never left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from pgqueuer import PgQueuer, RetryRequested
from pgqueuer.db import AsyncpgPoolDriver
from pgqueuer.executors import DatabaseRetryEntrypointExecutor, ScheduleExecutor
from pgqueuer.models import Job, Schedule
from pgqueuer.types import QueueExecutionMode

from relasi.db import Database
from relasi.jobs.registry import JobContext
from relasi.settings import Settings

log = logging.getLogger("relasi.jobs")

MAX_RETRIES = 10
MAX_RETRY_DELAY = timedelta(hours=1)
RESTART_PAUSE = 5.0  # seconds before a worker whose queue connection failed starts again
# a periodic schedule's key in pgqueuer_schedules is (entrypoint, cron expression); its timing
# comes from `every` (_Every), so the expression is only part of the key
SCHEDULE_KEY = "* * * * *"


@dataclass
class _Every(ScheduleExecutor):
    """A schedule due `every` after its last start, instead of at cron times."""

    every: timedelta = field(default_factory=lambda: timedelta(seconds=60))

    def next_in(self) -> timedelta:
        return self.every

    def get_next(self) -> datetime:
        return datetime.now(UTC) + self.every


class Worker:
    """Runs this process's share of the background work until `stop()`."""

    def __init__(self, db: Database, settings: Settings) -> None:
        if db.dsn is None:
            raise ValueError("the worker needs the database's DSN (Database.connect sets it)")
        self.db = db
        self.settings = settings
        self._pool: asyncpg.Pool | None = None
        self._queuer: PgQueuer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self._running: set[asyncio.Task[Any]] = set()  # handlers now running here
        self._abandoning = False  # the grace period is over: running handlers are cancelled

    async def start(self) -> None:
        from relasi.jobs import handlers  # every entrypoint and periodic work

        # its own few connections, without the pool's JSON codecs (pgqueuer sends JSON as
        # text) and apart from requests: one listens for NOTIFY, the others pick and report
        self._pool = await asyncpg.create_pool(
            self.db.dsn, min_size=1, max_size=4, timeout=self.settings.db_connect_timeout
        )
        self._task = asyncio.create_task(self._run(handlers), name="relasi-jobs")

    async def _run(self, handlers) -> None:
        """pgqueuer, started again (after a pause) if its connection fails, until stopped."""
        while not self._stopped.is_set():
            self._queuer = self._build(handlers)
            try:
                await self._queuer.run(
                    batch_size=self._batch_size,
                    max_concurrent_tasks=self.settings.jobs_concurrency,
                    heartbeat_timeout=timedelta(seconds=self.settings.jobs_heartbeat_timeout),
                    mode=QueueExecutionMode.continuous,
                )
            except Exception:
                log.exception("the job worker failed; it starts again in %gs", RESTART_PAUSE)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), RESTART_PAUSE)

    @property
    def _batch_size(self) -> int:
        # pgqueuer wants room for two batches in the per-process limit
        return max(1, self.settings.jobs_concurrency // 2)

    def _build(self, handlers) -> PgQueuer:
        assert self._pool is not None
        queuer = PgQueuer(AsyncpgPoolDriver(self._pool))
        for spec in handlers.ENTRYPOINTS.values():
            queuer.entrypoint(
                spec.name,
                concurrency_limit=spec.concurrency or 0,
                accepts_context=False,
                on_failure="hold",
                executor_factory=functools.partial(
                    DatabaseRetryEntrypointExecutor,
                    max_attempts=MAX_RETRIES,
                    initial_delay=timedelta(seconds=spec.retry_after),
                    max_delay=MAX_RETRY_DELAY,
                ),
            )(functools.partial(self._run_job, spec))
        for spec in handlers.PERIODIC.values():
            queuer.schedule(
                spec.name,
                SCHEDULE_KEY,
                accepts_context=False,
                executor_factory=functools.partial(_Every, every=timedelta(seconds=spec.every)),
            )(functools.partial(self._run_periodic, spec))
        return queuer

    async def _run_job(self, spec, job: Job) -> None:
        payload = json.loads(job.payload) if job.payload else {}
        ctx = JobContext(
            self.db, self.settings, spec.name, int(job.id), job.attempts, self._stopped
        )
        if await self._guarded(spec.handler(ctx, payload)):
            # stopped past the grace period: back on the queue, due now (another worker or
            # this one after its restart runs it again)
            raise RetryRequested(reason="the worker stopped before the job finished")

    async def _run_periodic(self, spec, schedule: Schedule) -> None:
        ctx = JobContext(self.db, self.settings, spec.name, stopping=self._stopped)
        try:
            if await self._guarded(spec.handler(ctx)):
                log.info("%s stopped with its worker; the next tick runs as planned", spec.name)
        except Exception:
            log.exception("%s failed; the next tick runs as planned", spec.name)

    async def _guarded(self, work: Awaitable[None]) -> bool:
        """Run `work` as a task `stop()` can cancel; True if it did."""
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._abandoning and task.cancelled() and current and not current.cancelling():
                return True
            raise
        return False

    async def stop(self) -> None:
        """Pick no more jobs; let running ones finish within `shutdown_timeout`, then cancel
        and requeue the rest; close the queue's connections."""
        self._stopped.set()
        if self._task is not None:
            if self._queuer is not None:
                self._queuer.shutdown.set()
            done, _ = await asyncio.wait({self._task}, timeout=self.settings.shutdown_timeout)
            if not done:
                log.warning(
                    "%d running job(s) did not finish in %gs: stopped and queued again",
                    len(self._running),
                    self.settings.shutdown_timeout,
                )
                self._abandoning = True
                for task in list(self._running):
                    task.cancel()
                done, _ = await asyncio.wait({self._task}, timeout=10)
            if not done:  # pgqueuer itself hangs (its database is gone): give up on it
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 10)
            except TimeoutError:  # a connection still held by pgqueuer that gave up
                self._pool.terminate()
