"""Latency of representative reads on the demo workspace, through the whole ASGI app.

    python bench/api_latency.py [--repeat 200]

Starts an embedded PostgreSQL in a temporary directory (or uses DATABASE_URL, creating a
scratch database there), seeds the demo workspace (2,000 contacts, 50,000 interactions, ...),
then times each scenario in-process with httpx (no network noise) and prints p50/p99 and the
SQL statements each request ran. Requests run as production's do: as `relasi_app`, behind
row-level security. Each scenario runs twice: right after seeding (as `relasi serve --demo`
leaves a new workspace) and after a database-wide ANALYZE (as autovacuum leaves it later).
Deep pages are reached by walking cursors first, so the "deep" rows show that keyset
pagination costs the same at page 1 and page 400.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from scratch import Api, in_process, new_workspace, percentiles, scratch_database

from relasi.db import APP_ROLE, app_role
from relasi.seed import seed_demo

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

# the README's example, and the filter of issue 11 (a link table and a join)
HOT_RETAIL_PROSPECTS = """{
  contacts(
    filter: {
      account: {industry: {eq: "Retail"}, employeeCount: {gt: 500}}
      deals: {some: {status: {eq: OPEN}, amount: {gt: "50000"}, stage: {name: {eq: "Proposal"}}}}
      cases: {none: {status: {in: [NEW, OPEN, PENDING]}, priority: {eq: URGENT}}}
      customAttributes: [{key: "plan", eq: "pro"}]
    }
    orderBy: [{field: LAST_NAME}, {field: CREATED_AT, direction: DESC}]
    first: 20
  ) { totalCount nodes { fullName email account { name } } pageInfo { hasNextPage endCursor } }
}"""

RETAIL_WITH_OPEN_DEALS = """{
  contacts(first: 20, filter: {account: {industry: {eq: "Retail"}}, deals: {some: {status: {eq: OPEN}}}})
  { totalCount nodes { fullName } }
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


async def _time(api: Api, query: str, variables: dict, repeat: int) -> tuple[list[float], int]:
    samples, statements = [], 0
    for _ in range(repeat):
        elapsed, statements, _ = await api.timed(query, variables)
        samples.append(elapsed)
    return samples, statements


async def _cursor_at(api: Api, query: str, field: str, pages: int) -> str | None:
    """Walk `pages` pages of a list and return the cursor after them."""
    after = None
    for _ in range(pages):
        after = (await api.post(query, {"after": after}))[field]["pageInfo"]["endCursor"]
    return after


def _row(name: str, samples: list[float], statements: int) -> str:
    p50, p99 = percentiles(samples)
    return f"{name:<44} {p50:8.2f} {p99:8.2f} {statements:6d}"


async def main(repeat: int) -> None:
    async with scratch_database() as (_, db):
        async with db.pool.acquire() as conn:
            workspace_id, key = await new_workspace(conn)
            started = time.perf_counter()
            counts = await seed_demo(conn, workspace_id)  # analyzes what it loaded
            print(f"seeded demo workspace in {time.perf_counter() - started:.1f} s: {counts}")
        async with db.pool.acquire() as conn:  # as the login, which requests switch from
            if await app_role(conn) != APP_ROLE:
                raise SystemExit(f"no {APP_ROLE} role: requests would run past row security")
        async with in_process(db, key) as api:
            deep_contacts = await _cursor_at(api, CUSTOMER_LIST, "contacts", 90)
            deep_interactions = await _cursor_at(api, INTERACTIONS_PAGE, "interactions", 450)
            scenarios = [
                ("20 contacts + account, deals, cases, touches", CUSTOMER_LIST, {"after": None}),
                ("  same, page 91 (after 1,800 contacts)", CUSTOMER_LIST, {"after": deep_contacts}),
                ("graph filter (4 relation hops) + count", GRAPH_FILTER, {}),
                ("HotRetailProspects (README) + count", HOT_RETAIL_PROSPECTS, {}),
                ("Retail contacts with an open deal + count", RETAIL_WITH_OPEN_DEALS, {}),
                ("50 accounts x their first 5 contacts", ACCOUNTS_WITH_CONTACTS, {}),
                ("100 interactions, first page", INTERACTIONS_PAGE, {"after": None}),
                (
                    "  same, page 451 (after 45,000)",
                    INTERACTIONS_PAGE,
                    {"after": deep_interactions},
                ),
            ]
            for moment in ("right after seeding", "after ANALYZE"):
                if moment == "after ANALYZE":
                    async with db.pool.acquire() as conn:
                        await conn.execute("ANALYZE")
                print(
                    f"\n{moment + ', as ' + APP_ROLE:<44} {'p50 ms':>8} {'p99 ms':>8} {'SQL':>6}"
                    f"   ({repeat} requests each)"
                )
                for name, query, variables in scenarios:
                    samples, statements = await _time(api, query, variables, repeat)
                    print(_row(name, samples, statements))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="requests per scenario")
    asyncio.run(main(parser.parse_args().repeat))
