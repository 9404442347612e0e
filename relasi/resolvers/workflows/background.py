"""The workflows' background work, on the job queue (relasi/jobs/):

- `workflows.match` {workspace_id}: queued by the database in the writer's transaction
  (0013_workflows.sql, once while one is queued), it matches the workspace's new commits
  against its enabled workflows and starts runs (matching.py);
- `workflows.run` {workspace_id, run_id}: executes a run's steps (engine.py);
- `workflows.sweep`, every 5 seconds: queues the matching of workspaces behind their log and
  the job of the oldest open runs no worker holds (those whose wake-up or hand-off was
  missed), so that nothing is lost.

A stopping worker (`JobContext.stopping`) ends these promptly: matching after the batch of
commits in hand (each commits with its cursor), a run after the step in flight (its job goes
back on the queue and the next worker continues with the step after), the clock after the
workflow or batch of waiting runs in hand (clock.py).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from relasi.db import system_connection
from relasi.jobs import JobContext, enqueue, entrypoint, periodic
from relasi.resolvers.workflows import engine, matching, slots

# as the webhooks' fan-out: a commit landing while this job finishes finds it still queued
# or running, so one more look a moment later catches it (the sweep would, within seconds)
SETTLE_SECONDS = 0.1
STALE_SECONDS = 30  # an open run untouched this long gets its job queued again (if it has none)


@entrypoint("workflows.match")
async def match(ctx: JobContext, payload: dict[str, Any]) -> None:
    workspace_id = UUID(payload["workspace_id"])
    await matching.match(ctx.db, workspace_id, stopping=ctx.stopping)
    if ctx.stopping.is_set():
        return  # what is left is the next worker's: its sweep finds the cursor behind
    await asyncio.sleep(SETTLE_SECONDS)
    await matching.match(ctx.db, workspace_id, stopping=ctx.stopping)


@entrypoint(slots.RUN_JOB)
async def run(ctx: JobContext, payload: dict[str, Any]) -> None:
    await engine.execute(
        ctx.db,
        ctx.settings,
        UUID(payload["workspace_id"]),
        UUID(payload["run_id"]),
        stopping=ctx.stopping,
    )


@periodic("workflows.sweep", every=5)
async def sweep(ctx: JobContext) -> None:
    behind = await matching.behind(ctx.db)
    async with system_connection(ctx.db) as conn:
        for workspace_id in behind:
            await enqueue(
                conn,
                "workflows.match",
                {"workspace_id": str(workspace_id)},
                dedupe_key=f"workflows.match:{workspace_id}",
            )
        # not held by a live worker; the oldest few of a workspace (as many as its slots: the
        # others' turn comes by hand-off, so a backlog is not queued only to find slots taken)
        stale = await conn.fetch(
            """SELECT workspace_id, id FROM (
                   SELECT workspace_id, id, row_number() OVER (
                              PARTITION BY workspace_id ORDER BY created_at, id) AS turn
                     FROM workflow_runs
                    WHERE status IN ('QUEUED', 'RUNNING')
                      AND created_at < now() - make_interval(secs => $1)
                      AND (lease_until IS NULL OR lease_until < now())) oldest
                WHERE turn <= $2 LIMIT 1000""",
            STALE_SECONDS,
            ctx.settings.workflow_concurrency,
        )
        for row in stale:  # the dedupe key: nothing is added while its job is queued or running
            await slots.queue_run(conn, row["workspace_id"], row["id"])
