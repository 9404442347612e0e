"""`tasks` lists: filters (assignee, status, dueAt, overdue, linked records), order, pages,
and the `tasks` connections of members, contacts, accounts, deals and cases."""

from datetime import UTC, datetime, timedelta

from relasi.db import use_system
from relasi.resolvers import global_ids
from tests.tasks.helpers import create, member, record, status

LIST = """query($f: TaskFilter, $o: [TaskOrder!], $first: Int, $after: String) {
  tasks(filter: $f, orderBy: $o, first: $first, after: $after) {
    totalCount nodes { title } pageInfo { hasNextPage endCursor } } }"""


def _at(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def _titles(api, **flt) -> list[str]:
    data = await api(LIST, f=flt, o=[{"field": "TITLE", "direction": "ASC"}])
    return [n["title"] for n in data["tasks"]["nodes"]]


async def test_filters(api):
    dewi, budi = await member(api, "Dewi"), await member(api, "Budi")
    contact = await record(api, "contact")
    deal = await record(api, "deal")
    await create(api, title="a late", dueAt=_at(-2), assigneeId=dewi, contactId=contact)
    await create(api, title="b soon", dueAt=_at(2), assigneeId=dewi, dealId=deal)
    await create(api, title="c later", dueAt=_at(48), assigneeId=budi, priority="URGENT")
    done = await create(api, title="d done late", dueAt=_at(-5), assigneeId=budi)
    await status(api, "complete", done["id"])
    await create(api, title="e no due")

    assert await _titles(api, assignee={"name": {"eq": "Dewi"}}) == ["a late", "b soon"]
    assert await _titles(api, assigneeId={"eq": budi}) == ["c later", "d done late"]
    assert await _titles(api, assigneeId={"isNull": True}) == ["e no due"]
    assert await _titles(api, status={"eq": "DONE"}) == ["d done late"]
    assert await _titles(api, status={"in": ["OPEN", "CANCELLED"]}) == [
        "a late",
        "b soon",
        "c later",
        "e no due",
    ]
    assert await _titles(api, dueAt={"lt": _at(0)}) == ["a late", "d done late"]
    assert await _titles(api, dueAt={"gt": _at(0), "lt": _at(24)}) == ["b soon"]
    assert await _titles(api, overdue=True) == ["a late"]
    assert await _titles(api, overdue=False) == ["b soon", "c later", "d done late", "e no due"]
    assert await _titles(api, contact={"firstName": {"startsWith": "Contact"}}) == ["a late"]
    assert await _titles(api, dealId={"eq": deal}) == ["b soon"]
    assert await _titles(api, priority={"eq": "URGENT"}) == ["c later"]
    assert await _titles(api, search="LATE") == ["a late", "c later", "d done late"]
    assert await _titles(api, overdue=True, assignee={"name": {"eq": "Budi"}}) == []

    # due first, tasks without one last; pages follow the order
    data = await api(LIST, o=[{"field": "DUE_AT", "direction": "ASC"}], first=2)
    assert [n["title"] for n in data["tasks"]["nodes"]] == ["d done late", "a late"]
    assert data["tasks"]["totalCount"] == 5 and data["tasks"]["pageInfo"]["hasNextPage"]
    rest = await api(
        LIST,
        o=[{"field": "DUE_AT", "direction": "ASC"}],
        first=5,
        after=data["tasks"]["pageInfo"]["endCursor"],
    )
    assert [n["title"] for n in rest["tasks"]["nodes"]] == ["b soon", "c later", "e no due"]

    # filters on other records reach tasks
    data = await api("{ contacts(filter: {tasks: {some: {overdue: true}}}) { nodes { id } } }")
    assert data["contacts"]["nodes"] == [{"id": contact}]


async def test_bad_filters_are_refused(api):
    for flt in (
        {"overdue": "yes"},
        {"dueAt": {"lt": "tomorrow"}},
        {"assigneeId": {"eq": "x" * 5000}},
    ):
        body = await api.raw(LIST, f=flt)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


async def test_tasks_of_members_and_linked_records(api):
    dewi = await member(api, "Dewi")
    contact = await record(api, "contact")
    account = await record(api, "account")
    deal = await record(api, "deal")
    case = await record(api, "case")
    await create(api, title="one", assigneeId=dewi, contactId=contact, caseId=case)
    await create(api, title="two", assigneeId=dewi, accountId=account, dealId=deal)
    late = await create(api, title="three", dueAt=_at(-1), contactId=contact, dealId=deal)
    data = await api(
        """query($c: ID!, $a: ID!, $d: ID!, $k: ID!) {
          members(filter: {name: {eq: "Dewi"}}) { nodes {
            tasks(orderBy: [{field: TITLE, direction: ASC}]) { totalCount nodes { title } } } }
          contact(id: $c) { tasks(filter: {overdue: true}) { nodes { id } } all: tasks { totalCount } }
          account(id: $a) { tasks { nodes { title } } }
          deal(id: $d) { tasks(orderBy: [{field: TITLE, direction: DESC}]) { nodes { title } } }
          case(id: $k) { tasks { nodes { title assignee { name } } } } }""",
        c=contact,
        a=account,
        d=deal,
        k=case,
    )
    assert data["members"]["nodes"] == [
        {"tasks": {"totalCount": 2, "nodes": [{"title": "one"}, {"title": "two"}]}}
    ]
    assert data["contact"] == {"tasks": {"nodes": [{"id": late["id"]}]}, "all": {"totalCount": 2}}
    assert data["account"]["tasks"]["nodes"] == [{"title": "two"}]
    assert data["deal"]["tasks"]["nodes"] == [{"title": "two"}, {"title": "three"}]
    assert data["case"]["tasks"]["nodes"] == [{"title": "one", "assignee": {"name": "Dewi"}}]


async def test_a_segment_of_contacts_with_an_overdue_task_follows_task_writes(api, database):
    contact = await record(api, "contact")
    segment = (
        await api.mutate(
            'mutation { createSegment(input: {name: "Waiting on us",'
            " rule: {tasks: {some: {overdue: true}}}}) { segment { id } "
            "userErrors { field message code } } }"
        )
    )["segment"]
    # `overdue` reads the clock: the segment is refreshed on its schedule as well
    async with database.pool.acquire() as conn:
        await use_system(conn)
        pk = global_ids.decode(segment["id"], "Segment")
        assert await conn.fetchval("SELECT scheduled FROM segments WHERE id = $1", pk) is True

    async def members() -> list[str]:
        data = await api(
            "query($id: ID!) { segment(id: $id) { members { nodes { id } } } }", id=segment["id"]
        )
        return [n["id"] for n in data["segment"]["members"]["nodes"]]

    task = await create(api, title="Reply", contactId=contact, dueAt=_at(-1))
    assert await members() == [contact]
    await status(api, "complete", task["id"])
    assert await members() == []
