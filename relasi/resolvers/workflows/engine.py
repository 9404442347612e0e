"""The engine: starting runs, and executing their steps durably, at least once.

    run_id = await engine.start_run(conn, workflow_id, "Deal", deal_id,
                                    trigger={"index": 0, "kind": "schedule"},
                                    dedupe_key="schedule:2026-12-07T08:00")
    await engine.resume_run(conn, run_id, resumed_by="TIME")

A run is one `workflows.run` job (relasi/jobs/). It takes one of its workspace's slots
(RELASI_WORKFLOW_CONCURRENCY: a lease on the run row, renewed by each transaction, so a killed
worker's slot frees itself and no connection is held between transactions); a job finding
them all taken ends, and the run waits QUEUED until a run giving its slot up queues it again
(slots.py; the sweep for any left behind). Then its steps execute in one transaction (the
run row locked), each in a savepoint, found in order (`next_step`), executed through the same
resolvers as the GraphQL mutations with the workflow as the change log's actor, its row in
workflow_run_steps written beside its writes. The run's end (or wait), its slot's release and
the hand-off commit with them. A step that leaves the database (`sendWebhook`) gets a
transaction of its own, after what came before has committed. A retried or re-run job finds
what committed done and moves on, so no step's writes happen twice.

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

import asyncio
import contextlib
import functools
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.principal import Principal
from relasi.db import Database
from relasi.errors import AppError, ServiceUnavailable, Timeout, UserInputError
from relasi.jobs import RetryRequested
from relasi.resolvers.session import UNAVAILABLE, Session
from relasi.resolvers.workflows import run_state, slots
from relasi.resolvers.workflows.slots import LEASE_SECONDS, hand_off, queue_run
from relasi.settings import Settings

log = logging.getLogger("relasi.workflows")

MAX_DEPTH = 3
MAX_ATTEMPTS = 6  # tries of one step hit by transient errors
FIRST_RETRY = 5.0  # seconds, doubling
OPEN = ("QUEUED", "RUNNING")


@dataclass(frozen=True)
class Suspend:
    """What a step returns to pause the run: continue at `until` at the latest, or earlier
    once `condition` (a plain WorkflowCondition) holds. Stored as the run's `wait`."""

    until: datetime
    condition: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # shown as the step's output


class Transient(Exception):
    """A step failed for a reason that may pass (a receiver down): retried with backoff."""


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
        """UPDATE workflow_runs r SET status = 'RUNNING', wake_at = NULL, wait = NULL
             FROM workflow_runs old
            WHERE r.id = $1 AND r.status = 'WAITING' AND old.workspace_id = r.workspace_id
              AND old.id = r.id
        RETURNING r.workspace_id, r.id, old.wait->>'path' AS path""",
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
    await queue_run(conn, row["workspace_id"], row["id"], f"after:{row['path']}")
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


async def execute(
    db: Database,
    settings: Settings,
    workspace_id: UUID,
    run_id: UUID,
    stopping: asyncio.Event | None = None,
) -> None:
    """Run the run's steps until it finishes, fails or waits (the `workflows.run` job). A run
    whose workspace's slots are all taken ends its job: a run giving its slot up queues it
    again (`hand_off`), and the sweep does for any left behind, so no job spins on a slot.
    Once `stopping` is set (its worker stops), the steps in hand commit and the run gives its
    slot up: the job goes back on the queue (RetryRequested, due now), and whoever runs it
    next continues with the step after, as after a crash but without waiting for a lease."""
    limit = settings.workflow_concurrency
    claim = await slots.claim(db, workspace_id, run_id, limit)
    if claim != "mine":
        return
    released = stopped = False
    try:
        while (more := await _steps(db, settings, workspace_id, run_id)) is True:
            if stopping is not None and stopping.is_set():
                stopped = True
                break
        released = more == "released"
    finally:
        if not released:
            await slots.release(db, workspace_id, run_id, limit)
    if stopped:
        raise RetryRequested(reason="its worker stopped between two of the run's steps")


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


