"""What `enqueue` puts on the queue (no worker runs here), and the queue's upkeep."""

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from relasi.jobs import enqueue, maintenance


async def jobs(conn, token: str) -> list:
    return await conn.fetch(
        "SELECT status::text, execute_after - created AS delay FROM pgqueuer"
        " WHERE convert_from(payload, 'UTF8')::jsonb ->> 'token' = $1",
        token,
    )


async def test_a_dedupe_key_adds_a_job_only_while_none_with_it_is_waiting(database):
    token, key = uuid.uuid4().hex, f"dedupe-{uuid.uuid4().hex}"
    async with database.pool.acquire() as conn:
        for _ in range(3):
            async with conn.transaction():  # each enqueue leaves its transaction usable
                await enqueue(conn, "probe.record", {"token": token}, dedupe_key=key)
                assert await conn.fetchval("SELECT 1") == 1
        assert len(await jobs(conn, token)) == 1
        await conn.execute("DELETE FROM pgqueuer WHERE dedupe_key = $1", key)


async def test_a_delayed_job_waits(database):
    token = uuid.uuid4().hex
    async with database.pool.acquire() as conn:
        await enqueue(conn, "probe.record", {"token": token}, delay=3600)
        (job,) = await jobs(conn, token)
        await conn.execute(
            "DELETE FROM pgqueuer WHERE convert_from(payload, 'UTF8')::jsonb ->> 'token' = $1",
            token,
        )
    assert job["status"] == "queued"
    assert job["delay"].total_seconds() >= 3600


@pytest.mark.parametrize(
    ("entrypoint", "options", "message"),
    [
        ("Probe Record", {}, "lowercase words joined by dots"),
        ("", {}, "lowercase words joined by dots"),
        ("probe.record", {"delay": -1}, "delay must not be negative"),
    ],
)
async def test_bad_arguments_are_refused_before_anything_is_written(
    database, entrypoint, options, message
):
    async with database.pool.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM pgqueuer")
        with pytest.raises(ValueError, match=message):
            await enqueue(conn, entrypoint, {}, **options)
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer") == before


async def test_retention_deletes_old_log_rows_and_failed_jobs_only(database):
    entrypoint = f"probe.retention_{uuid.uuid4().hex[:8]}"
    async with database.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, created)
               VALUES (1, 'successful', 0, $1, now() - interval '9 days'),
                      (2, 'successful', 0, $1, now() - interval '5 days')""",
            entrypoint,
        )
        await conn.execute(
            """INSERT INTO pgqueuer (priority, status, entrypoint, updated)
               VALUES (0, 'failed', $1, now() - interval '9 days'),
                      (0, 'failed', $1, now() - interval '5 days'),
                      (0, 'queued', $1, now() - interval '9 days')""",
            entrypoint,
        )
        await maintenance.prune(database, 7, batch=1)
        logged = await conn.fetch(
            "SELECT job_id FROM pgqueuer_log WHERE entrypoint = $1", entrypoint
        )
        kept = await conn.fetch(
            "SELECT status::text, updated < now() - interval '7 days' AS old FROM pgqueuer"
            " WHERE entrypoint = $1 ORDER BY status::text",
            entrypoint,
        )
        await conn.execute("DELETE FROM pgqueuer WHERE entrypoint = $1", entrypoint)
    assert [r["job_id"] for r in logged] == [2]
    assert [(r["status"], r["old"]) for r in kept] == [("failed", False), ("queued", True)]


def test_pgqueuer_finds_every_object_it_needs_in_the_migrated_database(database):
    pgq = str(Path(sys.executable).with_name("pgq"))  # installed with pgqueuer
    result = subprocess.run(
        [pgq, "--pg-dsn", database.dsn, "verify", "--expect", "present"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
