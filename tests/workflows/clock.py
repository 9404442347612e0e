"""The workflows' clock in tests: job workers whose clock ticks every second (in this process,
or real `relasi worker` processes to kill), and times a few seconds or a minute away."""

import contextlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from relasi.jobs.worker import Worker
from relasi.settings import Settings
from tests.workflows.conftest import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
# a worker stopped mid-tick leaves the clock's job picked until its heartbeat is this old (as
# the `relasi worker` processes below): 3 s, not 30, so a restart's first tick is prompt
CLOCK = dict(SETTINGS, workflow_clock_interval=1, jobs_heartbeat_timeout=3)


@contextlib.asynccontextmanager
async def clock_workers(database, count: int = 1):
    """`count` job workers (as `relasi serve` and `relasi worker` run them), clock at 1 s."""
    runners = [Worker(database, Settings(**CLOCK)) for _ in range(count)]
    for runner in runners:
        await runner.start()
    try:
        yield runners
    finally:
        for runner in runners:
            await runner.stop()


def worker_process(database) -> subprocess.Popen:
    """A real `relasi worker` on the test database, clock at 1 s (kill it to test restarts)."""
    env = {
        **os.environ,
        "DATABASE_URL": database.dsn,
        "PYTHONPATH": str(ROOT),
        "RELASI_WORKFLOW_CLOCK_INTERVAL": "1",
        "RELASI_WORKFLOW_RETRY_SCALE": "0.02",
        "RELASI_JOBS_HEARTBEAT_TIMEOUT": "3",
        "RELASI_LOG_LEVEL": "warning",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "relasi", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def next_minute(margin: float = 5) -> datetime:
    """The next whole minute at least `margin` seconds away (UTC): cron runs on minutes."""
    now = datetime.now(UTC)
    at = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return at if (at - now).total_seconds() >= margin else at + timedelta(minutes=1)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
