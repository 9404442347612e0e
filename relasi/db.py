"""The PostgreSQL connection pool, and the embedded server used when no DATABASE_URL is set."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

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
# set while a request's Session takes its connection (which it points at its caller itself)
_for_request: ContextVar[bool] = ContextVar("relasi_for_request", default=False)


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


class PooledConnection(asyncpg.Connection):
    """A pooled connection that remembers which request settings it carries.

    A request points its connection at its caller with session settings (role, workspace,
    time limit; `RequestSettings`) in its first round trip, and runs a compiled read right
    after, outside any transaction. Such a connection goes back to the pool as it is: the next
    request sets all of the same settings again (or nothing, when the connection already
    carries exactly its own). Only code other than a request's Session (system work,
    migrations, the CLI, tests) gets it reset first, on acquire (see
    `Database.acquire_for_request`), so a reset is paid when a connection changes hands
    between the two, not on every request."""

    # (workspace id, RequestSettings) the connection is known to be set to; None: not known
    request_settings: tuple | None = None

    def set_request_settings(self, settings: tuple | None) -> None:
        # a method, not an attribute: the pool's proxy forwards calls but has no attributes
        self.request_settings = settings


async def reset_connection(conn: asyncpg.Connection) -> None:
    """What a connection needs before anything but a request uses it again: asyncpg's reset
    (RESET ALL, ...) and the login's own role, which RESET ALL leaves as it was (a connection
    that did system work must not stay relasi_system). One statement, like the default
    reset."""
    await conn.execute("RESET ROLE;\n" + conn.get_reset_query())
    conn.set_request_settings(None)


async def _reset_unless_request(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: none for a request's connection (see PooledConnection)."""
    if conn.request_settings is None:
        await reset_connection(conn)


async def _setup_on_acquire(conn: asyncpg.Connection) -> None:
    """The pool's setup on acquire: a connection that carries a request's settings is reset
    for anything but the next request."""
    if conn.request_settings is not None and not _for_request.get():
        await reset_connection(conn)


async def init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


@dataclass(frozen=True, slots=True)
class RequestSettings:
    """What points a connection at one request's caller: row security admits only its
    workspace's rows (as `role`, when this database has relasi_app), and each statement may
    run `statement_timeout_ms` (0: no limit). Set for the session (a request's connection
    keeps them until the next request sets its own; see PooledConnection) or, `local`, for
    the transaction."""

    statement_timeout_ms: int
    role: str | None

    def select_list(self, workspace: str, first: int, *, local: bool = False) -> str:
        """The `set_config` calls, for a SELECT list: `workspace` is an SQL expression of the
        workspace id's text; the other values are parameters `$first`, ... (`args()`)."""
        scope = "true" if local else "false"
        # the role is set only when there is one; `set_config(..., NULL, ...)` would fail
        role = f", set_config('role', ${first + 1}, {scope})" if self.role is not None else ""
        return (
            f"set_config('relasi.workspace_id', {workspace}, {scope}),"
            f" set_config('statement_timeout', ${first}, {scope}){role}"
        )

    def args(self) -> list[str]:
        return [str(self.statement_timeout_ms), *([self.role] if self.role is not None else [])]

    async def apply(self, conn: asyncpg.Connection, workspace_id, *, local: bool = False) -> None:
        await conn.execute(
            f"SELECT {self.select_list('$1', 2, local=local)}", str(workspace_id), *self.args()
        )


