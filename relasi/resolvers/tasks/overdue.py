"""`task.overdue`: periodic background work (relasi/jobs/) that raises the event in the change
log once per task and due time, when an OPEN task's due time has passed.

`task_overdue` keeps, per task, the due time the event was raised for (dbschema/0012): a task
whose due time is moved and then passes again raises it again; reopening a task that was
already overdue for its current due time does not. A tick takes one transaction per
workspace (change-log commits are numbered per workspace, dbschema/0008), marks and logs in
one statement, and locks the tasks it raises for, so a task completed at that moment is either
raised before the completion commits or not at all. Raised as system work: no actor.
"""

from __future__ import annotations

import logging

from relasi.db import Database, system_connection, use_system
from relasi.jobs import JobContext, periodic

log = logging.getLogger("relasi.tasks")

TICK_SECONDS = 5
BATCH = 1_000  # tasks raised per workspace and transaction

_DUE = """
    FROM tasks t
   WHERE t.status = 'OPEN' AND t.deleted_at IS NULL AND t.due_at IS NOT NULL
     AND t.due_at <= now()
     AND NOT EXISTS (SELECT 1 FROM task_overdue o WHERE o.workspace_id = t.workspace_id
                        AND o.task_id = t.id AND o.due_at = t.due_at)"""

_WORKSPACES = f"SELECT DISTINCT t.workspace_id {_DUE}"

_RAISE = f"""
WITH due AS (
    SELECT t.workspace_id, t.id, t.due_at {_DUE} AND t.workspace_id = $1
     ORDER BY t.due_at, t.id LIMIT $2
       FOR SHARE OF t SKIP LOCKED),
raised AS (
    INSERT INTO task_overdue AS o (workspace_id, task_id, due_at)
    SELECT workspace_id, id, due_at FROM due
    ON CONFLICT (workspace_id, task_id) DO UPDATE SET due_at = EXCLUDED.due_at, raised_at = now()
     WHERE o.due_at IS DISTINCT FROM EXCLUDED.due_at
    RETURNING workspace_id, task_id, due_at)
INSERT INTO change_events (workspace_id, type, record_type, record_id, changes)
SELECT workspace_id, 'task.overdue', 'Task', task_id,
       jsonb_build_object('due_at', jsonb_build_object('before', NULL, 'after', due_at))
  FROM raised ORDER BY due_at, task_id"""


async def raise_overdue(db: Database, batch: int = BATCH) -> int:
    """Raise `task.overdue` for every task due and not done that has not had it for its
    current due time; how many were raised."""
    async with system_connection(db) as conn:
        workspaces = [r["workspace_id"] for r in await conn.fetch(_WORKSPACES)]
    raised = 0
    for workspace_id in workspaces:
        while True:
            async with db.pool.acquire() as conn, conn.transaction():
                await use_system(conn, local=True)
                count = int((await conn.execute(_RAISE, workspace_id, batch)).split()[-1])
            raised += count
            if count < batch:
                break
    return raised


@periodic("tasks.overdue", every=TICK_SECONDS)
async def tick(ctx: JobContext) -> None:
    raised = await raise_overdue(ctx.db)
    if raised:
        log.info("raised task.overdue for %d tasks", raised)
