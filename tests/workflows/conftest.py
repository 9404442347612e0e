"""Workflow fixtures: an app and a job worker with settings for tests, and helpers to save
workflows, write records and wait for runs."""

import asyncio

import pytest

from relasi.server import create_app
from relasi.settings import Settings
from tests.conftest import Api, new_api
from tests.job_workers import app_client, job_worker
from tests.webhooks.conftest import SECRET_KEY, receiver
from tests.webhooks.waiting import until

__all__ = ["receiver", "until"]  # the webhook tests' receiver fixture, and `until` for tests

SETTINGS = dict(
    rate_limit=0,
    auth_failure_limit=0,
    webhook_allowed_hosts="127.0.0.1",
    webhook_secret_key=SECRET_KEY,
    webhook_timeout=3,
    workflow_retry_scale=0.02,  # a transient failure is retried after 0.1 s, 0.2 s, ...
)
ERRORS = "userErrors { field message code }"
WORKFLOW = "workflow { id name version enabled recordType triggers condition actions }"
CREATE = (
    "mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { "
    + WORKFLOW
    + " "
    + ERRORS
    + " } }"
)
UPDATE = (
    "mutation($i: UpdateWorkflowInput!) { updateWorkflow(input: $i) { "
    + WORKFLOW
    + " "
    + ERRORS
    + " } }"
)
RUNS = """query($w: ID, $f: WorkflowRunFilter, $n: Int) {
  workflowRuns(workflowId: $w, filter: $f, first: $n) { nodes {
    id workflowId workflowName version recordId recordType status trigger depth error
    createdAt startedAt finishedAt
    steps { path kind status input output error durationMs } } } }"""


@pytest.fixture(scope="session")
def settings():
    return Settings(**SETTINGS)


@pytest.fixture(scope="session")
def flows_app(database, settings):
    return create_app(settings, database=database)


@pytest.fixture
async def flows_client(flows_app):
    async with app_client(flows_app) as c:
        yield c


@pytest.fixture
async def fapi(database, flows_client) -> Api:
    return await new_api(database, flows_client, "Flows")


@pytest.fixture
async def other_fapi(database, flows_client) -> Api:
    return await new_api(database, flows_client, "Elsewhere")


@pytest.fixture
async def worker(database, settings):
    async with job_worker(database, settings) as runner:
        yield runner


async def create(api: Api, **fields) -> dict:
    fields.setdefault("name", "Test workflow")
    return (await api.mutate(CREATE, i=fields))["workflow"]


async def create_errors(api: Api, **fields) -> list[dict]:
    fields.setdefault("name", "Test workflow")
    return (await api(CREATE, i=fields))["createWorkflow"]["userErrors"]


async def runs(api: Api, workflow_id: str | None = None, **flt) -> list[dict]:
    data = await api(RUNS, w=workflow_id, f=flt or None, n=100)
    return data["workflowRuns"]["nodes"]


async def settled_runs(api: Api, workflow_id: str, count: int, timeout: float = 30) -> list[dict]:
    """The workflow's runs once `count` of them have finished (none still open)."""

    async def check():
        found = await runs(api, workflow_id)
        done = [r for r in found if r["status"] not in ("QUEUED", "RUNNING")]
        return found if len(done) >= count and len(done) == len(found) else None

    return await until(check, timeout)


async def quiet(api: Api, workflow_id: str, seconds: float = 1.5) -> list[dict]:
    """The workflow's runs after the worker had time to start any (for "no run" checks)."""
    await asyncio.sleep(seconds)
    return await runs(api, workflow_id)


async def webhook_endpoint(api: Api, receiver, name: str) -> str:
    """An endpoint to a verifying receiver route (it receives no change events of its own)."""
    from tests.webhooks.conftest import CREATE as CREATE_ENDPOINT

    payload = await api.mutate(
        CREATE_ENDPOINT, i={"url": receiver.url(name), "eventTypes": ["segment.restored"]}
    )
    receiver.route(name, payload["secret"])
    return payload["webhookEndpoint"]["id"]
