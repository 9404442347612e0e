"""The engine: starting runs, and executing their steps durably, at least once.

    run_id = await engine.start_run(conn, workflow_id, "Deal", deal_id,
                                    trigger={"index": 0, "kind": "schedule"},
                                    dedupe_key="schedule:2026-12-07T08:00")
    await engine.resume_run(conn, run_id, resumed_by="TIME")

A run is one `workflows.run` job (relasi/jobs/). It takes one of its workspace's slots
(RELASI_WORKFLOW_CONCURRENCY, an advisory lock held by a connection of its own: a killed
worker frees it), then executes one step per transaction: the run row is locked, the next
step not yet done is found (`next_step`), executed through the same resolvers as the GraphQL
mutations with the workflow as the change log's actor, and its row in workflow_run_steps is
written in that same transaction. A retried or re-run job finds the step done and moves on,
so no step's writes happen twice.

- Refused input (a record gone, a value the resolver refuses): the step fails, the run stops
  (FAILED) and both say why.
- Transient errors (the database, a webhook receiver down): the step is retried after 5 s,
  doubling, up to MAX_ATTEMPTS times; then it fails like refused input.
- A step may suspend the run (`Suspend`, from a `wait` step): the run is WAITING with its
  `wake_at` and `wait`; `resume_run` marks the waiting step done and queues the run again.
  The scheduling of resumes (time, condition polling) is the time-based work's.
- Loops: a run started by a change its own workflow made (the change log's actor) is one
  deeper than the run that made it; past MAX_DEPTH it is recorded as LOOP_STOPPED, not run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.principal import Principal
from relasi.db import Database
from relasi.errors import AppError, ServiceUnavailable, Timeout, UserInputError
from relasi.jobs import RetryRequested, enqueue
from relasi.resolvers.session import UNAVAILABLE, Session
from relasi.settings import Settings

log = logging.getLogger("relasi.workflows")

MAX_DEPTH = 3
MAX_ATTEMPTS = 6  # tries of one step hit by transient errors
FIRST_RETRY = 5.0  # seconds, doubling
BUSY_RETRY = 0.2  # seconds before a run whose workspace's slots were all taken tries again
OPEN = ("QUEUED", "RUNNING")
RUN_JOB = "workflows.run"


@dataclass(frozen=True)
class Suspend:
    """What a step returns to pause the run: continue at `until` at the latest, or earlier
    once `condition` (a plain WorkflowCondition) holds. Stored as the run's `wait`."""

    until: datetime
    condition: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # shown as the step's output


class Transient(Exception):
    """A step failed for a reason that may pass (a receiver down): retried with backoff."""


async def queue_run(conn: Any, workspace_id: UUID, run_id: UUID) -> None:
    await enqueue(
        conn,
        RUN_JOB,
        {"workspace_id": str(workspace_id), "run_id": str(run_id)},
        dedupe_key=f"{RUN_JOB}:{run_id}",
    )


async def start_run(
    conn: asyncpg.Connection | Session,
    workflow_id: UUID,
    record_type: str,
    record_id: UUID,
    *,
    trigger: dict[str, Any],
    dedupe_key: str,
    depth: int = 0,
) -> UUID | None:
    """Start a run of the workflow's current version for the record, in `conn`'s transaction
    (a system connection, or one pointed at the workflow's workspace): the run is QUEUED and
    its job queued, both only if the transaction commits. Idempotent on `dedupe_key`: a second
    start with the same key does nothing and returns None, as does a workflow that is gone,
    disabled, or about another record type. Past MAX_DEPTH the run is recorded LOOP_STOPPED."""
    stopped = depth > MAX_DEPTH
    row = await conn.fetchrow(
        """INSERT INTO workflow_runs (workspace_id, workflow_id, version, record_type, record_id,
                                      trigger, dedupe_key, depth, status, error, finished_at)
           SELECT w.workspace_id, w.id, w.version, w.record_type, $3, $4::text::jsonb, $5, $6,
                  CASE WHEN $7 THEN 'LOOP_STOPPED' ELSE 'QUEUED' END,
                  CASE WHEN $7 THEN $8 END, CASE WHEN $7 THEN now() END
             FROM workflows w WHERE w.id = $1 AND w.record_type = $2 AND w.enabled
           ON CONFLICT (workspace_id, workflow_id, dedupe_key) DO NOTHING
           RETURNING workspace_id, id""",
        workflow_id,
        record_type,
        record_id,
        json.dumps(trigger, default=str),
        dedupe_key,
        depth,
        stopped,
        f"Stopped: the workflow's own changes triggered it {depth} times in a row (more than "
        f"{MAX_DEPTH}); a loop.",
    )
    if row is None:
        return None
    if not stopped:
        await queue_run(conn, row["workspace_id"], row["id"])
    return row["id"]


