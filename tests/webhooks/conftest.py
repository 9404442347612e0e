"""Webhook fixtures: a receiver, an app whose settings allow it, and the worker."""

import uuid

import pytest

from relasi.server import create_app
from relasi.settings import Settings
from tests.conftest import Api, new_api
from tests.job_workers import SECRET_KEY, app_client, job_worker
from tests.webhooks.receiver import Receiver

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
    async with app_client(hooks_app) as c:
        yield c


@pytest.fixture
async def wapi(database, hooks_client) -> Api:
    return await new_api(database, hooks_client, "Hooks")


@pytest.fixture
async def run_worker(database, settings):
    async with job_worker(database, settings) as runner:
        yield runner


async def endpoint(api: Api, receiver: Receiver, name: str | None = None, **fields) -> dict:
    """A new endpoint to a receiver route that verifies with its secret."""
    name = name or uuid.uuid4().hex[:12]
    payload = await api.mutate(CREATE, i={"url": receiver.url(name), **fields})
    receiver.route(name, payload["secret"])
    return {**payload["webhookEndpoint"], "name": name, "secret": payload["secret"]}
