"""The `relasi` command, run as a user runs it, against the test database."""

import json
import os
import subprocess
import sys
from urllib.parse import urlparse, urlunparse


async def _pipelines(client, key: str) -> int:
    response = await client.post(
        "/graphql",
        json={"query": "{ pipelines { totalCount } }"},
        headers={"Authorization": f"Bearer {key}"},
    )
    return response.status_code


async def test_workspace_create_prints_a_working_key(relasi, client):
    created = json.loads(relasi("workspace", "create", "CLI Co", "--json").stdout)
    assert set(created) == {"workspace_id", "api_key"}
    assert created["api_key"].startswith("rls_")
    assert await _pipelines(client, created["api_key"]) == 200


async def test_key_create_list_revoke(relasi, client):
    workspace = json.loads(relasi("workspace", "create", "Keys Co", "--json").stdout)
    second = json.loads(
        relasi("key", "create", workspace["workspace_id"], "--name", "partner", "--json").stdout
    )
    assert await _pipelines(client, second["api_key"]) == 200

    listed = json.loads(relasi("key", "list", workspace["workspace_id"], "--json").stdout)
    assert [k["name"] for k in listed] == ["admin", "partner"]
    secret = second["api_key"].split("_")[2]
    assert secret not in json.dumps(listed)  # only prefixes are shown (and stored)

    prefix = second["api_key"].split("_")[1]
    assert relasi("key", "revoke", prefix).stdout.strip() == f"revoked {prefix}"
    assert await _pipelines(client, second["api_key"]) == 401
    assert await _pipelines(client, workspace["api_key"]) == 200
    again = relasi("key", "revoke", prefix, check=False)
    assert again.returncode == 1


def test_key_create_for_unknown_workspace_fails_cleanly(relasi):
    result = relasi("key", "create", "00000000-0000-0000-0000-000000000000", check=False)
    assert result.returncode != 0
    assert "no workspace" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_is_idempotent(relasi):
    assert relasi("migrate").stdout.strip() == "up to date"


def test_schema_prints_sdl():
    result = subprocess.run(
        [sys.executable, "-m", "relasi", "schema"], capture_output=True, text=True
    )
    assert result.returncode == 0
    sdl = result.stdout
    for expected in (
        "type Contact implements Node",
        "input ContactFilter",
        "type Mutation",
        "scalar JSON",
    ):
        assert expected in sdl


async def test_concurrent_migrations_apply_each_file_once(postgres_server_uri):
    """Two processes starting at once on an empty database: the advisory lock serialises them."""
    import asyncpg

    from relasi.dbschema import migration_files

    name = f"relasi_migrate_{os.getpid()}"
    admin = await asyncpg.connect(postgres_server_uri)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = urlunparse(urlparse(postgres_server_uri)._replace(path=f"/{name}"))
        env = {**os.environ, "DATABASE_URL": dsn}
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "relasi", "migrate"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outputs = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], outputs
        assert sum(out.startswith("applied:") for out, _ in outputs) == 1  # one did the work
        conn = await asyncpg.connect(dsn)
        applied = await conn.fetch("SELECT name FROM schema_migrations ORDER BY name")
        await conn.close()
        assert [r["name"] for r in applied] == [n for n, _ in migration_files()]
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def test_worker_help_names_its_options():
    result = subprocess.run(
        [sys.executable, "-m", "relasi", "worker", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    for option in ("--concurrency", "--data-dir", "--log-level"):
        assert option in result.stdout
    assert "background jobs" in result.stdout