async def resume_run(
    conn: asyncpg.Connection | Session, run_id: UUID, *, resumed_by: str = "TIME"
) -> bool:
    """Continue a WAITING run, in `conn`'s transaction: its waiting step is done (output
    `wait.resumedBy`: TIME, CONDITION or TIMEOUT) and the run queued again. False if the run
    was not waiting (resumed already, or gone): safe to call more than once."""
    row = await conn.fetchrow(
        """UPDATE workflow_runs SET status = 'RUNNING', wake_at = NULL, wait = NULL
            WHERE id = $1 AND status = 'WAITING' RETURNING workspace_id, id""",
        run_id,
    )
    if row is None:
        return False
    await conn.execute(
        """UPDATE workflow_run_steps
              SET status = 'SUCCEEDED', finished_at = now(),
                  output = coalesce(output, '{}'::jsonb) || jsonb_build_object('wait.resumedBy', $3::text)
            WHERE workspace_id = $1 AND run_id = $2 AND status = 'WAITING'""",
        row["workspace_id"],
        row["id"],
        resumed_by,
    )
    await queue_run(conn, row["workspace_id"], row["id"])
    return True


def next_step(
    actions: list[dict[str, Any]], done: dict[str, dict[str, Any]], prefix: str = ""
) -> tuple[str, str, dict[str, Any]] | None:
    """(path, kind, spec) of the first action not done yet, following the arm each branch
    took; None when the run has nothing left to do."""
    for i, action in enumerate(actions):
        path = f"{prefix}{i}"
        kind, spec = next(iter(action.items()))
        if path not in done:
            return path, kind, spec
        if kind == "branch":
            arm = "then" if done[path].get("branch.taken") == "THEN" else "else"
            found = next_step(spec.get(arm) or [], done, f"{path}.{arm}.")
            if found is not None:
                return found
    return None


# --- executing ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _slot(db: Database, workspace_id: UUID, limit: int) -> AsyncIterator[bool]:
    """One of the workspace's `limit` run slots (True), held until the block ends, or False
    if all are taken. Session advisory locks on a connection of its own: a process that dies
    frees its slots with its connections."""
    async with db.pool.acquire() as conn:
        got = await conn.fetchval(
            """SELECT s FROM generate_series(0, $2 - 1) s
                WHERE pg_try_advisory_lock(hashtextextended('workflows.slot:' || $1, s))
                LIMIT 1""",
            str(workspace_id),
            limit,
        )
        try:
            yield got is not None
        finally:
            if got is not None:
                await conn.execute(
                    "SELECT pg_advisory_unlock(hashtextextended('workflows.slot:' || $1, $2))",
                    str(workspace_id),
                    got,
                )


async def execute(db: Database, settings: Settings, workspace_id: UUID, run_id: UUID) -> None:
    """Run the run's steps until it finishes, fails or waits (the `workflows.run` job)."""
    async with _slot(db, workspace_id, settings.workflow_concurrency) as mine:
        if not mine:  # the workspace's slots are all busy: its turn comes
            raise RetryRequested(
                timedelta(seconds=BUSY_RETRY), "the workspace's workflow slots are busy"
            )
        while await _one_step(db, settings, workspace_id, run_id):
            pass


def as_principal(workspace_id: UUID, wf: Any) -> Principal:
    """A workflow acts with its owner's scopes, as nobody in particular (no key, no member)."""
    return Principal(workspace_id=workspace_id, scopes=frozenset(wf["owner_scopes"]))


