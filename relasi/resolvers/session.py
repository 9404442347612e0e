"""A request's unit of work: its principal, one pooled connection, and its DataLoaders.

An HTTP request takes its connection to authenticate: the look-up of its API key also points
the connection at the caller's workspace (row security) and sets the time limit of each
statement, in one round trip (a key the server remembers, `auth/key_cache.py`, is given as
the principal: its connection is taken and set up on first use, unless already set up); a
WebSocket event's Session takes one on first use (introspection never touches the pool). It is released when the request ends, with these
settings on it: the next request sets its own (`db.PooledConnection`), so no reset runs.

A compiled read is one statement, which needs no transaction around it. Everything else runs
in a transaction begun on its first statement: queries in a read-only REPEATABLE READ one, so
every loader of one request sees the same snapshot; mutations READ COMMITTED, each inside its
own savepoint so a refused mutation leaves nothing half-written.

Past its time limit PostgreSQL cancels a statement, the request ends with TIMEOUT and its
connection goes back to the pool. A connection PostgreSQL refuses or drops ends it with
SERVICE_UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any

import asyncpg
from aiodataloader import DataLoader

from relasi.auth.principal import Principal
from relasi.db import Database, RequestSettings
from relasi.errors import AppError, ServiceUnavailable, Timeout

log = logging.getLogger("relasi")

# What a lost or refused PostgreSQL connection raises: the server is down, restarting, out of
# connection slots, or the network between us broke.
UNAVAILABLE = (
    OSError,  # refused, reset, unreachable (ConnectionError and socket timeouts are OSErrors)
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,  # "connection is closed" after the server went away
)


# What every writing transaction runs last, in it, just before it commits: the consumers of its
# change events that must stay synchronous with the write (segment membership) register here,
# so no write path calls them by hand.
BEFORE_COMMIT: list[Callable[[Session], Awaitable[None]]] = []


def unavailable(request_id: str | None, cause: BaseException) -> ServiceUnavailable:
    """The error a client gets when PostgreSQL cannot be reached; logged under its request id
    (a warning, no traceback: the cause is the database's state, not a bug)."""
    log.warning("request %s: database unavailable: %s: %s", request_id, type(cause).__name__, cause)
    return ServiceUnavailable(
        f"The database is unavailable; retry shortly (request id {request_id}).",
        request_id=request_id,
    )


# (connection, the settings to point it at the caller) -> the caller, or None
LookUp = Callable[[asyncpg.Connection, RequestSettings], Awaitable[Principal | None]]


class Session:
    def __init__(
        self,
        db: Database,
        principal: Principal | None = None,
        *,
        max_page_size: int = 100,
        request_id: str | None = None,
        statement_timeout: float = 0,
        bulk_statement_timeout: float = 0,
    ) -> None:
        self.db = db
        self.principal = principal
        self.max_page_size = max_page_size
        self.request_id = request_id or os.urandom(8).hex()  # 16 hex digits, as uuid4's
        self.read_only = True
        self.bulk = False  # a bulk mutation: the longer time limit (schema/operations.py)
        self.statement_timeout = statement_timeout  # seconds; 0: none
        self.bulk_statement_timeout = bulk_statement_timeout
        # a timeout or lost connection ends the request: its transaction is aborted, and a
        # mutation document is rolled back whole (GraphQL stops at the failed mutation and
        # answers `data: null`, so what ran before it must not stay written unreported)
        self._failure: AppError | None = None
        self._conn: asyncpg.Connection | None = None
        self._closed = False
        self._tx: asyncpg.transaction.Transaction | None = None
        # asyncpg runs one statement at a time per connection, and loaders fire concurrently
        self._lock = asyncio.Lock()
        self._loaders: dict[Hashable, DataLoader] = {}
        self._after_commit: list[Callable[[], None]] = []

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def workspace_id(self) -> uuid.UUID:
        assert self.principal is not None, "the request is authenticated first"
        return self.principal.workspace_id

    async def authenticate(self, look_up: LookUp) -> Principal | None:
        """The request's caller (None: nobody), looked up by `look_up` on the request's own
        connection, which it points at the caller with the settings it is given, in the same
        round trip where it can (`auth/authenticate.py`). A connection PostgreSQL refuses
        raises SERVICE_UNAVAILABLE."""
        try:
            conn = await self.db.acquire_for_request()
        except UNAVAILABLE as e:
            raise unavailable(self.request_id, e) from e
        # until the look-up succeeded the connection's settings are not known (a refused JWT
        # may have set a workspace): released so, it is reset
        conn.set_request_settings(None)
        try:
            settings = await self.db.request_settings(conn, self._limit_ms(bulk=False))
            principal = await look_up(conn, settings)
        except BaseException as e:
            with contextlib.suppress(*UNAVAILABLE):
                await self.db.pool.release(conn)
            if isinstance(e, UNAVAILABLE):
                raise unavailable(self.request_id, e) from e
            raise
        if principal is None:
            with contextlib.suppress(*UNAVAILABLE):
                await self.db.pool.release(conn)
            return None
        conn.set_request_settings((principal.workspace_id, settings))
        self.principal, self._conn = principal, conn
        return principal

    async def park(self) -> None:
        """Give the connection back while the request waits (for a slot of its caller's):
        a waiting request holds none. Its next statement takes one again."""
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                assert self._tx is None, "a request waits before its transaction begins"
                with contextlib.suppress(*UNAVAILABLE):
                    await self.db.pool.release(conn)

    def _limit_ms(self, *, bulk: bool) -> int:
        return round((self.bulk_statement_timeout if bulk else self.statement_timeout) * 1000)

    async def _connection(self, *, transaction: bool = True) -> asyncpg.Connection:
        """The request's connection, pointed at its caller (its first round trip); with
        `transaction`, inside the request's transaction, begun here on first use."""
        if self._closed:
            # a resolver still running after its request ended (a sibling field failed
            # and the response was sent): it must not take a connection nobody releases
            raise RuntimeError("this request's session is closed")
        if self._conn is None:
            conn = await self.db.acquire_for_request()
            try:
                settings = await self.db.request_settings(conn, self._limit_ms(bulk=False))
                wanted = (self.workspace_id, settings)
                if conn.request_settings != wanted:  # else set so by a request of this caller's
                    conn.set_request_settings(None)
                    await settings.apply(conn, self.workspace_id)
                    conn.set_request_settings(wanted)
            except BaseException:
                await self.db.pool.release(conn)
                raise
            self._conn = conn
        if transaction and self._tx is None:
            if self.read_only:
                tx = self._conn.transaction(isolation="repeatable_read", readonly=True)
            else:
                tx = self._conn.transaction(isolation="read_committed")
            await tx.start()
            self._tx = tx
            if self.bulk:  # the longer time limit, for this transaction only
                await self._conn.execute(
                    "SELECT set_config('statement_timeout', $1, true)",
                    str(self._limit_ms(bulk=True)),
                )
        return self._conn

    @contextlib.asynccontextmanager
    async def _statement(self, *, transaction: bool = True) -> AsyncIterator[asyncpg.Connection]:
        """The connection, for one statement at a time; PostgreSQL's cancellations and lost
        connections become the request's coded error."""
        async with self._lock:
            if self._failure is not None:
                # the transaction is aborted: every later statement would fail the same way
                raise copy.copy(self._failure)
            try:
                yield await self._connection(transaction=transaction)
            except asyncpg.QueryCanceledError as e:
                limit = self.bulk_statement_timeout if self.bulk else self.statement_timeout
                self._failure = Timeout(
                    f"The request ran longer than its time limit ({limit:g} s per statement) "
                    "and was stopped. Narrow it (filters, page sizes) and retry."
                )
                raise self._failure from e
            except UNAVAILABLE as e:
                self._failure = unavailable(self.request_id, e)
                raise self._failure from e

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._statement() as conn:
            return await conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self._statement() as conn:
            return await conn.fetchrow(sql, *args)

    async def fetchrow_alone(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """A statement that needs no transaction around it (one statement reads one
        snapshot): the request's when one is open, else none, which spares BEGIN and its
        end. For reads that are the request's only statement."""
        async with self._statement(transaction=False) as conn:
            return await conn.fetchrow(sql, *args)

    async def fetch_alone(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """`fetchrow_alone` for many rows (a burst of subscription payloads)."""
        async with self._statement(transaction=False) as conn:
            return await conn.fetch(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self._statement() as conn:
            return await conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        async with self._statement() as conn:
            return await conn.execute(sql, *args)

    async def executemany(self, sql: str, args: list[tuple]) -> None:
        async with self._statement() as conn:
            await conn.executemany(sql, args)

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Everything inside commits together or not at all (and loaders are reset, so
        reads after a write see it)."""
        async with self._statement() as conn:
            sp = conn.transaction()
            await sp.start()
        try:
            yield
        except BaseException:
            async with self._lock:
                if self._failure is None:  # else close() rolls back the whole transaction
                    await sp.rollback()
            raise
        else:
            async with self._lock:
                await sp.commit()
        finally:
            self._loaders.clear()

    async def audit_as(self, mutation: str) -> None:
        """Attribute the writes that follow (until the transaction ends) to this caller and
        mutation: the audit triggers read these settings (see dbschema/0005_audit.sql)."""
        await self.execute(
            """SELECT set_config('relasi.audit', 'on', true),
                      set_config('relasi.mutation', $1, true),
                      set_config('relasi.request_id', $2, true),
                      set_config('relasi.actor_api_key_id', coalesce($3::uuid::text, ''), true),
                      set_config('relasi.actor_member_id', coalesce($4::uuid::text, ''), true)""",
            mutation,
            self.request_id,
            self.principal.api_key_id,
            self.principal.member_id,
        )

    def loader(self, key: Hashable, batch: Callable[[list[Any]], Any]) -> DataLoader:
        """The request's DataLoader for `key`, made on first use (inside the running loop)."""
        found = self._loaders.get(key)
        if found is None:
            found = self._loaders[key] = DataLoader(batch, cache=True)
        return found

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this request's transaction has committed (never if it rolls
        back), e.g. to start background work on what it wrote."""
        self._after_commit.append(callback)

    async def close(self, *, commit: bool = True) -> None:
        """End the transaction (commit a mutation's, roll back the rest) and give back the
        connection. A commit PostgreSQL cannot take raises SERVICE_UNAVAILABLE (or TIMEOUT):
        the client must not believe it was written."""
        if commit and not self.read_only and self._conn is not None and self._failure is None:
            try:
                for consumer in BEFORE_COMMIT:
                    await consumer(self)
            except BaseException:
                await self.close(commit=False)
                raise
        # under the lock: a statement still running for an abandoned resolver ends first
        async with self._lock:
            self._closed = True
            conn, tx = self._conn, self._tx
            self._conn = self._tx = None
            self._loaders.clear()
            if conn is None:
                return
            clean = False  # the connection idle and pointed at this caller: the next may take it
            try:
                if tx is None:
                    # no transaction began (a compiled read, or nothing ran): none to end
                    clean = commit and self._failure is None
                elif commit and not self.read_only and self._failure is not None:
                    with contextlib.suppress(*UNAVAILABLE):
                        await tx.rollback()
                    raise self._failure
                elif commit and not self.read_only:
                    try:
                        await tx.commit()
                    except asyncpg.QueryCanceledError as e:
                        raise Timeout("The commit ran past its time limit; retry.") from e
                    except UNAVAILABLE as e:
                        raise unavailable(self.request_id, e) from e
                    clean = True
                    for callback in self._after_commit:
                        callback()
                elif not isinstance(self._failure, ServiceUnavailable):
                    # a lost connection has no transaction left to roll back
                    with contextlib.suppress(*UNAVAILABLE):
                        await tx.rollback()
                    clean = commit and self._failure is None  # a read's transaction, ended
            finally:
                self._after_commit.clear()
                # a connection that broke is terminated by the pool (and replaced on demand)
                with contextlib.suppress(*UNAVAILABLE):
                    await self.db.give_back(conn, clean=clean)
