"""A run's bookkeeping, in the step's transaction: the steps done, a step's row, the run's
end (and its entry on the record's timelines)."""

from __future__ import annotations

import json
from typing import Any

from relasi.errors import AppError, UserInputError
from relasi.resolvers.session import Session


def error_text(e: AppError) -> str:
    if isinstance(e, UserInputError) and e.errors:
        return "; ".join(
            f"{'.'.join(err.field)}: {err.message}" if err.field else err.message
            for err in e.errors
        )
    return e.message


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def done_steps(session: Session, run: Any) -> dict[str, dict[str, Any]]:
    found = await session.fetch(
        "SELECT path, output FROM workflow_run_steps"
        " WHERE workspace_id = $1 AND run_id = $2 AND status = 'SUCCEEDED'",
        run["workspace_id"],
        run["id"],
    )
    return {r["path"]: as_json(r["output"]) or {} for r in found}


async def record_step(
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


async def finish(session: Session, run: Any, status: str, error: str | None) -> None:
    """The run ends: its status, and (if it ran) an entry on its record's timelines."""
    from relasi.resolvers.workflows import summary

    await session.execute(
        """UPDATE workflow_runs SET status = $3, error = $4, finished_at = now(),
                  started_at = coalesce(started_at, now()), lease_until = NULL
            WHERE workspace_id = $1 AND id = $2""",
        run["workspace_id"],
        run["id"],
        status,
        error,
    )
    if status in ("SUCCEEDED", "FAILED"):
        await summary.record(session, run, status, error)
