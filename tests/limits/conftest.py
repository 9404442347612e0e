"""What the tenant-isolation tests share: a real uvicorn server in the test's loop, a contact
whose row a test can lock (so a request waits inside PostgreSQL as long as the test wants), and
a look at the backends PostgreSQL is running."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from relasi.db import Database, system_connection
from relasi.server import create_app
from relasi.settings import Settings
from tests.cli.serving import in_loop
from tests.conftest import Api, new_api

CREATE = """mutation { createContact(input: {firstName: "Lock", lastName: "Target"}) {
  contact { id version } userErrors { field message code } } }"""
UPDATE = """mutation($id: ID!, $version: Int!, $name: String!) {
  updateContact(input: {id: $id, version: $version, firstName: $name}) {
    contact { firstName version } userErrors { field message code } } }"""


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """`app` behind a real uvicorn on a free port, in this loop; yields its base URL."""
    async with in_loop(app, log_level="debug") as url:
        yield url


@pytest.fixture
async def make_api(database):
    """An Api of a new workspace on an app with the given settings (no rate limit)."""
    clients: list[httpx.AsyncClient] = []

    async def make(app: Any = None, name: str = "Tenant", **settings: Any) -> Api:
        if app is None:
            app = create_app(Settings(rate_limit=0, **settings), database=database)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://relasi.test", timeout=60
        )
        clients.append(client)
        return await new_api(database, client, name)

    yield make
    for client in clients:
        await client.aclose()


async def new_contact(api: Api, database: Database) -> dict[str, Any]:
    """A new contact of `api`'s workspace: its global `id`, `version` and row id `pk`."""
    contact = (await api.mutate(CREATE))["contact"]
    async with system_connection(database) as conn:
        pk = await conn.fetchval(
            "SELECT id FROM contacts WHERE workspace_id = $1 ORDER BY created_at DESC LIMIT 1",
            api.workspace_id,
        )
    return {**contact, "pk": pk}


@contextlib.asynccontextmanager
async def row_locked(database: Database, pk: Any) -> AsyncIterator[None]:
    """Hold the contact row `pk` locked FOR UPDATE: writers of it wait until the block ends."""
    async with database.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('relasi.system', 'on', true)")
        await conn.execute("SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE", pk)
        yield


async def waiting_on_locks(database: Database) -> int:
    """Backends of the test database that wait for a row lock right now."""
    async with database.pool.acquire() as conn:
        return await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'active' AND wait_event_type = 'Lock'"
        )


async def until(condition: Any, timeout: float = 30) -> None:
    """Wait for `condition()` (async) to hold; fails the test after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)
