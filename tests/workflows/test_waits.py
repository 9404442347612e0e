"""`wait` steps, continued by the clock: until a time, across a killed and restarted `relasi
worker` process; and until a condition holds on the record, re-checked every tick."""

import asyncio
from datetime import UTC, datetime, timedelta

from tests.conftest import Api
from tests.workflows import writes
from tests.workflows.clock import clock_workers, iso, worker_process
from tests.workflows.conftest import create, runs, until

CREATED = [{"recordEvent": {"event": "CREATED"}}]
GROW = """mutation($id: ID!, $v: Int!) { updateDeal(input: {id: $id, version: $v,
  amount: {amount: "25000", currency: "USD"}}) { userErrors { field } } }"""


async def run_in(api: Api, workflow_id: str, *statuses: str, timeout: float = 30) -> dict:
    async def check():
        found = await runs(api, workflow_id)
        return found[0] if found and found[0]["status"] in statuses else None

    return await until(check, timeout)


async def test_a_wait_until_a_time_continues_after_the_worker_was_killed(database, fapi: Api):
    wake = datetime.now(UTC) + timedelta(seconds=12)
    workflow = await create(
        fapi,
        recordType="DEAL",
        triggers=CREATED,
        actions=[
            {"wait": {"until": iso(wake)}},
            {"addNote": {"body": "Three days on: did {{deal.name}} answer?"}},
        ],
    )
    first = worker_process(database)
    try:
        await writes.deal(fapi, name="Demo request")
        run = await run_in(fapi, workflow["id"], "WAITING")
    finally:
        first.kill()  # kill -9: no goodbye
        first.communicate()
    await asyncio.sleep(max(0.0, (wake - datetime.now(UTC)).total_seconds()) + 2)
    # due now, but no worker: it waits, durably
    assert (await runs(fapi, workflow["id"]))[0]["status"] == "WAITING"
    second = worker_process(database)
    try:
        # (a clock tick the killed worker held is taken over after 30 s at most)
        run = await run_in(fapi, workflow["id"], "SUCCEEDED", "FAILED", timeout=60)
    finally:
        second.terminate()
        second.communicate(timeout=60)
    assert run["status"] == "SUCCEEDED", run
    wait, note = run["steps"]
    assert wait["kind"] == "wait" and wait["output"]["wait.resumedBy"] == "TIME"
    assert note["kind"] == "addNote" and note["status"] == "SUCCEEDED"
    # not before its time
    assert datetime.fromisoformat(run["finishedAt"]) >= wake


async def test_a_wait_for_a_condition_continues_once_the_record_passes(database, fapi: Api):
    workflow = await create(
        fapi,
        recordType="DEAL",
        triggers=CREATED,
        actions=[
            {
                "wait": {
                    "condition": {"deal": {"amount": {"gt": "10000"}}},
                    "timeoutMinutes": 60,
                }
            },
            {"addNote": {"body": "Big enough now"}},
        ],
    )
    async with clock_workers(database):
        small = {"amount": "500", "currency": "USD"}
        grows = await writes.deal(fapi, name="Grows", amount=small)
        stays = await writes.deal(fapi, name="Stays small", amount=small)

        async def both_waiting():
            found = await runs(fapi, workflow["id"])
            return (
                found if len(found) == 2 and all(r["status"] == "WAITING" for r in found) else None
            )

        await until(both_waiting)
        await asyncio.sleep(2)  # ticks pass: the condition does not hold, they wait on
        assert {r["status"] for r in await runs(fapi, workflow["id"])} == {"WAITING"}
        await fapi.mutate(GROW, id=grows["id"], v=grows["version"])

        async def grown():
            found = {r["recordId"]: r for r in await runs(fapi, workflow["id"])}
            return found if found[grows["id"]]["status"] == "SUCCEEDED" else None

        found = await until(grown, timeout=20)
    assert found[stays["id"]]["status"] == "WAITING"
    wait = found[grows["id"]]["steps"][0]
    assert wait["output"]["wait.resumedBy"] == "CONDITION"


async def test_a_wait_for_a_condition_that_never_holds_ends_at_its_timeout(database, fapi: Api):
    workflow = await create(
        fapi,
        recordType="DEAL",
        triggers=CREATED,
        actions=[
            {"wait": {"condition": {"deal": {"status": {"eq": "WON"}}}, "timeoutMinutes": 1}},
            {"addNote": {"body": "Still not won after a minute"}},
        ],
    )
    async with clock_workers(database):
        await writes.deal(fapi, name="Slow")
        waiting = await run_in(fapi, workflow["id"], "WAITING")
        started = datetime.fromisoformat(waiting["createdAt"])
        run = await run_in(fapi, workflow["id"], "SUCCEEDED", "FAILED", timeout=90)
    assert run["status"] == "SUCCEEDED", run
    assert run["steps"][0]["output"]["wait.resumedBy"] == "TIMEOUT"
    assert datetime.fromisoformat(run["finishedAt"]) >= started + timedelta(minutes=1)
