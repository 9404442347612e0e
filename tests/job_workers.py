"""Job workers for the tests of background work (webhooks, workflows, tasks): one in the test's
process, or a `relasi worker` process to kill; and a test client for an app with its own
settings."""

import base64
import contextlib
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx

from relasi.jobs.worker import Worker
from tests.webhooks.receiver import Receiver

# fixed: worker processes the tests start must open what the app sealed
SECRET_KEY = base64.b64encode(hashlib.sha256(b"relasi webhook tests").digest()).decode()


@contextlib.asynccontextmanager
async def job_worker(database, settings):
    """A process's job worker (as `relasi serve` and `relasi worker` run it)."""
    runner = Worker(database, settings)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


@contextlib.asynccontextmanager
async def app_client(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as c:
        yield c


def worker_process(database, tmp_path: Path, name: str, **env: str) -> subprocess.Popen:
    """`relasi worker` in a process of its own (its output in `<name>.log`), quick to notice
    a killed peer's jobs (heartbeat timeout 2 s); `env` overrides its settings."""
    env = {
        **os.environ,
        "DATABASE_URL": database.dsn,
        "RELASI_DATA_DIR": str(tmp_path),
        "RELASI_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "RELASI_WEBHOOK_SECRET_KEY": SECRET_KEY,
        "RELASI_WEBHOOK_TIMEOUT": "3",
        "RELASI_JOBS_HEARTBEAT_TIMEOUT": "2",
        **env,
    }
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (the process writes it)
    return subprocess.Popen(
        [sys.executable, "-m", "relasi", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


async def received(receiver: Receiver, name: str) -> list:
    """What the receiver's route `name` got so far (for `until`)."""
    return receiver.of(name)
