"""Job workers for the tests of background work (webhooks, workflows, tasks): one in the test's
process, or a `relasi worker` process to kill; and a test client for an app with its own
settings."""

import asyncio
import base64
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from relasi.jobs.worker import Worker
from tests.webhooks.receiver import Receiver
from tests.webhooks.waiting import until

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


async def stop_under_load(
    database,
    tmp_path: Path,
    write_one: Callable[[], Awaitable[None]],
    busy: Callable[[], Awaitable[bool]],
    grace: float,
) -> float:
    """Start `relasi worker` "first" (a shutdown timeout of `grace` seconds) while `write_one()`
    runs again and again; once `busy()` holds, SIGTERM it. The seconds it took to exit, which
    it did cleanly (exit code 0, no job cut off at the grace period); the writes stop with it."""
    writing = True

    async def write() -> None:
        while writing:
            await write_one()

    first = worker_process(database, tmp_path, "first", RELASI_SHUTDOWN_TIMEOUT=str(grace))
    writer = asyncio.create_task(write())
    try:
        await until(busy, timeout=90)
        first.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        await until(lambda: _exited(first), timeout=grace + 30)
        took = time.monotonic() - asked
    finally:
        writing = False
        await writer
        if first.poll() is None:
            first.kill()
    log = (tmp_path / "first.log").read_text()
    assert first.returncode == 0, log
    assert "did not finish" not in log
    return took


async def worker_until(database, tmp_path: Path, name: str, done, timeout: float) -> None:
    """Run `relasi worker` `name` until `done()` holds, then stop it."""
    process = worker_process(database, tmp_path, name)
    try:
        await until(done, timeout=timeout)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


async def _exited(process: subprocess.Popen) -> bool:
    return process.poll() is not None