async def act_as(session: Session, run: Any) -> None:
    """Attribute the transaction's writes to the run: the change log's actor columns (0013)
    and the audit log's mutation name."""
    await session.execute(
        """SELECT set_config('relasi.audit', 'on', true),
                  set_config('relasi.mutation', 'workflow', true),
                  set_config('relasi.request_id', $1, true),
                  set_config('relasi.actor_api_key_id', '', true),
                  set_config('relasi.actor_member_id', '', true),
                  set_config('relasi.actor_workflow_id', $2, true),
                  set_config('relasi.actor_workflow_run_id', $3, true)""",
        "run_" + run["id"].hex[:16],
        str(run["workflow_id"]),
        str(run["id"]),
    )


_LOAD = """SELECT r.*, w.name AS workflow_name, w.owner_scopes, v.definition
             FROM workflow_runs r
             JOIN workflows w ON w.workspace_id = r.workspace_id AND w.id = r.workflow_id
             JOIN workflow_versions v ON v.workspace_id = r.workspace_id
              AND v.workflow_id = r.workflow_id AND v.version = r.version
            WHERE r.workspace_id = $1 AND r.id = $2 FOR UPDATE OF r"""


async def _one_step(db: Database, settings: Settings, workspace_id: UUID, run_id: UUID) -> bool:
    """Execute the run's next step in one transaction; True if there may be more."""
    from relasi.resolvers.workflows import steps

    session = Session(db, Principal(workspace_id=workspace_id))
    session.read_only = False
    failure: tuple[str, str, str] | None = None
    try:
        run = await session.fetchrow(_LOAD, workspace_id, run_id)
        if run is None or run["status"] not in OPEN:
            await session.close(commit=False)
            return False
        session.principal = as_principal(workspace_id, run)
        await act_as(session, run)
        definition = _json(run["definition"])
        if run["status"] == "QUEUED":
            if not await steps.passes(session, run, definition.get("condition")):
                await _finish(session, run, "SKIPPED", "The record did not pass the condition.")
                await session.close()
                return False
            await session.execute(
                "UPDATE workflow_runs SET status = 'RUNNING', started_at = now()"
                " WHERE workspace_id = $1 AND id = $2",
                workspace_id,
                run_id,
            )
        done = await _done(session, run)
        found = next_step(definition["actions"], done)
        if found is None:
            await _finish(session, run, "SUCCEEDED", None)
            await session.close()
            return False
        path, kind, spec = found
        started, clock = datetime.now().astimezone(), time.monotonic()
        try:
            async with session.savepoint():
                rendered, result = await steps.run_step(session, settings, run, found, done)
        except (UserInputError, AppError) as e:
            if isinstance(e, Timeout | ServiceUnavailable):
                raise
            failure = (path, kind, error_text(e))
            rendered, result = spec, None
        if failure is not None:
            await _record(
                session, run, path, len(done), kind, "FAILED", rendered, None, failure[2], started
            )
            await _finish(session, run, "FAILED", f"Step {path} ({kind}) failed: {failure[2]}")
            await session.close()
            return False
        if isinstance(result, Suspend):
            await _record(
                session,
                run,
                path,
                len(done),
                kind,
                "WAITING",
                rendered,
                result.detail,
                None,
                started,
            )
            await session.execute(
                """UPDATE workflow_runs SET status = 'WAITING', wake_at = $3, wait = $4::text::jsonb,
                          attempts = 0 WHERE workspace_id = $1 AND id = $2""",
                workspace_id,
                run_id,
                result.until,
                json.dumps(
                    {"path": path, "until": result.until.isoformat(), "condition": result.condition}
                ),
            )
            await session.close()
            return False
        await _record(
            session,
            run,
            path,
            len(done),
            kind,
            "SUCCEEDED",
            rendered,
            result,
            None,
            started,
            time.monotonic() - clock,
        )
        if run["attempts"]:
            await session.execute(
                "UPDATE workflow_runs SET attempts = 0 WHERE workspace_id = $1 AND id = $2",
                workspace_id,
                run_id,
            )
        if next_step(definition["actions"], {**done, path: result or {}}) is None:
            await _finish(session, run, "SUCCEEDED", None)  # the last step ends the run
            await session.close()
            return False
        await session.close()
        return True
    except (Transient, Timeout, ServiceUnavailable, *UNAVAILABLE) as e:
        with contextlib.suppress(Exception):
            await session.close(commit=False)
        await _transient(db, settings, workspace_id, run_id, e)
        return False
    except Exception as e:  # a bug: logged, and tried again like a transient error
        log.exception("workflow run %s: a step raised", run_id)
        with contextlib.suppress(Exception):
            await session.close(commit=False)
        await _transient(db, settings, workspace_id, run_id, e)
        return False
    except BaseException:
        with contextlib.suppress(Exception):
            await session.close(commit=False)
        raise


