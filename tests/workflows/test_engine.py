"""Execution: conditions over relations, failures that stop a run, transient failures
retried, loops cut, a run waiting and resumed, the workspace's concurrency limit."""

import uuid

from relasi.db import use_system
from relasi.resolvers import global_ids
from relasi.resolvers.workflows import engine, slots
from tests.workflows.conftest import (
    create,
    job_worker,
    quiet,
    runs,
    settled_runs,
    until,
    webhook_endpoint,
)
from tests.workflows.writes import account, contact, deal, mutate, update_contact

NOTE = [{"addNote": {"body": "seen"}}]


async def _arrived(receiver, name: str, count: int) -> bool:
    return len(receiver.of(name)) >= count


async def test_condition_over_relations_skips_records_that_fail_it(fapi, worker):
    retail = await account(fapi, name="Retail Co", industry="Retail")
    other = await account(fapi, name="Mining Co", industry="Mining")
    wf = await create(
        fapi,
        recordType="DEAL",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        condition={"deal": {"amount": {"gt": "50000"}, "account": {"industry": {"eq": "Retail"}}}},
        actions=NOTE,
    )
    big = {"amount": "90000", "currency": "USD"}
    match = await deal(fapi, name="Match", accountId=retail["id"], amount=big)
    await deal(
        fapi, name="Small", accountId=retail["id"], amount={"amount": "10", "currency": "USD"}
    )
    await deal(fapi, name="Wrong industry", accountId=other["id"], amount=big)
    found = await settled_runs(fapi, wf["id"], 3)
    by_status = sorted((r["status"], r["recordId"] == match["id"]) for r in found)
    assert by_status == [("SKIPPED", False), ("SKIPPED", False), ("SUCCEEDED", True)]
    skipped = next(r for r in found if r["status"] == "SKIPPED")
    assert skipped["steps"] == [] and "condition" in skipped["error"]


async def test_a_failed_step_stops_the_run_and_says_why(fapi, worker):
    seg = (await mutate(fapi, "createSegment", {"name": "Gone soon"}, "segment { id }"))["segment"]
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=[
            {"updateRecord": {"fields": {"city": "Bogor"}}},
            {"addToSegment": {"segmentId": seg["id"]}},
            {"updateRecord": {"fields": {"city": "never"}}},
        ],
    )
    await mutate(fapi, "deleteSegment", {"id": seg["id"]}, "deletedId")
    c = await contact(fapi)
    (run,) = await settled_runs(fapi, wf["id"], 1)
    assert run["status"] == "FAILED"
    assert [(s["path"], s["status"]) for s in run["steps"]] == [("0", "SUCCEEDED"), ("1", "FAILED")]
    assert "No Segment" in run["steps"][1]["error"] and run["error"].startswith(
        "Step 1 (addToSegment)"
    )
    got = await fapi("query($c: ID!) { contact(id: $c) { city } }", c=c["id"])
    assert got["contact"]["city"] == "Bogor"  # what ran before stays; the rest never ran


async def test_transient_failures_are_retried_with_backoff(fapi, worker, receiver):
    name = uuid.uuid4().hex[:12]
    endpoint = await webhook_endpoint(fapi, receiver, name)
    receiver.route(name, status=503)  # the receiver is having a bad moment
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=[{"sendWebhook": {"endpointId": endpoint}}],
    )
    await contact(fapi)
    await until(lambda: _arrived(receiver, name, 2))  # tried, failed, tried again
    receiver.routes[name].status = 200
    (run,) = await settled_runs(fapi, wf["id"], 1)
    assert run["status"] == "SUCCEEDED" and run["steps"][0]["output"]["webhook.statusCode"] == 200
    ids = {a.headers["webhook-id"] for a in receiver.of(name)}
    assert len(receiver.of(name)) >= 3 and len(ids) == 1  # one message id: receivers dedupe


async def test_a_receiver_refusing_fails_the_step_at_once(fapi, worker, receiver):
    name = uuid.uuid4().hex[:12]
    endpoint = await webhook_endpoint(fapi, receiver, name)
    receiver.route(name, status=422)
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=[{"sendWebhook": {"endpointId": endpoint}}],
    )
    await contact(fapi)
    (run,) = await settled_runs(fapi, wf["id"], 1)
    assert run["status"] == "FAILED" and "HTTP 422" in run["error"]
    assert len(receiver.of(name)) == 1


