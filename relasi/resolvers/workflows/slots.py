"""A workspace's run slots: at most RELASI_WORKFLOW_CONCURRENCY of its runs execute at once,
across all processes. A run holds one as a lease on its row (LEASE_SECONDS, renewed by each of
its transactions, so a killed worker's slot frees itself); a run whose job finds them all
taken waits QUEUED until a run giving its slot up queues it again (`hand_off`). Each run is
one `workflows.run` job (`queue_run`), queued once while one is queued or running.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from relasi.db import Database, system_connection
from relasi.jobs import enqueue
from relasi.jobs.queue import enqueue_many

LEASE_SECONDS = 120  # a run's slot, renewed by each step; a dead worker's runs out
RUN_JOB = "workflows.run"


async def queue_run(conn: Any, workspace_id: UUID, run_id: UUID, leg: str = "") -> None:
    """Queue the run's job (once while one is queued or running). `leg` names what a resumed
    run continues after: the job that ran up to its wait may not be marked finished yet by the
    queue, and the new one must not be taken for it. Two jobs of one run are harmless: its
    steps take turns on the run row and skip what is done."""
    await enqueue(
        conn,
        RUN_JOB,
        {"workspace_id": str(workspace_id), "run_id": str(run_id)},
        dedupe_key=_run_key(run_id, leg),
    )


def _run_key(run_id: UUID, leg: str = "") -> str:
    return f"{RUN_JOB}:{run_id}{':' + leg if leg else ''}"


async def claim(db: Database, workspace_id: UUID, run_id: UUID, limit: int) -> str:
    """Take one of the workspace's `limit` run slots for the run: a lease on the run row
    (LEASE_SECONDS, renewed by each step), counted under the workspace's lock so two claims
    cannot both take the last one. 'mine' (taken, or still held: a run whose worker died
    goes on), 'busy', or 'done' (nothing left to run). No connection is held meanwhile."""
    async with system_connection(db) as conn, conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('workflows.slots:' || $1, 0))",
            str(workspace_id),
        )
        status = await conn.fetchval(
            """UPDATE workflow_runs r SET lease_until = now() + make_interval(secs => $4)
                WHERE r.workspace_id = $1 AND r.id = $2 AND r.status IN ('QUEUED', 'RUNNING')
                  AND (r.lease_until > now() OR (
                       SELECT count(*) FROM workflow_runs o
                        WHERE o.workspace_id = $1 AND o.lease_until > now()) < $3)
            RETURNING 'mine'""",
            workspace_id,
            run_id,
            limit,
            LEASE_SECONDS,
        )
        if status is None:
            still = await conn.fetchval(
                "SELECT true FROM workflow_runs WHERE workspace_id = $1 AND id = $2"
                " AND status IN ('QUEUED', 'RUNNING')",
                workspace_id,
                run_id,
            )
            status = "busy" if still else "done"
    return status


async def release(db: Database, workspace_id: UUID, run_id: UUID, limit: int) -> None:
    """Give the run's slot up when its steps could not (a transient failure, a crash)."""
    async with system_connection(db) as conn, conn.transaction():
        await conn.execute(
            "UPDATE workflow_runs SET lease_until = NULL WHERE workspace_id = $1 AND id = $2",
            workspace_id,
            run_id,
        )
        await hand_off(conn, workspace_id, limit)


async def hand_off(conn: Any, workspace_id: UUID, limit: int) -> None:
    """A slot is free: queue the jobs of the workspace's oldest `limit` runs waiting for one
    (their jobs found the slots all taken and ended; queued again only if they have none)."""
    waiting = await conn.fetch(
        """SELECT id FROM workflow_runs
            WHERE workspace_id = $1 AND status = 'QUEUED'
              AND (lease_until IS NULL OR lease_until < now())
            ORDER BY created_at, id LIMIT $2""",
        workspace_id,
        limit,
    )
    await enqueue_many(
        conn,
        RUN_JOB,
        [
            ({"workspace_id": str(workspace_id), "run_id": str(r["id"])}, _run_key(r["id"]))
            for r in waiting
        ],
    )
