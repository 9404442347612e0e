"""Real `relasi worker` processes (with the probe jobs of tests/jobs/probe.py) on the test
database, and a table the probes write to."""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.cli.conftest import data_dir  # a real embedded PostgreSQL's data dir

__all__ = ["data_dir"]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
async def probe_table(database):
    async with database.pool.acquire() as conn:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS job_probe (
                   token text NOT NULL, event text NOT NULL, pid int NOT NULL,
                   attempts int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())"""
        )


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def workers(database, probe_table):
    """Start probe workers: `start(**settings)` -> Popen; all are killed at the end."""
    started: list[subprocess.Popen] = []

    def start(**settings: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": database.dsn,
            "PYTHONPATH": str(ROOT),
            "RELASI_JOBS_HEARTBEAT_TIMEOUT": "3",
            "RELASI_LOG_LEVEL": "info",
            **settings,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.probe", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


async def events(database, token: str) -> list[tuple[str, int, int]]:
    """(event, pid, attempts) the probes recorded for `token`, in order."""
    async with database.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event, pid, attempts FROM job_probe WHERE token = $1 ORDER BY at", token
        )
    return [(r["event"], r["pid"], r["attempts"]) for r in rows]


async def wait_for(database, token: str, event: str, count: int = 1, timeout: float = 90):
    """The recorded events once `event` was recorded `count` times."""
    deadline = time.monotonic() + timeout
    while True:
        found = await events(database, token)
        if sum(1 for e in found if e[0] == event) >= count:
            return found
        assert time.monotonic() < deadline, f"no {count} x {event!r} in {timeout}s: {found}"
        await asyncio.sleep(0.2)


def stopped(process: subprocess.Popen, timeout: float = 60) -> str:
    """Wait for a process told to stop; it must exit 0. Its output."""
    out, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, out
    return out
