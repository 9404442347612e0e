"""A finished run on the timelines of the record it acted on: "Workflow 'Escalate urgent
cases' assigned Dewi, created task 'Call the customer'", in the run's last transaction."""

from __future__ import annotations

from typing import Any

from relasi.resolvers import timeline
from relasi.resolvers.enums import TimelineEventKind
from relasi.resolvers.session import Session

MAX_SUMMARY = 1_000

_PHRASES = {
    "updateRecord": lambda out, spec: "updated " + ", ".join(spec.get("fields") or {}),
    "assignOwner": lambda out, spec: f"assigned {out.get('owner.name')}",
    "createTask": lambda out, spec: f"created task '{out.get('task.title')}'",
    "createCase": lambda out, spec: f"opened case '{out.get('case.subject')}'",
    "addNote": lambda out, spec: "added a note",
    "addToSegment": lambda out, spec: "added it to a segment",
    "removeFromSegment": lambda out, spec: "removed it from a segment",
    "moveDealStage": lambda out, spec: f"moved it to {out.get('stage.name')}",
    "sendWebhook": lambda out, spec: "sent a webhook",
    "wait": lambda out, spec: "waited",
}
# the timelines a record's events go on: its own column, and where its contact / account are
_OWN = {"Contact": "contact_id", "Account": "account_id", "Deal": "deal_id", "Case": "case_id"}


async def record(session: Session, run: Any, status: str, error: str | None) -> None:
    """Put the finished run on its record's timelines (SUCCEEDED, or FAILED with the cause)."""
    steps = await session.fetch(
        "SELECT kind, input, output FROM workflow_run_steps"
        " WHERE workspace_id = $1 AND run_id = $2 AND status = 'SUCCEEDED' ORDER BY position",
        run["workspace_id"],
        run["id"],
    )
    done = [
        _PHRASES[s["kind"]](s["output"] or {}, s["input"] or {})
        for s in steps
        if s["kind"] in _PHRASES
    ]
    text = f"Workflow '{run['workflow_name']}' " + (", ".join(done) or "did nothing")
    if status == "FAILED":
        text += f"; then failed: {error}"
    record_type = run["record_type"]
    row = await session.fetchrow(
        f"SELECT * FROM {_table(record_type)} WHERE workspace_id = $1 AND id = $2",
        run["workspace_id"],
        run["record_id"],
    )
    if row is None:
        return
    links: dict[str, Any] = {}
    for column in ("contact_id", "account_id", "deal_id", "case_id"):
        if row.get(column) is not None:
            links[column] = row[column]
    if record_type in _OWN:
        links[_OWN[record_type]] = run["record_id"]
    if not {"contact_id", "account_id"} & set(links):
        return  # on no timeline (a task linked to nothing)
    await timeline.record(
        session,
        TimelineEventKind.WORKFLOW_RUN,
        body=text[:MAX_SUMMARY],
        from_value=run["workflow_name"],
        to_value=status,
        **links,
    )


def _table(record_type: str) -> str:
    from relasi.resolvers.model import entity

    return entity(record_type).table
