"""Polling the change log: order under concurrent writers, atomicity with the write, batches,
isolation, filters and bad arguments."""

import asyncio

from tests.changes.helpers import ERRORS, page, read_all

CREATE = f"""mutation($i: CreateContactInput!) {{ createContact(input: $i) {{
    contact {{ id version }} {ERRORS} }} }}"""
UPDATE = f"""mutation($i: UpdateContactInput!) {{ updateContact(input: $i) {{
    contact {{ id version }} {ERRORS} }} }}"""
TRACK_MANY = f"""mutation($inputs: [TrackInteractionInput!]!) {{ trackInteractions(inputs: $inputs) {{
    results {{ created interaction {{ id }} {ERRORS} }} }} }}"""


async def _contact(api, name: str) -> dict:
    return (await api.mutate(CREATE, i={"firstName": name}))["contact"]


async def test_an_event_committed_later_is_never_behind_a_cursor(api, database):
    """A writer that started first but commits last (a slow request, an import) gets its
    events after those already read: the log is in commit order, so no cursor passes them."""
    start = (await read_all(api))[1]
    async with database.pool.acquire() as conn:
        slow = conn.transaction()
        await slow.start()
        await database.begin_request(conn, api.workspace_id)
        await conn.execute(
            "INSERT INTO contacts (workspace_id, first_name) VALUES ($1, 'Slow')", api.workspace_id
        )
        fast = await _contact(api, "Fast")  # commits first
        seen, cursor = await read_all(api, start)
        assert [e["recordId"] for e in seen] == [fast["id"]]
        await slow.commit()
    seen, cursor = await read_all(api, cursor)
    assert [e["changes"]["firstName"]["after"] for e in seen] == ["Slow"]
    assert seen[0]["actor"] == {"apiKeyName": None}  # not an API caller: system work
    assert (await read_all(api, cursor))[0] == []
    everything = (await read_all(api, start))[0]
    assert [e["changes"]["firstName"]["after"] for e in everything] == ["Fast", "Slow"]


async def test_a_rolled_back_transaction_leaves_no_gap_in_the_order(api, database):
    start = (await read_all(api))[1]
    async with database.pool.acquire() as conn:
        gone = conn.transaction()
        await gone.start()
        await database.begin_request(conn, api.workspace_id)
        await conn.execute(
            "INSERT INTO contacts (workspace_id, first_name) VALUES ($1, 'Gone')", api.workspace_id
        )
        await gone.rollback()
    await _contact(api, "Kept")
    seen = (await read_all(api, start))[0]
    assert [e["changes"]["firstName"]["after"] for e in seen] == ["Kept"]


async def test_a_poller_paging_under_concurrent_writers_sees_every_event_once_in_order(api):
    start = (await read_all(api))[1]

    async def writer(name: str) -> None:
        for i in range(15):
            contact = await _contact(api, f"{name}{i}")
            await api.mutate(
                UPDATE, i={"id": contact["id"], "version": contact["version"], "lastName": name}
            )

    writers = asyncio.gather(writer("A"), writer("B"))
    polled: list[dict] = []
    cursor = start
    while not writers.done():
        found = await page(api, 3, cursor)  # small pages: many cursors handed out mid-write
        polled += [edge["node"] for edge in found["edges"]]
        cursor = found["pageInfo"]["endCursor"]
        await asyncio.sleep(0)
    await writers
    assert polled  # the poller did read while the writers were writing
    polled += (await read_all(api, cursor, first=3))[0]

    everything = (await read_all(api, start))[0]
    assert len(everything) == 60
    assert polled == everything
    # each write has its number: gapless, increasing in the order read, shared by its events
    numbers = [int(e["sequence"]) for e in everything]
    assert numbers == list(range(numbers[0], numbers[0] + 60))
    for name in ("A", "B"):  # each writer's events in the order it wrote them
        mine = [e for e in everything if e["recordId"] in _ids_named(everything, name)]
        assert [e["type"] for e in mine] == ["contact.created", "contact.updated"] * 15


def _ids_named(events: list[dict], prefix: str) -> set[str]:
    return {
        e["recordId"]
        for e in events
        if e["type"] == "contact.created" and e["changes"]["firstName"]["after"].startswith(prefix)
    }


