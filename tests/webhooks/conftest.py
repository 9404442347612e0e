"""Webhook fixtures: a receiver, an app whose settings allow it, and the worker."""

import base64
import contextlib
import hashlib
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from relasi.jobs.worker import Worker
from relasi.server import create_app
from relasi.settings import Settings
from tests.conftest import Api, new_api
from tests.webhooks.receiver import Receiver

# fixed: worker processes the tests start must open what the app sealed
SECRET_KEY = base64.b64encode(hashlib.sha256(b"relasi webhook tests").digest()).decode()
# delays 1/100 of the real ones (5 s -> 50 ms, 5 min -> 3 s), a short send limit; a
# rotated-out secret signs for an hour (the rotation test ends the overlap in the table rather
# than waiting for a clock)
SETTINGS = dict(
    rate_limit=0,
    auth_failure_limit=0,
    webhook_allowed_hosts="127.0.0.1",
    webhook_secret_key=SECRET_KEY,
    webhook_retry_scale=0.01,
    webhook_timeout=3,
    webhook_secret_overlap=3_600,
)
ERRORS = "userErrors { field message code }"
CREATE = (
    """mutation($i: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $i) {
    webhookEndpoint { id url enabled eventTypes filter version
                      health { lastSuccessAt lastFailureAt failureStreak disabledReason } }
    secret """
    + ERRORS
    + " } }"
)


@pytest.fixture(scope="session")
def settings():
    return Settings(**SETTINGS)


@pytest.fixture(scope="session")
def receiver():
    r = Receiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def hooks_app(database, settings):
    return create_app(settings, database=database)


@pytest.fixture
async def hooks_client(hooks_app):
    transport = httpx.ASGITransport(app=hooks_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as c:
        yield c


@pytest.fixture
async def wapi(database, hooks_client) -> Api:
    return await new_api(database, hooks_client, "Hooks")


@contextlib.asynccontextmanager
async def job_worker(database, settings):
    """A process's job worker (as `relasi serve` and `relasi worker` run it)."""
    runner = Worker(database, settings)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


@pytest.fixture
async def run_worker(database, settings):
    async with job_worker(database, settings) as runner:
        yield runner


def worker_process(database, tmp_path, name: str, **env: str) -> subprocess.Popen:
    """A `relasi worker` process on the tests' database (its output in tmp_path/name.log)."""
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


async def endpoint(api: Api, receiver: Receiver, name: str | None = None, **fields) -> dict:
    """A new endpoint to a receiver route that verifies with its secret."""
    name = name or uuid.uuid4().hex[:12]
    payload = await api.mutate(CREATE, i={"url": receiver.url(name), **fields})
    receiver.route(name, payload["secret"])
    return {**payload["webhookEndpoint"], "name": name, "secret": payload["secret"]}
