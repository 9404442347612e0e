"""Row-level security must not change plans: every kind of filter and relation page the storage
mapping offers reads, under `relasi_app` with its workspace set (as every request runs), at
most about the buffers the same statement reads without row security, on a bulk-loaded
workspace before its first ANALYZE and after it. And the wall still holds: a statement that
names another workspace finds nothing.

The statements are the ones the API sends (captured with their values), not SQL written here;
the comparison is of buffer counts (`EXPLAIN (ANALYZE, BUFFERS)`), which do not vary between
runs the way times do. The workspace lives in a database of its own, with autovacuum off, so
"no statistics yet" stays true until the test analyzes.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from relasi.db import Database, Statement, use_system
from relasi.resolvers.workspaces import create_workspace
from relasi.seed import seed_demo
from relasi.server import create_app
from relasi.settings import Settings
from tests.conftest import Api, fresh_database
from tests.test_readme_examples import EXAMPLES

MAX_RATIO = 1.5

# the README's example, as the README has it
(HOT_RETAIL_PROSPECTS,) = [e for e in EXAMPLES if "query HotRetailProspects" in e]

# contact filters, each read as a page and a count
CONTACT_FILTERS = {
    "field": "{lifecycleStage: {eq: CUSTOMER}}",
    "to-one": '{account: {industry: {eq: "Retail"}}}',
    "to-many some": "{cases: {some: {priority: {eq: URGENT}}}}",
    "to-many none": "{cases: {none: {status: {in: [NEW, OPEN, PENDING]}}}}",
    "to-many every": "{interactions: {every: {channel: {ne: WHATSAPP}}}}",
    "many-to-many some": "{deals: {some: {status: {eq: OPEN}}}}",
    "many-to-many none": "{deals: {none: {status: {eq: WON}}}}",
    "many-to-many every": "{deals: {every: {status: {eq: OPEN}}}}",
    "to-one and many-to-many (the issue's)": (
        '{account: {industry: {eq: "Retail"}}, deals: {some: {status: {eq: OPEN}}}}'
    ),
    "two hops": '{deals: {some: {stage: {name: {eq: "Proposal"}}}}}',
    "three hops": "{deals: {some: {account: {cases: {some: {priority: {eq: URGENT}}}}}}}",
    "search": '{search: "an"}',
    "side table (emails)": "{email: {isNull: false}, phone: {isNull: true}}",
    "custom attributes": '{customAttributes: [{key: "plan", eq: "pro"}]}',
    "behaviour": "{touchpoints: {matching: {channel: {eq: WHATSAPP}}, atLeast: 3}}",
    "segment membership": "{inSegment: [$segment]}",
    "and / or / not": (
        "{or: [{lifecycleStage: {eq: LEAD}}, {deals: {some: {status: {eq: WON}}}}],"
        " not: {cases: {some: {priority: {eq: URGENT}}}}}"
    ),
}

DOCUMENTS = {
    **{
        f"contacts: {name}": (
            ("query($segment: ID!) " if "$segment" in flt else "")
            + "{ contacts(first: 20, filter: "
            + flt
            + ") { totalCount nodes { id } } }"
        )
        for name, flt in CONTACT_FILTERS.items()
    },
    "contacts: HotRetailProspects": HOT_RETAIL_PROSPECTS,
    "deals: many-to-many from the deal": (
        "{ deals(first: 20, filter: {contacts: {some: {lifecycleStage: {eq: CUSTOMER}}}})"
        " { totalCount nodes { id } } }"
    ),
    "accounts: three hops": (
        "{ accounts(first: 20, filter: {contacts: {some: {deals: {some: {status: {eq: OPEN}}}}}})"
        " { totalCount nodes { id } } }"
    ),
    "page: to-many (account's contacts)": (
        "{ accounts(first: 50) { nodes { contacts(first: 5) { totalCount nodes { id } } } } }"
    ),
    "page: many-to-many, filtered (contact's open deals)": (
        "{ contacts(first: 50) { nodes {"
        " deals(first: 5, filter: {status: {eq: OPEN}}) { totalCount nodes { id } } } } }"
    ),
    "page: many-to-many (deal's contacts) and to-one": (
        "{ deals(first: 50) { nodes { contacts(first: 5) { totalCount edges { role node { id } } }"
        " account { name } stage { name } } } }"
    ),
    "page: to-many (contact's cases, interactions)": (
        "{ contacts(first: 50) { nodes { cases(first: 5) { totalCount nodes { id } }"
        " interactions(first: 5) { nodes { id } } } } }"
    ),
    "page: many-to-many (segment's members)": (
        "query($segment: ID!) { segment(id: $segment) {"
        " members(first: 20, orderBy: [{field: LAST_NAME}]) { totalCount nodes { id } } } }"
    ),
}


@dataclass
class Demo:
    database: Database
    api: Api
    other_workspace: uuid.UUID
    segment: str
    statements: dict[str, list[Statement]]


@pytest.fixture(scope="module")
async def demo(postgres_server_uri):
    """Two demo workspaces bulk-loaded into a database of their own, never analyzed."""
    async with fresh_database(postgres_server_uri) as database:
        async with database.pool.acquire() as conn:
            # autovacuum would analyze within a minute: the test decides when statistics exist
            for table in await conn.fetch(
                "SELECT relname FROM pg_class WHERE relkind = 'r'"
                " AND relnamespace = current_schema()::regnamespace"
            ):
                await conn.execute(f'ALTER TABLE "{table[0]}" SET (autovacuum_enabled = false)')
            other, _ = await create_workspace(conn, "Other")
            await seed_demo(conn, other, seed=3, fresh_statistics=False)
            workspace, key = await create_workspace(conn, "Demo")
            await seed_demo(conn, workspace, fresh_statistics=False)
        app = create_app(Settings(max_page_size=100, rate_limit=0), database=database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as c:
            api = Api(c, workspace, key)
            created = await api.mutate(
                """mutation { createSegment(input: {name: "Customers",
                       rule: {lifecycleStage: {eq: CUSTOMER}}}) {
                     segment { id size } userErrors { code } } }"""
            )
            assert created["segment"]["size"] > 0
            demo = Demo(database, api, other, created["segment"]["id"], {})
            for name, document in DOCUMENTS.items():
                demo.statements[name] = await _statements(demo, document)
            yield demo


async def _statements(demo: Demo, document: str) -> list[Statement]:
    """The statements reading the document's data (not the key lookup or the settings), on
    both read paths: the resolvers' several statements and the compiled one."""
    variables = {"segment": demo.segment} if "$segment" in document else {}
    reads: list[Statement] = []
    for path in ("resolvers", "compiled"):
        with demo.database.capture_statements() as captured:
            response = await demo.api.post(document, variables, **{"X-Relasi-Read-Path": path})
        assert "errors" not in response.json(), response.json()["errors"]
        found = [
            s
            for s in captured
            if s.lstrip().startswith("SELECT") and "api_keys" not in s and "set_config" not in s
        ]
        assert found, (path, document)
        reads += found
    return reads


