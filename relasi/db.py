"""The PostgreSQL connection pool, and the embedded server used when no DATABASE_URL is set."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar

import asyncpg

from relasi.analyze import Analyzer
from relasi.embedded import EmbeddedPostgres
from relasi.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "relasi"
_UNKNOWN = object()


class Statement(str):
    """A captured statement: its SQL text, with the values it was bound to in `args`."""

    args: tuple = ()


# asyncpg's look-up of a type it meets first on a connection (with JIT off around it)
_ASYNCPG_TYPE_LOOKUP = (
    "WITH RECURSIVE typeinfo_tree(",
    "SELECT current_setting('jit') AS cur, set_config('jit', 'off', false)",
    "SELECT set_config('jit', $1, false)",
)
_capture: ContextVar[list[Statement] | None] = ContextVar("relasi_capture", default=None)


async def ensure_database(server_uri: str, name: str) -> None:
    conn = await asyncpg.connect(server_uri)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # identifiers cannot be parameters; `name` is a constant of ours, quoted anyway
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def embedded_database(embedded: EmbeddedPostgres) -> str:
    """The DSN of Relasi's database on the (started) embedded server, created on first use."""
    await ensure_database(embedded.uri(), EMBEDDED_DATABASE)
    return embedded.uri(EMBEDDED_DATABASE)


async def reset_connection(conn: asyncpg.Connection) -> None:
    """What a connection goes back to the pool with: asyncpg's reset (RESET ALL, ...) and the
    login's own role, which RESET ALL leaves as it was (a connection that did system work must
    not stay relasi_system). One statement, like the default reset."""
    await conn.execute("RESET ROLE;\n" + conn.get_reset_query())


async def init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


class Database:
    """The pool, plus a hook that lets tests count the SQL statements a request runs."""

    def __init__(self, pool: asyncpg.Pool, embedded: EmbeddedPostgres | None = None) -> None:
        self.pool = pool
        self.analyzer = Analyzer(pool)
        self.embedded = embedded  # released on close: the last process out stops it
        self.dsn: str | None = None  # for connections outside the pool (the LISTEN connection)
        self._request_role: str | object | None = _UNKNOWN

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        embedded: EmbeddedPostgres | None = None,
        connect_timeout: float = 10,
    ) -> Database:
        db = cls.__new__(cls)
        db._request_role = _UNKNOWN
        db.embedded = embedded
        db.dsn = dsn

        async def init(conn: asyncpg.Connection) -> None:
            await init_connection(conn)
            conn.add_query_logger(db._on_query)

        # a database host that does not answer at all fails a request in `connect_timeout`
        # seconds (SERVICE_UNAVAILABLE), not in asyncpg's default of a minute
        db.pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=init,
            reset=reset_connection,
            timeout=connect_timeout,
        )
        db.analyzer = Analyzer(db.pool)
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
        embedded = EmbeddedPostgres(settings.data_dir)
        try:
            embedded.start()
            return await cls.connect(
                await embedded_database(embedded),
                min_size=settings.pool_min_size,
                max_size=settings.pool_max_size,
                embedded=embedded,
                connect_timeout=settings.db_connect_timeout,
            )
        except BaseException:
            embedded.release()
            raise

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
        if capture is None:
            return
        # asyncpg's type look-ups are no statements of ours: counting them would make counts
        # depend on which pooled connection ran
        if " ".join(record.query.split()).startswith(_ASYNCPG_TYPE_LOOKUP):
            return
        statement = Statement(record.query)
        statement.args = record.args
        capture.append(statement)

    @contextlib.contextmanager
    def capture_statements(self) -> Iterator[list[Statement]]:
        """Collect the statements this task (and the tasks it starts) runs while the block
        runs, for tests: background work of the same process (the notifier, the segment
        scheduler) stays out. asyncpg calls the logger in the querying task's context."""
        statements: list[Statement] = []
        token = _capture.set(statements)
        try:
            yield statements
        finally:
            _capture.reset(token)

    async def close(self) -> None:
        try:
            await self.analyzer.idle()
            await self.pool.close()
        finally:
            if self.embedded is not None:
                self.embedded.release()


# Row-level security (dbschema/0006_row_level_security.sql, 0007_...) admits the rows of the
# workspace a connection is set to. Requests set theirs per transaction (resolvers/session.py);
# trusted code that works across workspaces (the notifier, the segment scheduler, the CLI, the
# seed) switches to the role that passes row security.
APP_ROLE = "relasi_app"  # the role requests run as (dbschema/0006_row_level_security.sql)
SYSTEM_ROLE = "relasi_system"  # BYPASSRLS, for work across workspaces (dbschema/0007_...)


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
    """Admit every workspace's rows (or stop, with `on=False`, back to the login): for the
    transaction (`local`), or until the connection goes back to the pool.

    As relasi_system, which bypasses row security. Where the migration could not make that
    role, 0006's policies are in place, which admit everything when `relasi.system` is on:
    it is set too, so both work without knowing which one this database has."""
    await conn.execute(
        """SELECT set_config('relasi.system', $1, $2),
                  set_config('role', CASE WHEN $1 = 'on' AND EXISTS (
                      SELECT 1 FROM pg_roles r WHERE r.rolname = $3 AND r.rolbypassrls
                         AND pg_has_role(session_user, r.oid, 'MEMBER')) THEN $3 ELSE 'none' END,
                      $2)""",
        "on" if on else "",
        local,
        SYSTEM_ROLE,
    )


@contextlib.asynccontextmanager
async def system_connection(db: Database):
    """A pooled connection for trusted code that reads or writes across workspaces."""
    async with db.pool.acquire() as conn:
        await use_system(conn)
        yield conn