def error_text(e: AppError) -> str:
    if isinstance(e, UserInputError) and e.errors:
        return "; ".join(
            f"{'.'.join(err.field)}: {err.message}" if err.field else err.message
            for err in e.errors
        )
    return e.message


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _done(session: Session, run: Any) -> dict[str, dict[str, Any]]:
    found = await session.fetch(
        "SELECT path, output FROM workflow_run_steps"
        " WHERE workspace_id = $1 AND run_id = $2 AND status = 'SUCCEEDED'",
        run["workspace_id"],
        run["id"],
    )
    return {r["path"]: _json(r["output"]) or {} for r in found}


async def _record(
    session, run, path, position, kind, status, rendered, output, error, started, seconds=None
) -> None:
    await session.execute(
        """INSERT INTO workflow_run_steps (workspace_id, run_id, path, position, kind, status,
                                           input, output, error, started_at, finished_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8::text::jsonb, $9, $10::timestamptz,
                   CASE WHEN $6 = 'WAITING' THEN NULL
                        ELSE $10::timestamptz + make_interval(secs => coalesce($11, 0)) END)
           ON CONFLICT (workspace_id, run_id, path) DO UPDATE
              SET status = EXCLUDED.status, input = EXCLUDED.input, output = EXCLUDED.output,
                  error = EXCLUDED.error, started_at = EXCLUDED.started_at,
                  finished_at = EXCLUDED.finished_at""",
        run["workspace_id"],
        run["id"],
        path,
        position,
        kind,
        status,
        json.dumps(rendered, default=str),
        json.dumps(output, default=str) if output is not None else None,
        error,
        started,
        seconds,
    )


async def _finish(session: Session, run: Any, status: str, error: str | None) -> None:
    """The run ends: its status, and (if it ran) an entry on its record's timelines."""
    from relasi.resolvers.workflows import summary

    await session.execute(
        """UPDATE workflow_runs SET status = $3, error = $4, finished_at = now(),
                  started_at = coalesce(started_at, now())
            WHERE workspace_id = $1 AND id = $2""",
        run["workspace_id"],
        run["id"],
        status,
        error,
    )
    if status in ("SUCCEEDED", "FAILED"):
        await summary.record(session, run, status, error)


async def _transient(
    db: Database, settings: Settings, workspace_id: UUID, run_id: UUID, error: BaseException
) -> None:
    """Count a transient failure of the run's current step: retried later (RetryRequested),
    or, past MAX_ATTEMPTS, the run fails saying why."""
    reason = f"{type(error).__name__}: {error}"[:500]
    session = Session(db, Principal(workspace_id=workspace_id))
    session.read_only = False
    try:
        attempts = await session.fetchval(
            "UPDATE workflow_runs SET attempts = attempts + 1 WHERE workspace_id = $1 AND id = $2"
            " AND status IN ('QUEUED', 'RUNNING') RETURNING attempts",
            workspace_id,
            run_id,
        )
        if attempts is not None and attempts >= MAX_ATTEMPTS:
            run = await session.fetchrow(_LOAD, workspace_id, run_id)
            await _finish(
                session,
                run,
                "FAILED",
                f"Gave up after {attempts} tries of a step (last: {reason}).",
            )
        await session.close()
    except BaseException:
        with contextlib.suppress(Exception):
            await session.close(commit=False)
        raise
    if attempts is not None and attempts < MAX_ATTEMPTS:
        log.warning("workflow run %s: a step failed (%s); retried", run_id, reason)
        delay = FIRST_RETRY * settings.workflow_retry_scale * 2 ** (attempts - 1)
        raise RetryRequested(timedelta(seconds=delay), reason)
