"""`taskOverdue` triggers: the tasks' periodic job raises `task.overdue` once per task and due
time in the change log; the workflows' matching starts one run for it, with real workers."""

import asyncio
from datetime import UTC, datetime, timedelta

from tests.conftest import Api
from tests.tasks.helpers import create as create_task
from tests.workflows.clock import clock_workers
from tests.workflows.conftest import create, runs, until


async def test_an_overdue_task_runs_its_workflow_once(database, fapi: Api, other_fapi: Api):
    workflow = await create(
        fapi,
        recordType="TASK",
        triggers=[{"taskOverdue": True}],
        actions=[{"createTask": {"title": "Chase: {{task.title}}"}}],
    )
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    late = await create_task(fapi, title="Send the contract", dueAt=soon)
    next_year = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    await create_task(fapi, title="Renewal call", dueAt=next_year)
    await create_task(other_fapi, title="Another workspace's", dueAt=soon)
    async with clock_workers(database):
        found = await until(lambda: runs(fapi, workflow["id"]), timeout=45)
        await asyncio.sleep(7)  # more ticks of both jobs: nothing more
        found = await runs(fapi, workflow["id"])
    assert [r["recordId"] for r in found] == [late["id"]]
    assert found[0]["trigger"]["eventType"] == "task.overdue"
    assert found[0]["status"] == "SUCCEEDED", found[0]
    assert await runs(other_fapi) == []
