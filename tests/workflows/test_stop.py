"""A `relasi worker` stopped while a long run is under way and changes keep starting runs
returns promptly: the run's step in flight finishes and is recorded, the run gives its slot up
and its job goes back on the queue, matching ends after the batch in hand. The next worker
continues the run with the step after: nothing is lost and no step is done twice."""

import uuid
from collections import Counter

from relasi.db import system_connection
from relasi.resolvers import global_ids
from tests.job_workers import stop_under_load, worker_until
from tests.workflows.conftest import create, runs, webhook_endpoint
from tests.workflows.writes import contact, deal

GRACE = 60  # seconds: the shutdown_timeout a stop must come in well under
STEPS = 40  # webhook steps of the long run, each answered after STALL: 20 s in all
STALL = 0.5
PROMPT = 10  # seconds: a stop that waited for the long run to end would take about 18


async def test_a_worker_stopped_mid_run_under_load_ends_after_the_step_in_flight(
    fapi, database, receiver, tmp_path
):
    name = uuid.uuid4().hex[:12]
    endpoint = await webhook_endpoint(fapi, receiver, name)
    receiver.route(name, stall=STALL)
    long = await create(
        fapi,
        name="Long",
        recordType="DEAL",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=[{"sendWebhook": {"endpointId": endpoint}}] * STEPS,
    )
    short = await create(
        fapi,
        name="Short",
        recordType="CONTACT",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=[{"createTask": {"title": "Call them"}}],
    )
    await deal(fapi)
    written: list[str] = []

    async def write() -> None:  # a contact after another (each starts a run), until told
        written.append((await contact(fapi, firstName="Busy"))["id"])

    # stopped once the long run sent 3 of its webhooks
    took = await stop_under_load(
        database, tmp_path, write, lambda: _accepted_at_least(receiver, name, 3), GRACE
    )
    assert took < PROMPT, f"stopping took {took:.1f} s"
    (run,) = await runs(fapi, long["id"])
    assert run["status"] == "RUNNING" and 3 <= len(run["steps"]) < STEPS, run

    await worker_until(  # every run: the long one and one per contact
        database,
        tmp_path,
        "second",
        lambda: _settled(database, fapi.workspace_id, len(written) + 1),
        120,
    )
    (run,) = await runs(fapi, long["id"])
    assert run["status"] == "SUCCEEDED", run
    assert [s["path"] for s in run["steps"]] == [str(i) for i in range(STEPS)]
    sent = Counter(a.headers["webhook-id"] for a in receiver.accepted(name))
    assert len(sent) == STEPS and max(sent.values()) == 1, "a step was sent twice"
    async with system_connection(database) as conn:
        statuses = await conn.fetch(
            "SELECT status, count(*) FROM workflow_runs WHERE workspace_id = $1"
            " AND workflow_id = $2 GROUP BY 1",
            fapi.workspace_id,
            global_ids.decode(short["id"], "Workflow"),
        )
        tasks = await conn.fetch(
            "SELECT contact_id, count(*) FROM tasks WHERE workspace_id = $1 GROUP BY 1",
            fapi.workspace_id,
        )
    assert dict(statuses) == {"SUCCEEDED": len(written)}
    by_contact = {global_ids.encode("Contact", r["contact_id"]): r["count"] for r in tasks}
    assert by_contact == dict.fromkeys(written, 1), "a run lost, or its task made twice"


async def _settled(database, workspace_id, count: int) -> bool:
    """Every run of the workspace has finished, and there are `count`."""
    async with system_connection(database) as conn:
        found = await conn.fetch(
            "SELECT status FROM workflow_runs WHERE workspace_id = $1", workspace_id
        )
    return len(found) == count and all(r["status"] not in ("QUEUED", "RUNNING") for r in found)


async def _accepted_at_least(receiver, name: str, count: int) -> bool:
    return len(receiver.accepted(name)) >= count
