"""A `DATABASE_URL` login that may not create roles (nor grant them) still migrates, and the
wall still stands: 0006's policies stay, requests run as the login bound by FORCE, and system
work passes by the `relasi.system` switch those policies keep (dbschema/0007 explains)."""

import uuid
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

from relasi import dbschema
from relasi.auth.principal import Principal
from relasi.db import Database, system_connection
from relasi.resolvers.session import Session
from relasi.resolvers.workspaces import create_workspace


@pytest.fixture
async def limited(postgres_server_uri):
    """A database owned by a fresh login without CREATEROLE, migrated by that login."""
    admin = await asyncpg.connect(postgres_server_uri)
    try:
        if not await admin.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            pytest.skip("making a login takes a superuser")
        name = f"relasi_limited_{uuid.uuid4().hex[:8]}"
        await admin.execute(f'CREATE ROLE "{name}" LOGIN NOCREATEROLE')
        await admin.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
        try:
            parsed = urlparse(postgres_server_uri)
            host = (parsed.hostname or "") + (f":{parsed.port}" if parsed.port else "")
            dsn = urlunparse(parsed._replace(path=f"/{name}", netloc=f"{name}@{host}"))
            try:
                db = await Database.connect(dsn, min_size=1, max_size=2)
            except asyncpg.InvalidAuthorizationSpecificationError:
                pytest.skip("the server asks the new login for a password")
            try:
                yield db
            finally:
                await db.close()
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE "{name}"')
    finally:
        await admin.close()


async def test_a_login_that_may_not_create_roles_keeps_the_wall(limited):
    async with limited.pool.acquire() as conn:
        await dbschema.migrate(conn)
        assert (
            await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            is False
        )
        policies = {
            r["qual"]
            for r in await conn.fetch(
                "SELECT pg_get_expr(polqual, polrelid) AS qual FROM pg_policy"
            )
        }
        mine, _ = await create_workspace(conn, "Mine")
        theirs, _ = await create_workspace(conn, "Theirs")
    assert policies == {"relasi_admits(workspace_id)"}  # 0006's, with the system switch

    session = Session(limited, Principal(workspace_id=mine))
    try:
        # deliberately no workspace condition: row security adds it
        seen = await session.fetch("SELECT DISTINCT workspace_id FROM pipelines")
    finally:
        await session.close()
    async with system_connection(limited) as conn:
        everyone = await conn.fetch("SELECT DISTINCT workspace_id FROM pipelines")
    assert [r["workspace_id"] for r in seen] == [mine]
    assert {r["workspace_id"] for r in everyone} == {mine, theirs}
