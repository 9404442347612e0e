"""A large batch into a new workspace leaves the planner knowing about it: once the batch has
committed, the server analyzes what it wrote, instead of leaving the workspace's first minutes
to statistics from before it existed. Small batches cost no ANALYZE.

On a database of its own (planner statistics are per database), with autovacuum off there so
only the server can have analyzed.
"""

import httpx
import pytest

from relasi.analyze import BULK_ROWS
from relasi.resolvers.workspaces import create_workspace
from relasi.server import create_app
from relasi.settings import Settings
from tests.conftest import Api, fresh_database

BATCH = """mutation($inputs: [TrackInteractionInput!]!) { trackInteractions(inputs: $inputs) {
    results { created userErrors { code } } userErrors { code } } }"""


@pytest.fixture
async def fresh(postgres_server_uri):
    async with fresh_database(postgres_server_uri) as database:
        async with database.pool.acquire() as conn:
            await conn.execute("ALTER TABLE interactions SET (autovacuum_enabled = false)")
            workspace_id, key = await create_workspace(conn, "Imports")
        app = create_app(Settings(rate_limit=0), database=database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as c:
            yield database, Api(c, workspace_id, key)


async def _statistics(database, workspace_id) -> tuple[int, bool]:
    """(manual ANALYZEs of interactions, whether its workspace_id statistics know the
    workspace)."""
    async with database.pool.acquire() as conn:
        analyzed = await conn.fetchval(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'interactions'"
        )
        known = await conn.fetchval(
            """SELECT coalesce(bool_or($1 = ANY(most_common_vals::text::uuid[])), false)
                 FROM pg_stats WHERE tablename = 'interactions' AND attname = 'workspace_id'""",
            workspace_id,
        )
    return analyzed, known


async def _track(api: Api, contact_id: str, count: int, offset: int = 0) -> None:
    inputs = [
        {
            "contactId": contact_id,
            "channel": "WEB",
            "kind": "PAGE_VIEW",
            "source": "import",
            "externalId": f"visit-{offset + i}",
        }
        for i in range(count)
    ]
    results = (await api(BATCH, inputs=inputs))["trackInteractions"]["results"]
    assert all(r["created"] and not r["userErrors"] for r in results)


async def test_a_large_batch_is_analyzed_after_it_commits_and_a_small_one_is_not(fresh):
    database, api = fresh
    created = await api.mutate(
        'mutation { createContact(input: {firstName: "Rani"}) { contact { id } userErrors { code } } }'
    )
    contact_id = created["contact"]["id"]
    assert await _statistics(database, api.workspace_id) == (0, False)

    await _track(api, contact_id, 1000)
    await database.analyzer.idle()  # it runs after the response, in the background
    analyzed, known = await _statistics(database, api.workspace_id)
    assert analyzed == 1 and known

    await _track(api, contact_id, BULK_ROWS // 10, offset=1000)
    await database.analyzer.idle()
    assert await _statistics(database, api.workspace_id) == (1, True)


async def test_a_refused_batch_analyzes_nothing(fresh):
    database, api = fresh
    inputs = [{"contactId": "Q29udGFjdDpub25l", "channel": "WEB", "kind": "PAGE_VIEW"}] * 1000
    results = (await api(BATCH, inputs=inputs))["trackInteractions"]["results"]
    assert all(r["userErrors"] for r in results)
    await database.analyzer.idle()
    assert await _statistics(database, api.workspace_id) == (0, False)