@contextlib.asynccontextmanager
async def _connection(demo: Demo, *, rls: bool) -> AsyncIterator[asyncpg.Connection]:
    """In a read-only transaction: as a request of the demo workspace runs (`rls`), or as
    relasi_system, which row security does not apply to."""
    async with (
        demo.database.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        if rls:
            await demo.database.begin_request(conn, demo.api.workspace_id)
        else:
            await use_system(conn, local=True)
        yield conn


async def _explain(demo: Demo, statement: Statement, *, rls: bool) -> dict:
    """The executed plan's top node (its buffers include those of everything below it)."""
    async with _connection(demo, rls=rls) as conn:
        plan = await conn.fetchval(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, *statement.args
        )
    return plan[0]["Plan"]  # the pool decodes json


def _buffers(node: dict) -> int:
    return node["Shared Hit Blocks"] + node["Shared Read Blocks"]


async def _excess(demo: Demo) -> list[str]:
    """Every statement of the matrix whose reads under row security pass the bound."""
    over = []
    for name, statements in demo.statements.items():
        for statement in statements:
            bare = await _explain(demo, statement, rls=False)
            guarded = await _explain(demo, statement, rls=True)
            assert guarded["Actual Rows"] == bare["Actual Rows"], (name, statement)
            if _buffers(guarded) > MAX_RATIO * _buffers(bare):
                over.append(
                    f"{name}: {_buffers(guarded)} buffers under RLS, {_buffers(bare)} without"
                    f" -- {' '.join(statement.split())[:160]}"
                )
    return over


async def test_row_security_reads_what_the_owner_reads_before_and_after_analyze(demo):
    async with demo.database.pool.acquire() as conn:
        never = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN ('contacts', 'deals',"
            " 'deal_contacts') AND last_analyze IS NULL AND last_autoanalyze IS NULL"
        )
    assert never == 3  # what a bulk load looks like before autovacuum gets to it
    before = await _excess(demo)
    async with demo.database.pool.acquire() as conn:
        await conn.execute("ANALYZE")  # as the login, the tables' owner
    after = await _excess(demo)
    assert before == [] and after == [], "\n".join(
        ["without statistics:", *before, "after ANALYZE:", *after]
    )


async def test_a_statement_naming_another_workspace_finds_nothing(demo):
    """Each count of the matrix, run for the other workspace (as a statement that forgot or
    mistook its workspace condition would): past row security it finds that workspace's rows,
    as a request of the demo workspace nothing."""
    past, guarded = [], []
    for statements in demo.statements.values():
        for statement in statements:
            if not statement.lstrip().startswith("SELECT count(*)"):
                continue
            args = (demo.other_workspace, *statement.args[1:])
            for rls, counts in ((False, past), (True, guarded)):
                async with _connection(demo, rls=rls) as conn:
                    counts.append(await conn.fetchval(str(statement), *args))
    assert len(past) >= len(CONTACT_FILTERS) and sum(past) > 0
    assert set(guarded) == {0}
