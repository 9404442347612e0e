"""Case SLA triggers, run by the clock with a real job worker: "due within N minutes" and
"breached", once per case and SLA due time, for open cases only."""

import asyncio

from relasi.db import system_connection
from relasi.resolvers import global_ids
from tests.conftest import Api
from tests.workflows import writes
from tests.workflows.clock import clock_workers
from tests.workflows.conftest import create, create_errors, runs, until

ESCALATE = [{"updateRecord": {"fields": {"priority": "URGENT"}}}]
NOTE = [{"addNote": {"body": "SLA: {{case.subject}}"}}]
RESOLVE = """mutation($id: ID!, $v: Int!) {
  updateCase(input: {id: $id, version: $v, status: RESOLVED}) { userErrors { field } } }"""


async def due_in(database, case_id: str, seconds: float) -> None:
    """Set a case's SLA due time `seconds` from now, as if it had been opened long ago (an
    URGENT case is due 4 hours after it opens: no test waits that long)."""
    pk = global_ids.decode(case_id, "Case", field="id")
    async with system_connection(database) as conn:
        await conn.execute(
            "UPDATE cases SET sla_due_at = now() + make_interval(secs => $2) WHERE id = $1",
            pk,
            seconds,
        )


async def test_due_soon_runs_once_for_open_cases_that_close_in(
    database, fapi: Api, other_fapi: Api
):
    workflow = await create(
        fapi,
        recordType="CASE",
        triggers=[{"caseSla": {"event": "DUE_SOON", "withinMinutes": 240}}],
        actions=NOTE,
    )
    async with clock_workers(database):
        # URGENT: due in 4 hours, so due within 240 minutes as it opens; NORMAL: 24 hours
        urgent = await writes.case(fapi, priority="URGENT", subject="Urgent")
        await writes.case(fapi, priority="NORMAL", subject="Normal")
        await writes.case(other_fapi, priority="URGENT", subject="Another workspace's")
        found = await until(lambda: runs(fapi, workflow["id"]), timeout=20)
        await asyncio.sleep(3)  # more ticks: nothing more
        found = await runs(fapi, workflow["id"])
    assert [r["recordId"] for r in found] == [urgent["id"]]
    assert found[0]["trigger"]["kind"] == "caseSla"
    assert await runs(other_fapi) == []


async def test_breached_runs_once_per_due_time_for_open_cases(database, fapi: Api):
    workflow = await create(
        fapi,
        recordType="CASE",
        triggers=[{"caseSla": {"event": "BREACHED"}}],
        actions=NOTE,
    )
    late = await writes.case(fapi, subject="Late")
    resolved = await writes.case(fapi, subject="Resolved in time")
    await writes.case(fapi, subject="Not due yet")
    await due_in(database, late["id"], 3)
    await due_in(database, resolved["id"], 3)
    version = await fapi("query($id: ID!) { case(id: $id) { version } }", id=resolved["id"])
    await fapi.mutate(RESOLVE, id=resolved["id"], v=version["case"]["version"])
    async with clock_workers(database):
        await asyncio.sleep(1)
        assert await runs(fapi, workflow["id"]) == []  # not before its time
        found = await until(lambda: runs(fapi, workflow["id"]), timeout=20)
        await asyncio.sleep(3)
        assert [r["recordId"] for r in await runs(fapi, workflow["id"])] == [late["id"]]
        # a new due time (its priority changed): breached again, a second run
        await due_in(database, late["id"], 2)

        async def two():
            found = await runs(fapi, workflow["id"])
            return found if len(found) == 2 else None

        found = await until(two, timeout=20)
    assert {r["recordId"] for r in found} == {late["id"]}


async def test_sla_triggers_are_for_cases_and_say_how_soon(fapi: Api):
    errors = await create_errors(
        fapi, recordType="CASE", triggers=[{"caseSla": {"event": "DUE_SOON"}}], actions=NOTE
    )
    assert [e["field"] for e in errors] == [["input", "triggers", "0", "caseSla", "withinMinutes"]]
    errors = await create_errors(
        fapi, recordType="DEAL", triggers=[{"caseSla": {"event": "BREACHED"}}], actions=NOTE
    )
    assert errors and errors[0]["field"][:3] == ["input", "triggers", "0"]
