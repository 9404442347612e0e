"""Noisy neighbour: workspace B's customer screen while workspace A floods the same server.

    python bench/noisy_neighbour.py [--repeat 100] [--flooders 32]

Seeds two demo workspaces in a scratch database (embedded, or on DATABASE_URL), then times
B's "customer screen in one request" (README) through the whole app in-process, one request at
a time: alone, while A's `--flooders` concurrent clients send expensive queries at A's limits
(256-character search patterns that match nothing, over every interaction and contact, pages
of 100) with the default limits, and the same flood with the per-key in-flight cap off. The
pool has 10 connections, as `relasi serve` by default. Prints B's p50/p99 and what A got.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import string
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
from scratch import Api, bench_settings, new_workspace, percentiles, scratch_database

from relasi.db import Database
from relasi.seed import seed_demo
from relasi.server import create_app

POOL_SIZE = 10

CUSTOMER = """query Customer($id: ID!) {
  contact(id: $id) {
    id fullName email phones { number primary }
    lifecycleStage journeyStage leadRating customAttributes
    owner { name }
    account { name domain industry parent { name } }
    deals(first: 5, filter: {status: {eq: OPEN}}) {
      totalCount
      edges { role node { name amount { amount currency } stage { name probability } } }
    }
    cases(first: 5, orderBy: [{field: SLA_DUE_AT, direction: ASC}]) {
      nodes { subject status priority slaDueAt slaBreached }
    }
    interactions(first: 10) {
      edges { cursor node { occurredAt channel kind summary utm { campaign } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""

# what a hostile tenant can still send: the longest patterns, matching nothing, over everything
FLOOD = """query Flood($p: String!) {
  interactions(first: 100, filter: {search: $p}) { totalCount nodes { occurredAt summary } }
  contacts(first: 100, filter: {or: [{search: $p}, {interactions: {some: {search: $p}}}]}) {
    totalCount nodes { fullName }
  }
}"""

BUSIEST_CONTACT = """{ contacts(first: 1, filter: {deals: {some: {status: {eq: OPEN}}},
  cases: {some: {status: {in: [NEW, OPEN]}}}}) { nodes { id } } }"""


@contextlib.asynccontextmanager
async def client(db: Database, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(bench_settings(**settings), database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as c:
        yield c


async def flood(http: httpx.AsyncClient, key: str, stop: asyncio.Event, seen: Counter) -> None:
    """One of A's clients: sends FLOOD back to back until `stop`, counting the answers."""
    headers = {"Authorization": f"Bearer {key}"}
    while not stop.is_set():
        pattern = "".join(random.choices(string.ascii_letters, k=256))
        response = await http.post(
            "/graphql", json={"query": FLOOD, "variables": {"p": pattern}}, headers=headers
        )
        errors = response.json().get("errors") or []
        codes = {e.get("extensions", {}).get("code") for e in errors}
        seen[f"{response.status_code} {'/'.join(sorted(codes)) or 'ok'}"] += 1


async def screen(api: Api, contact_id: str, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        elapsed, _, _ = await api.timed(CUSTOMER, {"id": contact_id})
        samples.append(elapsed)
    return samples


async def scenario(
    db: Database, keys: dict[str, str], contact_id: str, repeat: int, flooders: int, **limits: Any
) -> tuple[list[float], Counter, float]:
    """B's samples, A's answers and A's seconds of flooding, with `flooders` clients of A."""
    async with client(db, **limits) as http:
        b = Api(http, db, keys["B"])
        await screen(b, contact_id, 5)  # warm the caches
        stop, seen = asyncio.Event(), Counter()
        tasks = [asyncio.create_task(flood(http, keys["A"], stop, seen)) for _ in range(flooders)]
        started = time.perf_counter()
        if flooders:
            await asyncio.sleep(1)  # let the flood fill the pool first
        samples = await screen(b, contact_id, repeat)
        stop.set()
        await asyncio.gather(*tasks)
        return samples, seen, time.perf_counter() - started


async def main(repeat: int, flooders: int) -> None:
    async with scratch_database(max_size=POOL_SIZE) as (_, db):
        keys = {}
        for name in ("A", "B"):
            async with db.pool.acquire() as conn:
                workspace_id, keys[name] = await new_workspace(conn, name)
                await seed_demo(conn, workspace_id)
        async with db.pool.acquire() as conn:
            await conn.execute("ANALYZE")
        async with client(db) as http:
            found = await Api(http, db, keys["B"]).post(BUSIEST_CONTACT)
        contact_id = found["contacts"]["nodes"][0]["id"]

        runs = [
            ("B alone", 0, {}),
            (f"B while A floods ({flooders} clients), default limits", flooders, {}),
            ("same flood, no per-key cap", flooders, {"max_requests_in_flight": 0}),
        ]
        print(f"\n{'scenario':<52} {'p50 ms':>8} {'p99 ms':>8}   ({repeat} requests of B each)")
        for name, clients, limits in runs:
            samples, seen, seconds = await scenario(db, keys, contact_id, repeat, clients, **limits)
            p50, p99 = percentiles(samples)
            print(f"{name:<52} {p50:8.1f} {p99:8.1f}")
            if seen:
                answers = ", ".join(f"{n} x {what}" for what, n in seen.most_common())
                print(f"{'':<4}A got in {seconds:.0f} s: {answers}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100, help="customer screens of B per run")
    parser.add_argument("--flooders", type=int, default=32, help="A's concurrent clients")
    args = parser.parse_args()
    asyncio.run(main(args.repeat, args.flooders))
