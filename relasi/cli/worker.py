"""`relasi worker`: a process that only runs background jobs, for scaling them out (any
number of them, on any machine, against one database), e.g. next to `relasi serve` with
RELASI_JOBS_IN_SERVER=false.

Like `serve` it uses DATABASE_URL, or joins (starting if need be) the embedded PostgreSQL of
its data dir, and applies pending migrations. SIGTERM and SIGINT stop it gracefully: no new
jobs are picked; running ones get `shutdown_timeout` seconds to finish, then are cancelled and
queued again; it exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import signal
from typing import Annotated

import typer

from relasi import dbschema
from relasi.cli.common import DataDir
from relasi.cli.serve import STOP_SIGNALS, _log_config
from relasi.settings import Settings

log = logging.getLogger("relasi")


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=2, help="Jobs run at once (env RELASI_JOBS_CONCURRENCY)."),
    ] = None,
    data_dir: DataDir = None,
    log_level: Annotated[
        str | None, typer.Option(help="debug, info, warning (env RELASI_LOG_LEVEL).")
    ] = None,
) -> None:
    """Run background jobs (segment refresh, change log retention, ...) until stopped."""
    options = dict(jobs_concurrency=concurrency, data_dir=data_dir, log_level=log_level)
    os.environ.update({f"RELASI_{k.upper()}": str(v) for k, v in options.items() if v is not None})
    settings = Settings()
    logging.config.dictConfig(_log_config(settings.log_level))
    asyncio.run(_work(settings))


async def _work(settings: Settings) -> None:
    from relasi.db import Database
    from relasi.jobs.worker import Worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    db = await Database.from_settings(settings)  # joins the embedded server, or starts it
    try:
        async with db.pool.acquire() as conn:
            applied = await dbschema.migrate(conn)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        worker = Worker(db, settings)
        await worker.start()
        log.info("worker %d running background jobs", os.getpid())
        try:
            await stop.wait()
            log.info("stopping: running jobs get %gs to finish", settings.shutdown_timeout)
        finally:
            await worker.stop()
    finally:
        # a second, impatient signal must not cut the stop of PostgreSQL short
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        await db.close()
