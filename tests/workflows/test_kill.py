"""`kill -9` of a `relasi worker` in the middle of a run: once a worker runs again the run
finishes, and no step's writes happen twice (one task, one note)."""

import signal
import uuid

from tests.job_workers import received, worker_process
from tests.workflows.conftest import create, runs, settled_runs, until, webhook_endpoint
from tests.workflows.writes import deal, member, move

CHANGE_TYPES = """query { changes(first: 100) { nodes { type } } }"""


async def test_kill_9_mid_run_then_restart_finishes_without_a_second_task(
    fapi, database, receiver, tmp_path
):
    name = uuid.uuid4().hex[:12]
    endpoint = await webhook_endpoint(fapi, receiver, name)
    receiver.route(name, stall=60)  # the run's second step hangs in the receiver
    owner = await member(fapi, "Dewi")
    wf = await create(
        fapi,
        recordType="DEAL",
        triggers=[{"fieldChanged": {"field": "stage", "to": "Negotiation"}}],
        actions=[
            {"createTask": {"title": "Send the contract"}},
            {"sendWebhook": {"endpointId": endpoint}},
            {"addNote": {"body": "Contract task {{steps.0.task.id}} sent"}},
        ],
    )
    d = await deal(fapi, ownerId=owner)
    await move(fapi, d, "Negotiation")
    first = worker_process(database, tmp_path, "first", RELASI_WEBHOOK_TIMEOUT="60")
    try:
        await until(lambda: received(receiver, name), timeout=90)
        first.send_signal(signal.SIGKILL)  # mid-run: the task is made, the webhook in flight
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    (run,) = await runs(fapi, wf["id"])
    assert run["status"] == "RUNNING" and [s["path"] for s in run["steps"]] == ["0"]
    receiver.route(name, stall=0)
    second = worker_process(database, tmp_path, "second", RELASI_WEBHOOK_TIMEOUT="60")
    try:
        (run,) = await settled_runs(fapi, wf["id"], 1, timeout=90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert run["status"] == "SUCCEEDED", run
    assert [s["path"] for s in run["steps"]] == ["0", "1", "2"]
    types = [c["type"] for c in (await fapi(CHANGE_TYPES))["changes"]["nodes"]]
    assert types.count("task.created") == 1 and types.count("note.added") == 1
    arrivals = receiver.of(name)
    assert len(arrivals) >= 2 and len({a.headers["webhook-id"] for a in arrivals}) == 1