async def _steps(db: Database, settings: Settings, workspace_id: UUID, run_id: UUID) -> bool | str:
    """Execute the run's next steps in one transaction, each in a savepoint with its own row,
    until the run ends or waits ("released": its slot was given up in that transaction, its
    successors' jobs queued) or a step leaves the database (a webhook: True; it runs in a
    transaction of its own, after what it may name has committed and before what follows,
    so a later step's failure never sends it twice). False: the run is not open, or a
    transient failure was counted."""
    from relasi.resolvers.workflows import steps

    session = Session(db, Principal(workspace_id=workspace_id))
    session.read_only = False
    try:
        run = await session.fetchrow(_LOAD, workspace_id, run_id)
        if run is None or run["status"] not in OPEN:
            await session.close(commit=False)
            return False
        session.principal = as_principal(workspace_id, run)
        await act_as(session, run)
        await session.execute(
            "UPDATE workflow_runs SET lease_until = now() + make_interval(secs => $3),"
            " status = 'RUNNING', started_at = coalesce(started_at, now())"
            " WHERE workspace_id = $1 AND id = $2",
            workspace_id,
            run_id,
            LEASE_SECONDS,
        )
        definition = run_state.as_json(run["definition"])
        if run["status"] == "QUEUED" and not await steps.passes(
            session, run, definition.get("condition")
        ):
            await run_state.finish(
                session, run, "SKIPPED", "The record did not pass the condition."
            )
            return await _released(session, settings, workspace_id)
        # a QUEUED run has done nothing yet (its first steps commit with its RUNNING)
        done = await run_state.done_steps(session, run) if run["status"] != "QUEUED" else {}
        attempts = run["attempts"]
        ran = 0
        while (found := next_step(definition["actions"], done)) is not None:
            path, kind, spec = found
            if kind == "sendWebhook" and ran:  # what it may name is committed before it leaves
                await session.close()
                return True
            ran += 1
            started, clock = datetime.now().astimezone(), time.monotonic()
            record = functools.partial(run_state.record_step, session, run, path, len(done), kind)
            try:
                async with session.savepoint():
                    rendered, result = await steps.run_step(session, settings, run, found, done)
            except (UserInputError, AppError) as e:
                if isinstance(e, Timeout | ServiceUnavailable):
                    raise
                error = run_state.error_text(e)
                await record("FAILED", spec, None, error, started)
                await run_state.finish(
                    session, run, "FAILED", f"Step {path} ({kind}) failed: {error}"
                )
                return await _released(session, settings, workspace_id)
            if isinstance(result, Suspend):
                await record("WAITING", rendered, result.detail, None, started)
                await session.execute(
                    """UPDATE workflow_runs SET status = 'WAITING', wake_at = $3,
                              wait = $4::text::jsonb, attempts = 0, lease_until = NULL
                        WHERE workspace_id = $1 AND id = $2""",
                    workspace_id,
                    run_id,
                    result.until,
                    json.dumps(
                        {
                            "path": path,
                            "until": result.until.isoformat(),
                            "condition": result.condition,
                        }
                    ),
                )
                return await _released(session, settings, workspace_id)
            await record("SUCCEEDED", rendered, result, None, started, time.monotonic() - clock)
            done[path] = result or {}
            if attempts:
                attempts = 0
                await session.execute(
                    "UPDATE workflow_runs SET attempts = 0 WHERE workspace_id = $1 AND id = $2",
                    workspace_id,
                    run_id,
                )
            if kind == "sendWebhook" and next_step(definition["actions"], done) is not None:
                await session.close()  # sent: never again because a later step failed
                return True
        await run_state.finish(session, run, "SUCCEEDED", None)
        return await _released(session, settings, workspace_id)
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


async def _released(session: Session, settings: Settings, workspace_id: UUID) -> str:
    """The run ended or waits (its lease cleared by run_state.finish or the wait): hand its
    slot on and commit."""
    await hand_off(session, workspace_id, settings.workflow_concurrency)
    await session.close()
    return "released"


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
            await run_state.finish(
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
