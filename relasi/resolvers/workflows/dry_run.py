"""`testWorkflow(id, recordId)`: a workflow tried on a real record, writing nothing.

Triggers: for each change trigger, the record's latest change in the log that fires it (if
any is still kept); time-based triggers are the scheduler's and are not tried. Condition:
evaluated on the record as it is. Actions: every step is executed as a run would execute it -
the same resolvers, templates rendered - inside a savepoint that is then rolled back, so the
outputs are what the run would produce ("assigned Dewi") and the database is left as it was.
A webhook is not sent (its body is shown) and a wait does not pause.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

from relasi.errors import AppError, NotFound, ServiceUnavailable, Timeout
from relasi.resolvers import global_ids
from relasi.resolvers.model import entity
from relasi.resolvers.session import Session
from relasi.resolvers.workflows import definitions, engine, matching, run_state, steps
from relasi.settings import Settings

RECENT_EVENTS = 500


class _Undo(Exception):
    """Raised to roll the dry run's savepoint back, carrying what it found."""

    def __init__(self, found: list[dict[str, Any]]) -> None:
        self.found = found


async def test(session: Session, settings: Settings, pk: UUID, record_gid: str) -> dict[str, Any]:
    wf = await definitions.get(session, pk)
    if wf is None:
        raise definitions.not_found(pk)
    record_type = wf["record_type"]
    record_id = global_ids.decode(record_gid, record_type, field="input.recordId")
    exists = await session.fetchval(
        f"SELECT true FROM {entity(record_type).table} WHERE workspace_id = $1 AND id = $2",
        session.workspace_id,
        record_id,
    )
    if not exists:
        raise NotFound(f"No {record_type} with id {record_gid!r}.", field="input.recordId")
    definition = wf["definition"]
    run = {
        "id": uuid4(),
        "workflow_id": wf["id"],
        "workspace_id": session.workspace_id,
        "record_type": record_type,
        "record_id": record_id,
    }
    return {
        "triggers": await _triggers(session, wf, record_id),
        "condition_passed": await steps.passes(session, run, definition.get("condition")),
        "steps": await _steps(session, settings, run, definition["actions"]),
    }


async def _triggers(session: Session, wf: Any, record_id: UUID) -> list[dict[str, Any]]:
    definition = wf["definition"]
    events = await session.fetch(
        """SELECT c.sequence, e.seq, e.type, e.record_type, e.record_id, e.occurred_at,
                  e.changes::text AS changes
             FROM change_events e JOIN change_commits c
               ON c.workspace_id = e.workspace_id AND c.xid = e.xid AND c.sequence IS NOT NULL
            WHERE e.workspace_id = $1 AND (e.record_id = $2 OR e.record_id IN (
                  SELECT i.id FROM interactions i WHERE i.workspace_id = $1
                     AND i.contact_id = $2 ORDER BY i.occurred_at DESC LIMIT 50)
               OR (e.type LIKE 'segment.member_%' AND e.record_id IN (
                  SELECT s.segment_id FROM segment_changes s
                   WHERE s.workspace_id = $1 AND s.contact_id = $2)))
            ORDER BY c.sequence DESC, e.seq DESC LIMIT $3""",
        session.workspace_id,
        record_id,
        RECENT_EVENTS,
    )
    out = []
    for i, trigger in enumerate(definition["triggers"]):
        kind = next(iter(trigger))
        matcher = definition["matchers"][i]
        found = None
        if matcher is not None:
            by_type = matching.index([_only(wf, i)])
            found = next(
                (
                    e
                    for e in events
                    if any(r == record_id for _, _, r in matching.matches(by_type, e))
                ),
                None,
            )
        out.append(
            {
                "index": i,
                "kind": kind,
                "matched": None if matcher is None else found is not None,
                "event_type": found["type"] if found else None,
                "occurred_at": found["occurred_at"] if found else None,
            }
        )
    return out


def _only(wf: Any, index: int) -> dict[str, Any]:
    """The workflow with only trigger `index`, and no start line (older changes count)."""
    matchers = [m if i == index else None for i, m in enumerate(wf["definition"]["matchers"])]
    return {
        "id": wf["id"],
        "start_sequence": -1,
        "definition": {**wf["definition"], "matchers": matchers},
    }


async def _steps(
    session: Session, settings: Settings, run: dict[str, Any], actions: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    found: list[dict[str, Any]] = []
    try:
        async with session.savepoint():
            await engine.act_as(session, run)
            while (step := engine.next_step(actions, done)) is not None:
                path, kind, spec = step
                entry: dict[str, Any] = {"path": path, "kind": kind, "input": spec}
                found.append(entry)
                try:
                    async with session.savepoint():
                        entry["input"], output = await steps.run_step(
                            session, settings, run, step, done, dry=True
                        )
                except (Timeout, ServiceUnavailable):
                    raise
                except AppError as e:
                    entry["error"] = run_state.error_text(e)
                    break
                entry["output"] = output
                done[path] = output
            raise _Undo(found)
    except _Undo as undo:
        return _plain(undo.found)


def _plain(value: Any) -> Any:
    """JSON-ready: decimals, times and ids as text."""
    return json.loads(json.dumps(value, default=_text))


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
