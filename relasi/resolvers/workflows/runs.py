"""Reading runs: `workflowRuns` (newest first, filtered), each with its steps, and a
workflow's stats, both batched per request."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from relasi.errors import AppError
from relasi.resolvers import global_ids
from relasi.resolvers.predicates import Params
from relasi.resolvers.session import Session
from relasi.resolvers.webhooks import listing

TYPE_NAME = "WorkflowRun"
STATUSES = ("QUEUED", "RUNNING", "WAITING", "SUCCEEDED", "FAILED", "SKIPPED", "LOOP_STOPPED")


async def page(
    session: Session,
    workflow_id: UUID | None,
    flt: dict[str, Any],
    first: int | None,
    after: str | None,
) -> tuple[list[asyncpg.Record], bool]:
    """Runs, newest first: of one workflow (or all), by status, record and creation time."""
    conditions = ["t.workspace_id = $1"]
    args = Params(session.workspace_id)

    def where(sql: str, value: Any) -> None:
        conditions.append(sql.format(args(value)))

    if workflow_id is not None:
        where("t.workflow_id = {}", workflow_id)
    if flt.get("status") is not None:
        where("t.status = {}", flt["status"])
    if flt.get("record_id") is not None:
        where("t.record_id = {}", global_ids.decode_any(flt["record_id"], "filter.recordId")[1])
    if flt.get("from_") is not None:
        where("t.created_at >= {}", flt["from_"])
    if flt.get("to") is not None:
        where("t.created_at < {}", flt["to"])
    return await listing.keyset_page(
        session,
        "SELECT t.*, w.name AS workflow_name FROM workflow_runs t JOIN workflows w"
        " ON w.workspace_id = t.workspace_id AND w.id = t.workflow_id"
        f" WHERE {' AND '.join(conditions)}",
        args,
        descending=True,
        first=first,
        after=after,
        name="workflowRuns",
    )


async def steps(session: Session, run_ids: list[UUID]) -> dict[UUID, list[asyncpg.Record]]:
    """The steps of each run, in the order they ran."""
    found = await session.fetch(
        "SELECT * FROM workflow_run_steps WHERE workspace_id = $1 AND run_id = ANY($2::uuid[])"
        " ORDER BY run_id, position",
        session.workspace_id,
        run_ids,
    )
    out: dict[UUID, list[asyncpg.Record]] = defaultdict(list)
    for row in found:
        out[row["run_id"]].append(row)
    return out


async def stats(session: Session, workflow_id: UUID) -> asyncpg.Record:
    """runs, failures, last_run_at, last_status, and the schedule time still being started
    (backlog_at, backlog_started) of a workflow (batched per request)."""

    async def batch(ids: list[UUID]) -> list[asyncpg.Record | None]:
        found = await session.fetch(
            """SELECT w.id, count(r.id) AS runs,
                      count(r.id) FILTER (WHERE r.status = 'FAILED') AS failures,
                      max(r.created_at) AS last_run_at,
                      (SELECT l.status FROM workflow_runs l
                        WHERE l.workspace_id = w.workspace_id AND l.workflow_id = w.id
                        ORDER BY l.created_at DESC, l.id DESC LIMIT 1) AS last_status,
                      (SELECT min(b.fire_at) FROM workflow_schedule_backlog b
                        WHERE b.workspace_id = w.workspace_id AND b.workflow_id = w.id
                          AND w.enabled AND b.fire_at >= w.updated_at)
                        AS backlog_at,
                      (SELECT sum(b.started) FROM workflow_schedule_backlog b
                        WHERE b.workspace_id = w.workspace_id AND b.workflow_id = w.id
                          AND w.enabled AND b.fire_at >= w.updated_at)
                        AS backlog_started
                 FROM workflows w LEFT JOIN workflow_runs r
                   ON r.workspace_id = w.workspace_id AND r.workflow_id = w.id
                WHERE w.workspace_id = $1 AND w.id = ANY($2::uuid[])
                GROUP BY w.workspace_id, w.id""",
            session.workspace_id,
            ids,
        )
        by_id = {r["id"]: r for r in found}
        return [by_id.get(i) for i in ids]

    return await session.loader(("workflow_stats",), batch).load(workflow_id)


def checked_range(flt: dict[str, Any]) -> None:
    start, end = flt.get("from_"), flt.get("to")
    if isinstance(start, datetime) and isinstance(end, datetime) and start >= end:
        raise AppError("`from` must be before `to`.", field="filter.from")
