"""Task events reach webhook endpoints with the task as the API shows it, filtered by the
TaskFilter; `task.overdue` is raised by the job worker's periodic work (as `relasi serve` and
`relasi worker` run it) and delivered like any change."""

import asyncio
from datetime import UTC, datetime, timedelta

from tests.tasks.helpers import create, status
from tests.webhooks.conftest import endpoint


async def test_task_events_delivered_with_the_task(wapi, receiver, run_worker):
    ep = await endpoint(
        wapi,
        receiver,
        eventTypes=["task.created", "task.completed", "task.overdue"],
        filter={"task": {"priority": {"eq": "HIGH"}}},
    )
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    high = await create(wapi, title="Escalate", priority="HIGH", dueAt=past)
    await create(wapi, title="Not for this endpoint", priority="LOW", dueAt=past)
    done = await create(wapi, title="Wrap up", priority="HIGH")
    await status(wapi, "complete", done["id"])

    arrived = await receiver.wait_for(ep["name"], 4, timeout=60)
    await asyncio.sleep(0.5)  # nothing more comes
    arrived = receiver.accepted(ep["name"])
    got = sorted((a.payload["type"], a.payload["data"]["object"]["title"]) for a in arrived)
    assert got == [
        ("task.completed", "Wrap up"),
        ("task.created", "Escalate"),
        ("task.created", "Wrap up"),
        ("task.overdue", "Escalate"),
    ]
    by_type = {a.payload["type"]: a.payload["data"] for a in arrived}
    overdue = by_type["task.overdue"]
    assert overdue["recordId"] == high["id"] and overdue["object"]["overdue"] is True
    assert datetime.fromisoformat(overdue["changes"]["dueAt"]["after"]) == datetime.fromisoformat(
        past
    )
    completed = by_type["task.completed"]["object"]
    assert completed["status"] == "DONE" and completed["completedAt"]
