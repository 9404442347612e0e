"""Schedule triggers, run by the clock with real job workers: once per matching record and
cron time, in the workspace's time zone, with two workers, and after the workers were stopped
across the scheduled time."""

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from relasi.db import use_system
from relasi.resolvers import global_ids
from tests.conftest import Api
from tests.workflows import writes
from tests.workflows.clock import clock_workers, next_minute
from tests.workflows.conftest import create, create_errors, runs, until

QUIET_OPEN_DEALS = {
    "deal": {"status": {"eq": "OPEN"}, "lastTouchpoint": {"olderThanDays": 14, "orNever": True}}
}
NOTE = [{"addNote": {"body": "Quiet for two weeks: call {{deal.name}}"}}]
TRACK = """mutation($c: ID!) { trackInteraction(input: {contactId: $c, channel: WHATSAPP,
           kind: MESSAGE}) { created } }"""


async def test_a_schedule_runs_once_per_matching_record_in_the_workspace_zone(
    database, fapi: Api, other_fapi: Api
):
    await fapi.mutate(
        'mutation { updateWorkspace(input: {timeZone: "Asia/Jakarta"}) { userErrors { field } } }'
    )
    quiet = [await writes.deal(fapi, name=f"Quiet {i}") for i in range(2)]
    busy_contact = await writes.contact(fapi)
    await fapi(TRACK, c=busy_contact["id"])
    await writes.deal(fapi, name="Busy", contacts=[{"contactId": busy_contact["id"]}])
    won = await writes.deal(fapi, name="Won")
    await writes.move(fapi, won, "Closed Won")
    await writes.deal(other_fapi, name="Another workspace's quiet deal")

    async with clock_workers(database, 2):  # the clock is running before the schedule exists
        at = next_minute(margin=8)
        local = at.astimezone(ZoneInfo("Asia/Jakarta"))
        # at that minute in Jakarta (read in UTC, it would be 7 hours off and not run today)
        cron = f"{local.minute} {local.hour} * * *"
        workflow = await create(
            fapi,
            recordType="DEAL",
            triggers=[{"schedule": {"cron": cron}}],
            condition=QUIET_OPEN_DEALS,
            actions=NOTE,
        )
        # the same cron read in UTC, which the trigger names: not this hour
        in_utc = await create(
            fapi,
            recordType="DEAL",
            triggers=[{"schedule": {"cron": cron, "timeZone": "UTC"}}],
            actions=NOTE,
        )
        await asyncio.sleep(2)
    # stopped across the scheduled time: nothing runs until the workers are back
    await asyncio.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 2)
    assert await runs(fapi, workflow["id"]) == []

    async with clock_workers(database, 2):  # two workers, after a restart

        async def two():
            found = await runs(fapi, workflow["id"])
            return found if len(found) >= 2 else None

        # a worker stopped during a tick leaves the clock's schedule row picked: pgqueuer gives
        # it to another worker once its heartbeat is 3 s old (CLOCK)
        await until(two, timeout=60)
        await asyncio.sleep(3)  # more ticks, by both workers: nothing more
        found = await runs(fapi, workflow["id"])
    assert sorted(r["recordId"] for r in found) == sorted(d["id"] for d in quiet)
    for run in found:
        assert run["trigger"]["kind"] == "schedule"
        assert datetime.fromisoformat(run["trigger"]["at"]) == at
    assert await runs(fapi, in_utc["id"]) == []
    assert await runs(other_fapi) == []


async def test_bad_schedules_are_refused_at_their_path(fapi: Api):
    for cron in ("0 8 * *", "0 8 * * 1 2026", "61 8 * * *", "every monday", "0 0 30 2 *"):
        errors = await create_errors(
            fapi, recordType="DEAL", triggers=[{"schedule": {"cron": cron}}], actions=NOTE
        )
        assert [e["field"] for e in errors] == [["input", "triggers", "0", "schedule", "cron"]]
    errors = await create_errors(
        fapi,
        recordType="DEAL",
        triggers=[{"schedule": {"cron": "0 8 * * 1", "timeZone": "Mars/Base"}}],
        actions=NOTE,
    )
    assert [e["field"] for e in errors] == [["input", "triggers", "0", "schedule", "timeZone"]]


