"""Relative-time triggers ("2 days before a deal's expected close date"), run by the clock with
a real job worker: once per record and field value, a changed value counting anew, a date's
day starting in the workspace's time zone."""

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.conftest import Api
from tests.workflows import writes
from tests.workflows.clock import clock_workers, next_minute
from tests.workflows.conftest import create, create_errors, runs, until

JAKARTA = ZoneInfo("Asia/Jakarta")
NOTE = [{"addNote": {"body": "Closing soon: {{deal.name}}"}}]
SET_DATE = """mutation($id: ID!, $v: Int!, $d: Date) {
  updateDeal(input: {id: $id, version: $v, expectedCloseDate: $d}) { userErrors { field } } }"""
DELETE = """mutation($id: ID!) { deleteDeal(input: {id: $id}) { userErrors { field } } }"""


def two_days_before(at: datetime) -> tuple[str, int]:
    """A close date and offset whose moment, in Jakarta, is `at`: two days before the date,
    at `at`'s time of day."""
    today = at.astimezone(JAKARTA).date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=JAKARTA)
    minutes = int((at - midnight).total_seconds() // 60)
    return (today + timedelta(days=2)).isoformat(), -2 * 1440 + minutes


async def test_before_a_date_field_runs_once_for_its_value_at_its_time(
    database, fapi: Api, other_fapi: Api
):
    await fapi.mutate(
        'mutation { updateWorkspace(input: {timeZone: "Asia/Jakarta"}) { userErrors { field } } }'
    )
    at = next_minute(margin=10)
    date, offset = two_days_before(at)
    later = (datetime.fromisoformat(date) + timedelta(days=1)).date().isoformat()
    due = await writes.deal(fapi, name="Due", expectedCloseDate=date)
    moved_in = await writes.deal(fapi, name="Moved in", expectedCloseDate=later)
    moved_out = await writes.deal(fapi, name="Moved out", expectedCloseDate=date)
    deleted = await writes.deal(fapi, name="Deleted", expectedCloseDate=date)
    await writes.deal(fapi, name="Later", expectedCloseDate=later)
    await writes.deal(fapi, name="No date")
    await writes.deal(other_fapi, name="Another workspace's", expectedCloseDate=date)

    workflow = await create(
        fapi,
        recordType="DEAL",
        triggers=[{"relativeTime": {"field": "expectedCloseDate", "offsetMinutes": offset}}],
        actions=NOTE,
    )
    # the field changes before the moment: the new value's moment counts
    await fapi.mutate(SET_DATE, id=moved_in["id"], v=moved_in["version"], d=date)
    await fapi.mutate(SET_DATE, id=moved_out["id"], v=moved_out["version"], d=later)
    await fapi.mutate(DELETE, id=deleted["id"])

    async with clock_workers(database):
        await asyncio.sleep(3)
        assert await runs(fapi, workflow["id"]) == []  # not before its time

        async def two():
            found = await runs(fapi, workflow["id"])
            return found if len(found) >= 2 else None

        await until(two, timeout=max(5.0, (at - datetime.now(UTC)).total_seconds() + 20))
        await asyncio.sleep(3)  # more ticks: nothing more
        found = await runs(fapi, workflow["id"])
    assert sorted(r["recordId"] for r in found) == sorted([due["id"], moved_in["id"]])
    assert {r["trigger"]["value"] for r in found} == {date}
    assert await runs(other_fapi) == []


async def test_a_date_time_field_runs_again_when_its_value_changes(database, fapi: Api):
    workflow = await create(
        fapi,
        recordType="DEAL",
        triggers=[{"relativeTime": {"field": "closedAt", "offsetMinutes": 0}}],
        actions=NOTE,
    )
    won, open_deal = await writes.deal(fapi, name="Won"), await writes.deal(fapi, name="Open")
    async with clock_workers(database):
        await writes.move(fapi, won, "Closed Won")
        first = await until(lambda: runs(fapi, workflow["id"]), timeout=20)
        # reopened and lost: a new closing time, a new run; the open deal never closed
        await writes.move(fapi, won, "Negotiation")
        await writes.move(fapi, won, "Closed Lost")

        async def two():
            found = await runs(fapi, workflow["id"])
            return found if len(found) == 2 else None

        found = await until(two, timeout=20)
        await asyncio.sleep(3)
        found = await runs(fapi, workflow["id"])
    assert [r["recordId"] for r in found] == [won["id"], won["id"]]
    assert len({r["trigger"]["value"] for r in found}) == 2
    assert first[0]["recordId"] != open_deal["id"]


async def test_fields_that_are_no_date_are_refused(fapi: Api):
    errors = await create_errors(
        fapi,
        recordType="DEAL",
        triggers=[{"relativeTime": {"field": "amount", "offsetMinutes": -60}}],
        actions=NOTE,
    )
    assert [e["field"] for e in errors] == [["input", "triggers", "0", "relativeTime", "field"]]
