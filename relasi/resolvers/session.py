"""A request's unit of work: its principal, one pooled connection in one transaction, and its
DataLoaders.

The connection is taken on first use (introspection never touches the pool) and released when
the request ends. Queries run in a read-only REPEATABLE READ transaction, so every loader of one
request sees the same snapshot; mutations run READ COMMITTED, each inside its own savepoint so a
refused mutation leaves nothing half-written.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any

import asyncpg
from aiodataloader import DataLoader

from relasi.auth.principal import Principal
from relasi.db import Database


class Session:
    def __init__(
        self,
        db: Database,
        principal: Principal,
        *,
        max_page_size: int = 100,
        request_id: str | None = None,
    ) -> None:
        self.db = db
        self.principal = principal
        self.max_page_size = max_page_size
        self.request_id = request_id or uuid.uuid4().hex[:16]
        self.read_only = True
        self._conn: asyncpg.Connection | None = None
        self._closed = False
        self._tx: asyncpg.transaction.Transaction | None = None
        # asyncpg runs one statement at a time per connection, and loaders fire concurrently
        self._lock = asyncio.Lock()
        self._loaders: dict[Hashable, DataLoader] = {}
        self._after_commit: list[Callable[[], None]] = []

    @property
    def workspace_id(self) -> uuid.UUID:
        return self.principal.workspace_id

    async def _connection(self) -> asyncpg.Connection:
        if self._closed:
            # a resolver still running after its request ended (a sibling field failed
            # and the response was sent): it must not take a connection nobody releases
            raise RuntimeError("this request's session is closed")
        if self._conn is None:
            conn = await self.db.pool.acquire()
            if self.read_only:
                tx = conn.transaction(isolation="repeatable_read", readonly=True)
            else:
                tx = conn.transaction(isolation="read_committed")
            try:
                await tx.start()
                await self.db.begin_request(conn, self.workspace_id)  # row-level security
            except BaseException:
                await self.db.pool.release(conn)
                raise
            self._conn, self._tx = conn, tx
        return self._conn

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._lock:
            return await (await self._connection()).fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self._lock:
            return await (await self._connection()).fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self._lock:
            return await (await self._connection()).fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        async with self._lock:
            return await (await self._connection()).execute(sql, *args)

    async def executemany(self, sql: str, args: list[tuple]) -> None:
        async with self._lock:
            await (await self._connection()).executemany(sql, args)

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Everything inside commits together or not at all (and loaders are reset, so
        reads after a write see it)."""
        async with self._lock:
            sp = (await self._connection()).transaction()
            await sp.start()
        try:
            yield
        except BaseException:
            async with self._lock:
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
        # under the lock: a statement still running for an abandoned resolver ends first
        async with self._lock:
            self._closed = True
            conn, tx = self._conn, self._tx
            self._conn = self._tx = None
            self._loaders.clear()
            if conn is None:
                return
            try:
                if commit and not self.read_only:
                    await tx.commit()
                    for callback in self._after_commit:
                        callback()
                else:
                    await tx.rollback()
            finally:
                self._after_commit.clear()
                await self.db.pool.release(conn)
