"""Membership under concurrent writes, refreshSegment under traffic, and the scheduled refresh
(also with two schedulers at once, as with two server processes)."""

import asyncio
import datetime

from relasi.resolvers import global_ids
from relasi.resolvers.segments import scheduler
from relasi.server import create_app
from relasi.settings import Settings
from tests.segments import helpers as h
from tests.segments.conftest import days_ago


async def test_concurrent_touches_of_one_contact_are_all_counted(api):
    contacts = [await h.contact(api, f"C{i}") for i in range(6)]
    segment = await h.create_segment(api, "Twice", {"touchpoints": {"atLeast": 2}})
    # each contact's two touches race: each request alone sees only one of them
    await asyncio.gather(*(h.track(api, c) for c in contacts for _ in range(2)))
    assert await h.members(api, segment["id"]) == set(contacts)
    data = await api(
        "query($id: ID!) { segment(id: $id) { membershipChanges { totalCount } } }",
        id=segment["id"],
    )
    assert data["segment"]["membershipChanges"]["totalCount"] == len(contacts)


async def test_refresh_under_concurrent_writes_loses_nothing(api, database):
    contacts = [await h.contact(api, f"C{i}", city="Bandung") for i in range(12)]
    rule = {"or": [{"city": {"eq": "Jakarta"}}, {"touchpoints": {"atLeast": 2, "withinDays": 7}}]}
    segment = await h.create_segment(api, "Busy", rule)

    async def writes(i: int) -> None:
        contact = contacts[i]
        if i % 3 == 0:
            await h.update_contact(api, contact, city="Jakarta")
        else:
            await h.track(api, contact)
            await h.track(api, contact, occurredAt=days_ago(i % 2 * 30))

    async def refreshes() -> None:
        for _ in range(4):
            await api.mutate(
                f"mutation($id: ID!) {{ refreshSegment(input: {{id: $id}}) {{ entered {h.ERRORS} }} }}",
                id=segment["id"],
            )

    await asyncio.gather(refreshes(), *(writes(i) for i in range(len(contacts))))
    assert await h.members(api, segment["id"]) == await h.matching(api, rule)
    # a rule edit racing with writes too
    rule = {"touchpoints": {"atLeast": 1}, "city": {"ne": "Jakarta"}}
    update = api.mutate(
        "mutation($input: UpdateSegmentInput!) { updateSegment(input: $input) "
        f"{{ segment {{ id }} {h.ERRORS} }} }}",
        input={"id": segment["id"], "version": 1, "rule": rule},
    )
    await asyncio.gather(update, *(h.track(api, c) for c in contacts[::3]))
    await scheduler.tick(database, 300, 3600)  # settles what raced the edit
    assert await h.members(api, segment["id"]) == await h.matching(api, rule)


async def test_the_schedule_refreshes_time_based_segments(api, database):
    ayu = await h.contact(api, "Ayu")
    budi = await h.contact(api, "Budi")
    # inside the 14 days for two more seconds only
    await h.track(api, ayu, occurredAt=days_ago(14 - 2 / 86_400))
    await h.track(api, budi)
    recent = await h.create_segment(api, "Recent", {"touchpoints": {"withinDays": 14}})
    lapsed = await h.create_segment(api, "Lapsed", {"lastTouchpoint": {"olderThanDays": 14}})
    assert await h.members(api, recent["id"]) == {ayu, budi}
    assert await h.members(api, lapsed["id"]) == set()
    await asyncio.sleep(2.5)
    # two schedulers at once (two server processes): each segment is refreshed by one
    await asyncio.gather(*(scheduler.tick(database, 0.1, 3600) for _ in range(2)))
    assert await h.members(api, recent["id"]) == {budi}
    assert await h.members(api, lapsed["id"]) == {ayu}
    data = await api(
        "query($id: ID!) { segment(id: $id) { membershipChanges { nodes { change reason } } } }",
        id=lapsed["id"],
    )
    assert data["segment"]["membershipChanges"]["nodes"] == [
        {"change": "ENTERED", "reason": "SCHEDULE"}
    ]


async def test_the_server_runs_the_schedule_and_reconciles_bulk_writes(api, database):
    ayu = await h.contact(api, "Ayu")
    segment = await h.create_segment(api, "Touched", {"touchpoints": {}})
    # a bulk import writes past the API's write paths
    async with database.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO interactions (workspace_id, contact_id, channel, kind) VALUES ($1, $2, 'WEB', 'PAGE_VIEW')",
            api.workspace_id,
            global_ids.decode(ayu, "Contact"),
        )
    assert await h.members(api, segment["id"]) == set()
    app = create_app(
        Settings(segment_refresh_interval=0.2, segment_reconcile_interval=0.5), database=database
    )
    async with app.router.lifespan_context(app):
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=15)
        while await h.members(api, segment["id"]) != {ayu}:
            assert datetime.datetime.now() < deadline, "the schedule did not reconcile"
            await asyncio.sleep(0.2)
    async with database.pool.acquire() as conn:
        settled = await conn.fetchval(
            "SELECT NOT needs_settle FROM segments WHERE workspace_id = $1", api.workspace_id
        )
    assert settled