class ReadyConnections:
    """Request connections handed from one request to the next without the pool.

    The pool's acquire and release (a queue, a proxy, a shielded task, the reset hook) cost a
    short read a tenth of its server time; a request's connection needs none of it, since the
    next request points it at its own caller anyway (PooledConnection). A finished request's
    connection is kept here, newest first, while the pool still has a connection of its own to
    give (so nothing else waiting for the pool — the notifier, the jobs — is kept waiting by
    idle connections held here); the next request takes it. One kept longer than `IDLE`
    seconds goes back to the pool, which closes connections idle for long."""

    IDLE = 0.5

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._kept: list[tuple[float, asyncpg.Connection]] = []
        self._sweep: asyncio.TimerHandle | None = None

    def take(self) -> asyncpg.Connection | None:
        while self._kept:
            conn = self._kept.pop()[1]
            if not conn.is_closed():
                return conn
            self._release_later(conn)  # the pool terminates it and connects anew on demand
        return None

    def keep(self, conn: asyncpg.Connection) -> bool:
        """Keep `conn` for the next request (True) if it is idle and the pool can spare it."""
        pool = self.pool
        spare = pool.get_idle_size() + pool.get_max_size() - pool.get_size()
        if spare <= 0 or conn.is_closed() or conn.is_in_transaction():
            return False
        loop = asyncio.get_running_loop()
        self._kept.append((loop.time(), conn))
        if self._sweep is None:
            self._sweep = loop.call_later(self.IDLE, self._return_idle)
        return True

    def _return_idle(self) -> None:
        loop = asyncio.get_running_loop()
        cutoff = loop.time() - self.IDLE
        idle = [conn for since, conn in self._kept if since <= cutoff]
        self._kept = [(since, conn) for since, conn in self._kept if since > cutoff]
        for conn in idle:
            self._release_later(conn)
        self._sweep = loop.call_later(self.IDLE, self._return_idle) if self._kept else None

    def _release_later(self, conn: asyncpg.Connection) -> None:
        task = asyncio.ensure_future(self._release(conn))
        _releasing.add(task)
        task.add_done_callback(_releasing.discard)

    async def _release(self, conn: asyncpg.Connection) -> None:
        try:
            await self.pool.release(conn)
        except Exception:  # a broken connection: the pool has let go of it
            log.debug("a kept connection could not be released", exc_info=True)

    async def release_all(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        kept, self._kept = self._kept, []
        for _, conn in kept:
            await self._release(conn)


_releasing: set[asyncio.Task] = set()  # (the loop holds tasks weakly)


class Database:
    """The pool, plus a hook that lets tests count the SQL statements a request runs."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        embedded: EmbeddedPostgres | None = None,
        *,
        dsn: str | None = None,
        count_statements: bool = False,
    ) -> None:
        self.pool = pool
        self.analyzer = Analyzer(pool)
        self.embedded = embedded  # released on close: the last process out stops it
        self.dsn = dsn  # for connections outside the pool (the LISTEN connection)
        self.counts_statements = count_statements  # (its pool's connections log statements)
        self._request_role: str | object | None = _UNKNOWN
        self._ready = ReadyConnections(pool)

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        embedded: EmbeddedPostgres | None = None,
        connect_timeout: float = 10,
        count_statements: bool = False,
    ) -> Database:
        """`count_statements`: let `capture_statements` see the statements (tests, benches).
        Off when serving: asyncpg then times and logs every statement, a few percent of a
        short read's server time, for nobody."""
        db = cls.__new__(cls)  # the pool's connections log to it: made before the pool

        async def init(conn: asyncpg.Connection) -> None:
            await init_connection(conn)
            if count_statements:
                conn.add_query_logger(db._on_query)

        # a database host that does not answer at all fails a request in `connect_timeout`
        # seconds (SERVICE_UNAVAILABLE), not in asyncpg's default of a minute
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=init,
            setup=_setup_on_acquire,
            reset=_reset_unless_request,
            connection_class=PooledConnection,
            timeout=connect_timeout,
        )
        db.__init__(pool, embedded, dsn=dsn, count_statements=count_statements)
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

    async def request_settings(
        self, conn: asyncpg.Connection, statement_timeout_ms: int = 0
    ) -> RequestSettings:
        """The settings a request's statements run under: the role row security binds (looked
        up once: the migrations have run by the first request) and the time limit of each
        statement (0: none)."""
        if self._request_role is _UNKNOWN:
            self._request_role = await app_role(conn)
        return RequestSettings(statement_timeout_ms, self._request_role)

    async def acquire_for_request(self) -> asyncpg.Connection:
        """A pooled connection for a request's Session, which sets every setting it depends on
        in its first statement: one that carries another request's settings is not reset.
        One a request gave back moments ago (`give_back`) comes first."""
        conn = self._ready.take()
        if conn is not None:
            return conn
        token = _for_request.set(True)
        try:
            return await self.pool.acquire()
        finally:
            _for_request.reset(token)

    async def give_back(self, conn: asyncpg.Connection, *, clean: bool) -> None:
        """A request's connection, its request done: kept for the next request when `clean`
        (its statements ended, no transaction open) and the pool can spare it
        (`ReadyConnections`); else returned to the pool."""
        if not (clean and self._ready.keep(conn)):
            await self.pool.release(conn)  # (its awaits run the statement log's callbacks)
        elif self.counts_statements:
            # kept: nothing awaited yet, but asyncpg logs each statement in a callback soon
            # after it; let those run before the response goes out, so a capture sees all of
            # its request's statements (the connection is kept already: a cancel loses none)
            await asyncio.sleep(0)

    async def begin_request(
        self, conn: asyncpg.Connection, workspace_id, statement_timeout_ms: int = 0
    ) -> None:
        """In a fresh transaction: admit only `workspace_id`'s rows, as the role row security
        binds, and limit how long each statement may run, until the transaction ends."""
        settings = await self.request_settings(conn, statement_timeout_ms)
        await settings.apply(conn, workspace_id, local=True)

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
        if not self.counts_statements:  # else every count would be zero
            raise RuntimeError("capture_statements needs Database.connect(count_statements=True)")
        statements: list[Statement] = []
        token = _capture.set(statements)
        try:
            yield statements
        finally:
            _capture.reset(token)

    async def close(self) -> None:
        try:
            await self.analyzer.idle()
            await self._ready.release_all()  # else the pool waits for them
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


_USE_SYSTEM = """SELECT set_config('relasi.system', $1, $2),
                  set_config('role', CASE WHEN $1 = 'on' AND EXISTS (
                      SELECT 1 FROM pg_roles r WHERE r.rolname = $3 AND r.rolbypassrls
                         AND pg_has_role(session_user, r.oid, 'MEMBER')) THEN $3 ELSE 'none' END,
                      $2)"""


async def use_system(
    conn: asyncpg.Connection, on: bool = True, *, local: bool = False, durable: bool = True
) -> None:
    """Admit every workspace's rows (or stop, with `on=False`, back to the login): for the
    transaction (`local`), or until the connection goes back to the pool.

    As relasi_system, which bypasses row security. Where the migration could not make that
    role, 0006's policies are in place, which admit everything when `relasi.system` is on:
    it is set too, so both work without knowing which one this database has.
    `durable=False`: commits do not wait for the disk either (synchronous_commit off, in the
    same round trip), for bookkeeping that a crash may lose without harm."""
    sql = _USE_SYSTEM if durable else _USE_SYSTEM + ", set_config('synchronous_commit', 'off', $2)"
    await conn.execute(sql, "on" if on else "", local, SYSTEM_ROLE)


@contextlib.asynccontextmanager
async def system_connection(db: Database, *, durable: bool = True):
    """A pooled connection for trusted code that reads or writes across workspaces (see
    use_system for `durable`)."""
    async with db.pool.acquire() as conn:
        await use_system(conn, durable=durable)
        yield conn
