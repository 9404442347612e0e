"""The second wall: PostgreSQL row-level security admits only the rows of the workspace a
transaction is set to, so even a query that forgot its workspace condition sees, changes and
creates nothing foreign."""

import asyncpg
import httpx
import pytest

from relasi.auth.principal import Principal
from relasi.db import Database, system_connection, use_system
from relasi.resolvers.session import Session
from relasi.server import create_app
from relasi.settings import Settings
from tests.conftest import new_api

CREATE = """mutation($n: String!) { createContact(input: {firstName: $n}) {
    contact { id } userErrors { code } } }"""


async def test_a_query_without_its_workspace_condition_sees_only_its_workspace(
    api, other_api, database
):
    await api.mutate(CREATE, n="Mine")
    await other_api.mutate(CREATE, n="Theirs")
    session = Session(database, Principal(workspace_id=api.workspace_id))
    try:
        # deliberately no workspace condition: the database adds it
        names = [r["first_name"] for r in await session.fetch("SELECT first_name FROM contacts")]
        events = await session.fetchval("SELECT count(DISTINCT workspace_id) FROM timeline_events")
        audit = await session.fetchval("SELECT count(DISTINCT workspace_id) FROM audit_log")
    finally:
        await session.close()
    assert names == ["Mine"]
    assert events == 1 and audit == 1


async def test_writes_into_another_workspace_are_refused(api, other_api, database):
    session = Session(database, Principal(workspace_id=api.workspace_id))
    session.read_only = False
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await session.execute(
                "INSERT INTO contacts (workspace_id, first_name) VALUES ($1, 'Intruder')",
                other_api.workspace_id,
            )
    finally:
        await session.close(commit=False)
    changed = Session(database, Principal(workspace_id=api.workspace_id))
    changed.read_only = False
    try:
        status = await changed.execute("UPDATE contacts SET first_name = 'Hijacked'")
    finally:
        await changed.close(commit=False)
    foreign = await other_api("{ contacts { nodes { firstName } } }")
    assert "Hijacked" not in str(foreign) and status == "UPDATE 0"


async def test_a_connection_set_to_no_workspace_sees_nothing(api, database):
    await api.mutate(CREATE, n="Hidden")
    async with database.pool.acquire() as conn:
        await conn.execute("SET ROLE relasi_app")  # the role requests run as
        try:
            assert await conn.fetchval("SELECT count(*) FROM contacts") == 0
            assert await conn.fetchval("SELECT count(*) FROM interactions") == 0
        finally:
            await conn.execute("RESET ROLE")
        tables = await conn.fetchval(
            """SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = current_schema() AND c.relkind = 'r'
                 AND c.relrowsecurity AND c.relforcerowsecurity"""
        )
        unprotected = await conn.fetch(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'workspace_id'
               WHERE n.nspname = current_schema() AND c.relkind = 'r'
                 AND NOT c.relforcerowsecurity"""
        )
    assert [r["relname"] for r in unprotected] == ["api_keys"]
    assert tables >= 15


async def test_system_work_passes_as_relasi_system_and_no_setting_opens_the_wall(
    api, other_api, database
):
    await api.mutate(CREATE, n="Mine")
    await other_api.mutate(CREATE, n="Theirs")
    mine_and_theirs = [api.workspace_id, other_api.workspace_id]
    count = "SELECT count(DISTINCT workspace_id) FROM contacts WHERE workspace_id = ANY($1)"
    async with system_connection(database) as conn:
        system = await conn.fetchrow(
            f"SELECT current_user AS role, ({count}) AS n", mine_and_theirs
        )
    # a request that sets the switch 0006's policies had: it admits nothing more now
    session = Session(database, Principal(workspace_id=api.workspace_id))
    try:
        await session.execute("SELECT set_config('relasi.system', 'on', true)")
        seen = await session.fetchval(count, mine_and_theirs)
    finally:
        await session.close()
    assert (system["role"], system["n"]) == ("relasi_system", 2)
    assert seen == 1


async def test_a_connection_goes_back_to_the_pool_as_the_login(database):
    """RESET ALL (asyncpg's reset) leaves the role alone: the pool resets it too, or the next
    user of a connection that did system work would pass row security."""
    db = await Database.connect(database.dsn, min_size=1, max_size=1)
    try:
        async with db.pool.acquire() as conn:
            login = await conn.fetchval("SELECT session_user")
            await use_system(conn)  # until the connection goes back to the pool
            assert await conn.fetchval("SELECT current_user") == "relasi_system"
        async with db.pool.acquire() as conn:
            assert await conn.fetchval("SELECT current_user") == login
    finally:
        await db.close()


async def test_a_request_connection_serves_each_caller_its_own_workspace(database):
    """A request's connection keeps its caller's settings when it goes back to the pool (no
    reset per request): on one connection, each next request still sees only its own
    workspace, a refused key gets nothing, and other code gets the connection reset."""
    db = await Database.connect(database.dsn, min_size=1, max_size=1)
    app = create_app(Settings(rate_limit=0, auth_failure_limit=0), database=db)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as c:
            mine, theirs = await new_api(db, c, "Mine"), await new_api(db, c, "Theirs")
            await mine.mutate(CREATE, n="Mine")
            await theirs.mutate(CREATE, n="Theirs")
            for path in ("compiled", "resolvers", "compiled"):
                for api, name in ((mine, "Mine"), (theirs, "Theirs"), (mine, "Mine")):
                    response = await api.post(
                        "{ contacts { nodes { firstName } } }", **{"X-Relasi-Read-Path": path}
                    )
                    assert response.headers["x-relasi-read-path"] == path
                    assert response.json()["data"]["contacts"]["nodes"] == [{"firstName": name}]
            wrong = f"{mine.key[:-4]}xxxx"  # the right prefix, a wrong secret
            refused = await c.post(
                "/graphql",
                json={"query": "{ contacts { nodes { firstName } } }"},
                headers={"Authorization": f"Bearer {wrong}"},
            )
            assert refused.status_code == 401 and "data" not in refused.json()
        async with db.pool.acquire() as conn:
            left = await conn.fetchrow(
                """SELECT current_user = session_user AS login, current_setting('statement_timeout')
                          AS timeout, coalesce(current_setting('relasi.workspace_id', true), '')
                          AS workspace"""
            )
        assert dict(left) == {"login": True, "timeout": "0", "workspace": ""}
    finally:
        await db.close()
