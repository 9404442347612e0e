"""Task changes in the change log (same transaction, before/after, actor), task events on the
timelines of what a task links to, and `task.overdue` raised once per task and due time."""

from datetime import UTC, datetime, timedelta

from relasi.resolvers.tasks import overdue
from tests.changes.helpers import end_cursor, read_all
from tests.tasks.helpers import ERRORS, UPDATE, create, record, status

TIMELINE = """query($c: ID!, $a: ID!) {
  contact(id: $c) { timeline(filter: {kinds: [TASK_CREATED, TASK_COMPLETED]}) { nodes {
    kind __typename
    ... on TaskCreatedEvent { title task { id } createdBy { apiKeyName } account { id } }
    ... on TaskCompletedEvent { title task { id status } completedBy { apiKeyName } } } } }
  account(id: $a) { timeline(filter: {kinds: [TASK_CREATED, TASK_COMPLETED]}) {
    totalCount nodes { kind } } } }"""


async def test_every_task_write_is_in_the_change_log(api):
    start = await end_cursor(api)
    contact = await record(api, "contact")
    task = await create(api, title="Call", contactId=contact, dueAt="2030-01-01T00:00:00Z")
    tid = task["id"]
    await api.mutate(UPDATE, i={"id": tid, "version": 1, "title": "Call back", "priority": "HIGH"})
    await status(api, "complete", tid)
    await status(api, "reopen", tid)
    for action in ("delete", "restore"):
        await api.mutate(f'mutation {{ {action}Task(input: {{id: "{tid}"}}) {{ {ERRORS} }} }}')
    events, _ = await read_all(api, after=start, recordIds=[tid])
    assert [e["type"] for e in events] == [
        "task.created",
        "task.updated",
        "task.updated",
        "task.completed",
        "task.updated",
        "task.deleted",
        "task.restored",
    ]
    created = events[0]["changes"]
    assert created["title"] == {"before": None, "after": "Call"}
    assert created["contactId"] == {"before": None, "after": contact}
    assert created["status"] == {"before": None, "after": "OPEN"}
    assert "idempotencyKey" not in created
    assert events[1]["changes"] == {
        "title": {"before": "Call", "after": "Call back"},
        "priority": {"before": "NORMAL", "after": "HIGH"},
    }
    completion = events[3]["changes"]
    assert completion["status"] == {"before": "OPEN", "after": "DONE"}
    assert completion["completedAt"]["after"]
    assert completion["completedByApiKeyId"]["after"].startswith("QXBpS2V5")  # an ApiKey id
    assert events[2]["changes"]["status"] == completion["status"]
    reopened = events[4]["changes"]
    assert reopened["status"] == {"before": "DONE", "after": "OPEN"}
    assert reopened["completedAt"]["after"] is None
    assert all(e["actor"]["apiKeyName"] == "admin" for e in events)


async def test_task_events_on_the_timelines_of_what_they_link_to(api):
    account = await record(api, "account")
    contact = await record(api, "contact", accountId=account)
    task = await create(api, title="Send brochure", contactId=contact)
    await status(api, "complete", task["id"])
    await create(api, title="Unlinked")  # on no timeline
    data = await api(TIMELINE, c=contact, a=account)
    nodes = data["contact"]["timeline"]["nodes"]
    assert nodes == [
        {
            "kind": "TASK_COMPLETED",
            "__typename": "TaskCompletedEvent",
            "title": "Send brochure",
            "task": {"id": task["id"], "status": "DONE"},
            "completedBy": {"apiKeyName": "admin"},
        },
        {
            "kind": "TASK_CREATED",
            "__typename": "TaskCreatedEvent",
            "title": "Send brochure",
            "task": {"id": task["id"]},
            "createdBy": {"apiKeyName": "admin"},
            "account": {"id": account},
        },
    ]
    # the contact's account sees them too (the task named only the contact)
    assert data["account"]["timeline"]["totalCount"] == 2


async def test_a_deal_or_case_task_reaches_the_deal_and_case_contacts(api):
    contact = await record(api, "contact")
    deal = await record(api, "deal")
    await api.mutate(
        "mutation($d: ID!, $c: ID!) { addDealContact(input: {dealId: $d, contactId: $c}) {"
        f" {ERRORS} }} }}",
        d=deal,
        c=contact,
    )
    case = await record(api, "case", contactId=contact)
    await create(api, title="Deal task", dealId=deal)
    await create(api, title="Case task", caseId=case)
    data = await api(
        "query($c: ID!) { contact(id: $c) { timeline(filter: {kinds: [TASK_CREATED]}) {"
        " nodes { ... on TaskCreatedEvent { title } } } } }",
        c=contact,
    )
    titles = {n["title"] for n in data["contact"]["timeline"]["nodes"]}
    assert titles == {"Deal task", "Case task"}


async def _overdue_events(api, after, tid):
    events, _ = await read_all(api, after=after, recordIds=[tid], types=["task.overdue"])
    return events


async def test_overdue_is_raised_once_per_task_and_due_time(api, database):
    start = await end_cursor(api)
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    late = await create(api, title="Late", dueAt=past)
    done = await create(api, title="Done in time", dueAt=past)
    await status(api, "complete", done["id"])
    future = await create(api, title="Future", dueAt="2099-01-01T00:00:00Z")

    await overdue.raise_overdue(database)
    await overdue.raise_overdue(database)  # a second tick raises nothing new
    events = await _overdue_events(api, start, late["id"])
    assert len(events) == 1
    # system work: no API key, no request
    assert events[0]["actor"] == {"apiKeyName": None} and events[0]["requestId"] is None
    raised_for = datetime.fromisoformat(events[0]["changes"]["dueAt"]["after"])
    assert raised_for == datetime.fromisoformat(past)
    for other in (done, future):
        assert await _overdue_events(api, start, other["id"]) == []

    # reopened with the due time it was raised for: not again
    await status(api, "complete", late["id"])
    await status(api, "reopen", late["id"])
    await overdue.raise_overdue(database)
    assert len(await _overdue_events(api, start, late["id"])) == 1

    # moved later, and passed again: raised again
    current = (await api("query($id: ID!) { task(id: $id) { version } }", id=late["id"]))["task"]
    moved = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    await api.mutate(UPDATE, i={"id": late["id"], "version": current["version"], "dueAt": moved})
    await overdue.raise_overdue(database)
    assert len(await _overdue_events(api, start, late["id"])) == 2


async def test_task_events_reach_timeline_subscribers(live):
    contact = await record(live.api, "contact")
    async with live.subscribed() as sock:
        op = await sock.subscribe(
            "subscription($c: ID) { timelineEventAdded(contactId: $c) { node { __typename kind"
            " ... on TaskCreatedEvent { title task { id } }"
            " ... on TaskCompletedEvent { title completedBy { apiKeyName } } } } }",
            c=contact,
        )
        await live.listening()
        await create(live.api, title="Not hers")  # linked to nothing: on no timeline
        task = await create(live.api, title="Ring her", contactId=contact)
        await status(live.api, "complete", task["id"])
        nodes = [(await sock.data(op))["timelineEventAdded"]["node"] for _ in range(2)]
        await sock.nothing()
    assert nodes == [
        {
            "__typename": "TaskCreatedEvent",
            "kind": "TASK_CREATED",
            "title": "Ring her",
            "task": {"id": task["id"]},
        },
        {
            "__typename": "TaskCompletedEvent",
            "kind": "TASK_COMPLETED",
            "title": "Ring her",
            "completedBy": {"apiKeyName": "admin"},
        },
    ]