async def test_refused_and_rolled_back_writes_record_nothing(api):
    contact = await _contact(api, "Rina")
    start = (await read_all(api))[1]
    stale = await api.raw(UPDATE, i={"id": contact["id"], "version": 99, "lastName": "X"})
    assert stale["data"]["updateContact"]["userErrors"][0]["code"] == "CONFLICT"
    bad = await api.raw(
        CREATE, i={"firstName": "Y", "emails": [{"address": "ok@example.com"}, {"address": "no"}]}
    )
    assert bad["data"]["createContact"]["userErrors"]
    # the contact row was written before the second email was refused: undone, unlogged
    assert (await read_all(api, start))[0] == []
    assert (await api('{ contacts(filter: {firstName: {eq: "Y"}}) { totalCount } }'))["contacts"][
        "totalCount"
    ] == 0


async def test_batch_ingest_records_one_event_per_touch_and_nothing_for_refused_items(api):
    contact = await _contact(api, "Budi")
    start = (await read_all(api))[1]
    inputs = [
        {"contactId": contact["id"], "channel": "WEB", "kind": "PAGE_VIEW", "externalId": f"e{i}"}
        for i in range(40)
    ]
    inputs[7]["externalId"] = "e3"  # a repeat: the first one stands
    inputs[9]["sentiment"] = 5  # refused
    results = (await api(TRACK_MANY, inputs=inputs))["trackInteractions"]["results"]
    created = [r["interaction"]["id"] for r in results if r["created"]]
    assert len(created) == 38
    events = (await read_all(api, start))[0]
    assert [e["type"] for e in events] == ["interaction.tracked"] * 38
    assert sorted(e["recordId"] for e in events) == sorted(created)
    assert len({e["requestId"] for e in events}) == 1
    assert {e["changes"]["externalId"]["after"] for e in events} == {
        f"e{i}" for i in range(40) if i not in (7, 9)
    }


async def test_another_workspaces_changes_never_appear(api, other_api):
    start = (await read_all(api))[1]
    theirs = await _contact(other_api, "Foreign")
    mine = await _contact(api, "Local")
    events = (await read_all(api, start))[0]
    assert [e["recordId"] for e in events] == [mine["id"]]
    assert (await read_all(api, recordIds=[theirs["id"]]))[0] == []
    assert [e["recordId"] for e in (await read_all(other_api))[0]] == [theirs["id"]]


async def test_filters_by_type_and_record(api):
    a = await _contact(api, "A")
    b = await _contact(api, "B")
    await api.mutate(UPDATE, i={"id": a["id"], "version": a["version"], "lastName": "Z"})
    updated = (await read_all(api, types=["contact.updated"]))[0]
    assert [(e["type"], e["recordId"]) for e in updated] == [("contact.updated", a["id"])]
    only_b = (await read_all(api, recordIds=[b["id"]]))[0]
    assert [(e["type"], e["recordId"]) for e in only_b] == [("contact.created", b["id"])]
    both = (await read_all(api, types=["contact.created"], recordIds=[a["id"], b["id"]]))[0]
    assert [e["recordId"] for e in both] == [a["id"], b["id"]]


async def test_pages_resume_from_their_cursor_and_an_empty_page_keeps_it(api):
    for name in "ABCDE":
        await _contact(api, name)
    first = await page(api, 2)
    assert first["pageInfo"]["hasNextPage"] is True
    rest, end = await read_all(api, first["pageInfo"]["endCursor"], first=2)
    names = [e["node"]["changes"]["firstName"]["after"] for e in first["edges"]]
    names += [e["changes"]["firstName"]["after"] for e in rest]
    assert names == list("ABCDE")
    empty = await page(api, 10, end)
    assert empty["edges"] == [] and empty["pageInfo"] == {"hasNextPage": False, "endCursor": end}


async def test_bad_arguments_are_bad_user_input(api, other_api):
    await _contact(api, "A")
    cursor = (await read_all(api))[1]
    for variables, field in (
        ({"first": 101}, "first"),
        ({"first": -1}, "first"),
        ({"after": "not-a-cursor"}, "after"),
        ({"after": "WyJ4IixbIjEiLCIyIl1d"}, "after"),  # a cursor of another list
        ({"filter": {"types": ["contact.created", "contact.exploded"]}}, "filter.types.1"),
        ({"filter": {"recordIds": ["???"]}}, "filter.recordIds.0"),
    ):
        body = await api.raw(
            "query($first: Int, $after: String, $filter: ChangeEventFilter) {"
            " changes(first: $first, after: $after, filter: $filter) { edges { cursor } } }",
            **variables,
        )
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, variables
    # a cursor is a position in the log, not a secret: another workspace reading from it
    # still sees only its own events
    assert (await read_all(other_api, cursor))[0] == []