async def test_a_workflow_retriggering_itself_is_cut_after_depth_3(fapi, worker):
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=[{"fieldChanged": {"field": "title"}}],
        actions=[{"updateRecord": {"fields": {"title": "{{contact.title}}!"}}}],
    )
    c = await contact(fapi, title="Hi")
    await update_contact(fapi, c["id"], title="Go")
    found = await settled_runs(fapi, wf["id"], 5)
    found = await quiet(fapi, wf["id"], 1.5)
    assert sorted((r["depth"], r["status"]) for r in found) == [
        (0, "SUCCEEDED"),
        (1, "SUCCEEDED"),
        (2, "SUCCEEDED"),
        (3, "SUCCEEDED"),
        (4, "LOOP_STOPPED"),
    ]
    stopped = next(r for r in found if r["status"] == "LOOP_STOPPED")
    assert "loop" in stopped["error"] and stopped["steps"] == []
    got = await fapi("query($c: ID!) { contact(id: $c) { title } }", c=c["id"])
    assert got["contact"]["title"] == "Go!!!!"


async def test_a_wait_suspends_the_run_until_resumed(fapi, worker, database):
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=[
            {"updateRecord": {"fields": {"city": "Before"}}},
            {"wait": {"minutes": 60}},
            {"updateRecord": {"fields": {"city": "After"}}},
        ],
    )
    c = await contact(fapi)
    (run,) = await settled_runs(fapi, wf["id"], 1)
    assert run["status"] == "WAITING" and [s["status"] for s in run["steps"]] == [
        "SUCCEEDED",
        "WAITING",
    ]
    city = "query($c: ID!) { contact(id: $c) { city } }"
    assert (await fapi(city, c=c["id"]))["contact"]["city"] == "Before"
    # the time-based work resumes it when its time comes (engine.resume_run)
    run_pk = global_ids.decode(run["id"], "WorkflowRun")
    async with database.pool.acquire() as conn, conn.transaction():
        assert await engine.resume_run(conn, run_pk, resumed_by="TIME")
        assert not await engine.resume_run(conn, run_pk)  # once
    (run,) = await settled_runs(fapi, wf["id"], 1)
    assert run["status"] == "SUCCEEDED"
    assert run["steps"][1]["output"]["wait.resumedBy"] == "TIME"
    assert (await fapi(city, c=c["id"]))["contact"]["city"] == "After"


async def test_a_workspace_runs_at_most_its_limit_at_once(fapi, database, settings):
    limited = settings.model_copy(update={"workflow_concurrency": 1})
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=[{"updateRecord": {"fields": {"city": "One at a time"}}}],
    )
    for i in range(4):
        await contact(fapi, firstName=f"C{i}")
    async with database.pool.acquire() as conn:  # the slot taken by a long run elsewhere
        await use_system(conn)
        await conn.execute(
            """INSERT INTO workflow_runs (workspace_id, workflow_id, version, record_type,
                   record_id, trigger, dedupe_key, status, lease_until)
               SELECT workspace_id, id, version, 'Contact', gen_random_uuid(), '{}', 'held',
                      'WAITING', now() + interval '1 hour' FROM workflows WHERE id = $1""",
            global_ids.decode(wf["id"], "Workflow"),
        )
        async with job_worker(database, limited):
            found = await quiet(fapi, wf["id"], 2.0)
            assert [r["status"] for r in found if r["trigger"]] == ["QUEUED"] * 4, found
            # the long run gives its slot up as a run does: the waiting ones' turn comes
            async with conn.transaction():
                await conn.execute(
                    "UPDATE workflow_runs SET lease_until = NULL WHERE dedupe_key = 'held'"
                )
                await slots.hand_off(conn, fapi.workspace_id, 1)
            await settled_runs(fapi, wf["id"], 5, timeout=30)
        await use_system(conn, False)
    found = await runs(fapi, wf["id"])
    assert sorted(r["status"] for r in found) == ["SUCCEEDED"] * 4 + ["WAITING"]
