"""`relasi serve`: the server's processes from start to a graceful stop.

The parent process starts (or joins) the embedded PostgreSQL, applies migrations and builds
the demo workspace once, then runs uvicorn: in this process with one worker, or as its
supervisor with several (each worker builds the app from the environment, so the options
are passed to them as RELASI_* variables and the embedded server's address as DATABASE_URL).
SIGTERM and SIGINT stop uvicorn gracefully: listening ends, WebSockets get a close frame
(1012, "service restart"), in-flight requests get `shutdown_timeout` seconds to finish; then
the parent leaves the embedded PostgreSQL, stopping it if it was its last user, and exits 0.
Each worker also runs background jobs (relasi/jobs/; off with RELASI_JOBS_IN_SERVER=false),
whose running jobs get `shutdown_timeout` seconds of their own once requests are done.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import logging.config
import os
import signal
from typing import Annotated, Any

import typer

from relasi import dbschema
from relasi.cli.common import DataDir
from relasi.cli.demo import ensure_demo_workspace
from relasi.cli.supervised import SUPERVISOR_PID
from relasi.db import Database, embedded_database
from relasi.embedded import EmbeddedPostgres
from relasi.settings import Settings

log = logging.getLogger("relasi")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
APP_FACTORY = "relasi.cli.supervised:create_app"  # what each worker imports
WEBSOCKET_PROTOCOL = "relasi.ws_server:WebSocketProtocol"  # imported by each worker too


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (env RELASI_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env RELASI_PORT).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Server processes (env RELASI_WORKERS; default: the cores)."),
    ] = None,
    data_dir: DataDir = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Load the demo workspace on first start.")
    ] = False,
    log_level: Annotated[
        str | None, typer.Option(help="debug, info, warning (env RELASI_LOG_LEVEL).")
    ] = None,
) -> None:
    """Run the GraphQL server (http://HOST:PORT/graphql)."""
    import uvicorn

    options = dict(host=host, port=port, workers=workers, data_dir=data_dir, log_level=log_level)
    # the workers read their settings from the environment
    os.environ.update({f"RELASI_{k.upper()}": str(v) for k, v in options.items() if v is not None})
    os.environ[SUPERVISOR_PID] = str(os.getpid())  # workers stop when this process is gone
    settings = Settings()
    log_config = _log_config(settings.log_level)
    logging.config.dictConfig(log_config)

    # Until uvicorn handles them (and after: it raises the signal that stopped it again once
    # it has shut down), a stop signal ends the process through the `finally` below.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _exit_cleanly)
    embedded = None if settings.database_url else EmbeddedPostgres(settings.data_dir)
    try:
        if embedded is not None:
            embedded.start()
        os.environ["DATABASE_URL"] = asyncio.run(_prepare(settings, embedded, demo))
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level.lower(),
            log_config=log_config,
            # a line per request costs every request some of its time: at `debug` only
            access_log=settings.log_level.lower() == "debug",
            timeout_graceful_shutdown=settings.shutdown_timeout,
            # subscription messages are small JSON sent to many sockets at once: compressing
            # each one (permessage-deflate) costs more CPU per event than it saves bytes
            ws_per_message_deflate=False,
            # uvicorn's own, plus a direct write for subscription events (relasi/ws_server.py)
            ws=WEBSOCKET_PROTOCOL,
        )
    finally:
        if embedded is not None:
            # a second, impatient signal must not cut the stop of PostgreSQL short
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_IGN)
            embedded.release()


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


async def _prepare(settings: Settings, embedded: EmbeddedPostgres | None, demo: bool) -> str:
    """Before any worker starts: the database's DSN, migrated, with the demo workspace if
    asked for (the workers' own migration check then finds nothing to do)."""
    dsn = settings.database_url or await embedded_database(embedded)
    db = await Database.connect(dsn, min_size=1, max_size=1)
    try:
        async with db.pool.acquire() as conn:
            applied = await dbschema.migrate(conn)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
            if demo:
                _announce(await ensure_demo_workspace(conn, settings.data_dir), settings)
    finally:
        await db.close()
    return dsn


def _announce(demo: dict[str, str], settings: Settings) -> None:
    key = demo["api_key"]
    typer.echo(
        f"Demo workspace {demo['workspace_id']} ready. API key: {key}\n"
        f"Try: curl -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json'"
        f' -d \'{{"query": "{{ contacts(first: 3) {{ nodes {{ fullName email }} }} }}"}}\''
        f" http://{settings.host}:{settings.port}/graphql"
    )


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus ours (every other logger, at `level`): uvicorn applies it in
    each worker too."""
    import uvicorn.config

    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["relasi"] = {"format": "%(levelname)s %(name)s: %(message)s"}
    config["handlers"]["relasi"] = {
        "class": "logging.StreamHandler",
        "formatter": "relasi",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"handlers": ["relasi"], "level": level.upper()}
    return config