async def _rewind_clock(database, workflow_ids: list[str], hours: int) -> None:
    """As if the workers had been stopped for `hours` with these workflows saved before: the
    first tick scans that gap (README: stopped workers)."""
    ids = [global_ids.decode(w, "Workflow") for w in workflow_ids]
    async with database.pool.acquire() as conn, conn.transaction():
        await use_system(conn, local=True)
        await conn.execute(
            "UPDATE workflows SET updated_at = now() - make_interval(hours => $2)"
            " WHERE id = ANY($1::uuid[])",
            ids,
            hours,
        )
        await conn.execute(
            """INSERT INTO workflow_clock (name, checked_until)
               VALUES ('triggers', now() - make_interval(hours => $1))
               ON CONFLICT (name) DO UPDATE SET checked_until = EXCLUDED.checked_until""",
            hours,
        )


async def test_a_cron_alias_runs_at_its_time_in_the_workspace_zone(database, fapi: Api):
    await fapi.mutate(
        'mutation { updateWorkspace(input: {timeZone: "Asia/Jakarta"}) { userErrors { field } } }'
    )
    deal = await writes.deal(fapi, name="Daily")
    daily = await create(
        fapi, recordType="DEAL", triggers=[{"schedule": {"cron": "@daily"}}], actions=NOTE
    )
    in_utc = await create(
        fapi,
        recordType="DEAL",
        triggers=[{"schedule": {"cron": "@DAILY", "timeZone": "UTC"}}],
        actions=NOTE,
    )
    await _rewind_clock(database, [daily["id"], in_utc["id"]], hours=25)
    async with clock_workers(database):

        async def both():
            a, b = await runs(fapi, daily["id"]), await runs(fapi, in_utc["id"])
            return (a, b) if a and b else None

        found, found_utc = await until(both, timeout=30)
    # midnight in Jakarta (17:00 UTC the day before) and midnight in UTC: one run each
    local = datetime.fromisoformat(found[0]["trigger"]["at"]).astimezone(ZoneInfo("Asia/Jakarta"))
    assert (local.hour, local.minute) == (0, 0)
    assert datetime.fromisoformat(found_utc[0]["trigger"]["at"]).astimezone(UTC).hour == 0
    assert [r["recordId"] for r in found] == [deal["id"]] == [r["recordId"] for r in found_utc]


async def test_cron_aliases_are_accepted_and_at_reboot_is_refused(fapi: Api):
    for alias in ("@hourly", "@daily", "@weekly", "@monthly", "@yearly"):
        await create(
            fapi, recordType="DEAL", triggers=[{"schedule": {"cron": alias}}], actions=NOTE
        )
    errors = await create_errors(
        fapi, recordType="DEAL", triggers=[{"schedule": {"cron": "@reboot"}}], actions=NOTE
    )
    assert [(e["field"], e["code"]) for e in errors] == [
        (["input", "triggers", "0", "schedule", "cron"], "BAD_USER_INPUT")
    ]
    assert "names no time" in errors[0]["message"]


STATS = (
    """query($id: ID!) { workflow(id: $id) { stats { runs scheduleBacklog { at started } } } }"""
)


async def test_a_schedule_over_many_records_starts_them_a_batch_a_tick(database, fapi: Api):
    from relasi.resolvers.workflows import clock

    deals = [await writes.deal(fapi, name=f"Open {i}") for i in range(5)]
    daily = await create(
        fapi, recordType="DEAL", triggers=[{"schedule": {"cron": "@daily"}}], actions=NOTE
    )
    await _rewind_clock(database, [daily["id"]], hours=25)
    seen = []
    for _ in range(3):  # the clock's ticks, two runs each at most
        await clock.tick(database, 0, batch=2)
        stats = (await fapi(STATS, id=daily["id"]))["workflow"]["stats"]
        seen.append(
            (stats["runs"], stats["scheduleBacklog"] and stats["scheduleBacklog"]["started"])
        )
    assert seen == [(2, 2), (4, 4), (5, None)]
    found = await runs(fapi, daily["id"])
    assert sorted(r["recordId"] for r in found) == sorted(d["id"] for d in deals)
    assert len({r["trigger"]["at"] for r in found}) == 1  # all for the one cron time
    await clock.tick(database, 0, batch=2)  # nothing left: nothing more
    assert len(await runs(fapi, daily["id"])) == 5
