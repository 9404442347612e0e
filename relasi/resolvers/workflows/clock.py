"""The workflows' clock: the periodic work that starts time-based runs and continues waiting
ones (README: Workflows -> Time).

Every `workflow_clock_interval` seconds (one worker of the cluster at a time) a tick:

1. takes the window (checked_until, now] of the clock's mark (0014_workflow_time.sql), with the
   mark's row locked so no two ticks scan at once, and for every enabled workflow with
   time-based triggers starts a run per record that is due in it:
   - `schedule {cron, timeZone}`: each cron time in the window (in the trigger's time zone, or
     the workspace's), for every live record passing the workflow's condition; dedupe key
     `schedule:<time>:<record>`; a window holding several cron times (the workers were
     stopped) runs the latest one only;
   - `relativeTime {field, offsetMinutes}`: every record whose field value plus the offset is
     in the window; key `relativeTime:<field>:<offset>:<record>:<value>`, so a changed value
     is a new moment, run once too;
   - `caseSla {event, withinMinutes}`: every open case whose SLA is due within the minutes
     (DUE_SOON; a case born that close to its due time, at once) or passes it (BREACHED);
     key `caseSla:<event>:<minutes>:<case>:<due time>`;
   and moves the mark, all in one transaction: a crash scans the window again, and the runs'
   dedupe keys (engine.start_run) make that harmless. Record moments are looked for a minute
   further back than the window (`OVERLAP`), so a write committed just after a tick read its
   snapshot is still seen; the dedupe keys keep that from starting anything twice.
2. continues waiting runs (waits.py).

A workflow's window starts no earlier than its last save: a time or moment before it was
enabled or changed never fires it. After the workers were stopped, the first tick scans the
whole gap (at most `MAX_CATCH_UP`): nothing due meanwhile is lost.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from relasi.db import Database, use_system
from relasi.jobs import JobContext, periodic
from relasi.resolvers.model import entity
from relasi.resolvers.predicates import Params
from relasi.resolvers.workflows import conditions, engine, moments, schedules, waits

log = logging.getLogger("relasi.workflows")

TICK_SECONDS = 1  # how often the tick looks whether `workflow_clock_interval` has passed
MARK = "triggers"
OVERLAP = timedelta(seconds=60)
MAX_CATCH_UP = timedelta(days=7)
TIME_KINDS = ("schedule", "relativeTime", "caseSla")

# enabled workflows with at least one time-based trigger, in every workspace
_WORKFLOWS = """
SELECT w.workspace_id, w.id, w.record_type, w.definition, w.owner_scopes, w.updated_at,
       ws.time_zone
  FROM workflows w JOIN workspaces ws ON ws.id = w.workspace_id
 WHERE w.enabled AND w.deleted_at IS NULL
   AND EXISTS (SELECT FROM jsonb_array_elements(w.definition->'triggers') t
                WHERE t ?| $1::text[])
 ORDER BY w.workspace_id, w.id"""


async def tick(
    db: Database, interval: float, batch: int = 1_000, stopping: asyncio.Event | None = None
) -> int:
    """Start the runs due since the last tick, if `interval` seconds have passed since it (at
    most `batch` per schedule trigger); then continue the waiting runs that are due. How many
    runs were started or continued. Once `stopping` is set it ends after the workflow in hand
    (what it started commits, the mark stays: the next tick scans the window again, and the
    runs' dedupe keys keep anything from starting twice) or the batch of waiting runs."""
    stopping = stopping or asyncio.Event()
    if stopping.is_set():
        return 0
    async with db.pool.acquire() as conn:
        async with conn.transaction():
            await use_system(conn, local=True)  # every workspace's workflows and records
            window = await _claim(conn, interval)
            if window is None:
                return 0
            started = await _start_due(conn, *window, batch, stopping)
            if not stopping.is_set():
                await conn.execute(
                    "UPDATE workflow_clock SET checked_until = $2 WHERE name = $1",
                    MARK,
                    window[1],
                )
        if stopping.is_set():
            return started
        return started + await waits.continue_due(conn, stopping)


async def _claim(conn: asyncpg.Connection, interval: float) -> tuple[datetime, datetime] | None:
    """(after, until] to scan, with the mark locked until the transaction ends; None if
    another tick holds it or the last one is less than `interval` ago."""
    row = await conn.fetchrow(
        "SELECT checked_until, now() AS now FROM workflow_clock WHERE name = $1"
        " FOR UPDATE SKIP LOCKED",
        MARK,
    )
    if row is None:  # the first tick ever starts the clock now (or another tick holds it)
        await conn.execute(
            "INSERT INTO workflow_clock (name, checked_until) VALUES ($1, now())"
            " ON CONFLICT DO NOTHING",
            MARK,
        )
        return None
    now, after = row["now"], row["checked_until"]
    if now - after < timedelta(seconds=interval):
        return None
    return max(after, now - MAX_CATCH_UP), now


async def _start_due(
    conn: asyncpg.Connection, after: datetime, until: datetime, batch: int, stopping: asyncio.Event
) -> int:
    started = 0
    for wf in await conn.fetch(_WORKFLOWS, list(TIME_KINDS)):
        if stopping.is_set():
            return started
        for index, trigger in enumerate(wf["definition"].get("triggers") or ()):
            kind = next(iter(trigger), None) if isinstance(trigger, dict) else None
            if kind not in TIME_KINDS:
                continue
            try:
                async with conn.transaction():  # a savepoint: one broken trigger skips alone
                    fire = _FIRE[kind]
                    if kind == "schedule":
                        fire = functools.partial(fire, batch=batch)
                    started += await fire(conn, wf, index, trigger[kind], after, until)
            except Exception as e:  # e.g. a condition that no longer compiles (AppError)
                log.warning("workflow %s trigger %d (%s) skipped: %s", wf["id"], index, kind, e)
    return started


async def _start(
    conn: asyncpg.Connection, wf: Any, record_id: UUID, trigger: dict[str, Any], key: str
) -> int:
    run = await engine.start_run(
        conn, wf["id"], wf["record_type"], record_id, trigger=trigger, dedupe_key=key
    )
    return run is not None


async def _schedule(
    conn, wf, index: int, spec: dict, after: datetime, until: datetime, *, batch: int
) -> int:
    """The records of the latest cron time in the window, or of the one still being started
    (its backlog), `batch` at most, in id order; what is left waits for the next tick."""
    zone = ZoneInfo(spec.get("timeZone") or wf["time_zone"])
    at = schedules.last_fire_time(spec["cron"], zone, max(after, wf["updated_at"]), until)
    ws = wf["workspace_id"]
    # one left from before the workflow's last save is not its schedule any more
    backlog = await conn.fetchrow(
        "SELECT fire_at, after_id, started FROM workflow_schedule_backlog"
        " WHERE workspace_id = $1 AND workflow_id = $2 AND trigger_index = $3"
        " AND fire_at >= $4",
        ws,
        wf["id"],
        index,
        wf["updated_at"],
    )
    if at is None and backlog is None:
        return 0
    # a newer cron time replaces one still being started: a schedule runs for its latest time
    at, after_id, before = (at, None, 0) if at is not None else tuple(backlog)
    record_type = wf["record_type"]
    ent = entity(record_type)
    params = Params(ws)
    condition = conditions.compiled(
        record_type, wf["definition"].get("condition"), list(wf["owner_scopes"]), params
    )
    cursor = params(after_id, "uuid")
    ids = await conn.fetch(
        f"SELECT t.id FROM {ent.table} t WHERE t.workspace_id = $1 AND {ent.live('t')}"
        f" AND {condition} AND ({cursor} IS NULL OR t.id > {cursor})"
        f" ORDER BY t.id LIMIT {int(batch) + 1}",
        *params.values,
    )
    trigger = {"index": index, "kind": "schedule", "at": at.isoformat()}
    started = 0
    for row in ids[:batch]:
        key = f"schedule:{at.isoformat()}:{row['id']}"
        started += await _start(conn, wf, row["id"], trigger, key)
    if len(ids) > batch:
        await conn.execute(
            """INSERT INTO workflow_schedule_backlog
                   (workspace_id, workflow_id, trigger_index, fire_at, after_id, started)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (workspace_id, workflow_id, trigger_index) DO UPDATE
                  SET fire_at = EXCLUDED.fire_at, after_id = EXCLUDED.after_id,
                      started = EXCLUDED.started""",
            ws,
            wf["id"],
            index,
            at,
            ids[batch - 1]["id"],
            before + batch,
        )
    else:
        await conn.execute(
            "DELETE FROM workflow_schedule_backlog"
            " WHERE workspace_id = $1 AND workflow_id = $2 AND trigger_index = $3",
            ws,
            wf["id"],
            index,
        )
    return started


async def _moment(
    conn, wf, index: int, kind: str, moment: moments.Moment, key: str, after, until
) -> int:
    after = max(after - OVERLAP, wf["updated_at"])
    found = await moments.due(conn, wf["workspace_id"], wf["time_zone"], moment, after, until)
    started = 0
    for record_id, value in found:
        at = value.isoformat() if hasattr(value, "isoformat") else str(value)
        trigger = {"index": index, "kind": kind, "value": at}
        started += await _start(conn, wf, record_id, trigger, f"{key}:{record_id}:{at}")
    return started


async def _relative_time(conn, wf, index: int, spec: dict, after, until) -> int:
    field = moments.time_fields(wf["record_type"])[spec["field"]]
    offset = int(spec["offsetMinutes"])
    moment = moments.Moment(wf["record_type"], field.name, timedelta(minutes=offset))
    key = f"relativeTime:{spec['field']}:{offset}"
    return await _moment(conn, wf, index, "relativeTime", moment, key, after, until)


async def _case_sla(conn, wf, index: int, spec: dict, after, until) -> int:
    within = spec.get("withinMinutes") if spec["event"] == "DUE_SOON" else None
    key = f"caseSla:{spec['event']}:{within or 0}"
    return await _moment(conn, wf, index, "caseSla", moments.sla_moment(within), key, after, until)


_FIRE = {"schedule": _schedule, "relativeTime": _relative_time, "caseSla": _case_sla}


@periodic("workflows.clock", every=TICK_SECONDS)
async def clock(ctx: JobContext) -> None:
    settings = ctx.settings
    await tick(
        ctx.db, settings.workflow_clock_interval, settings.workflow_schedule_batch, ctx.stopping
    )
