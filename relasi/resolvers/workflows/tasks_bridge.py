"""The `createTask` action on the tasks domain's `tasks.create`: a task linked to the run's
record (and the records it belongs to), for the given assignee or the record's owner, created
at most once per run and step (the idempotency key), so a retried step finds its task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from relasi.resolvers import global_ids, tasks
from relasi.resolvers.enums import TaskPriority
from relasi.resolvers.session import Session

_LINKS = ("contact_id", "account_id", "deal_id", "case_id")


def priority_problem(value: Any) -> str | None:
    if value is None or value in TaskPriority.__members__:
        return None
    return f"One of {', '.join(TaskPriority.__members__)}."


async def create(
    session: Session, run: Any, path: str, spec: dict[str, Any], record: Any
) -> dict[str, Any]:
    fields: dict[str, Any] = {"title": spec["title"], "description": spec.get("description")}
    if spec.get("priority"):
        fields["priority"] = spec["priority"]
    if spec.get("dueInMinutes") is not None:
        fields["due_at"] = datetime.now(UTC) + timedelta(minutes=spec["dueInMinutes"])
    if spec.get("assigneeId"):
        fields["assignee_id"] = global_ids.decode(spec["assigneeId"], "Member")
    else:  # the record's owner (a task's: its assignee)
        fields["assignee_id"] = record.get("owner_id", record.get("assignee_id"))
    own = f"{run['record_type'].lower()}_id"
    if own in _LINKS:
        fields[own] = run["record_id"]
    for column in _LINKS:  # the records the record belongs to (a deal's account, ...)
        if column != own and record.get(column) is not None:
            fields[column] = record[column]
    task = await tasks.create(
        session, session.workspace_id, fields, idempotency_key=f"workflow:{run['id']}:{path}"
    )
    return {"task.id": global_ids.encode("Task", task["id"]), "task.title": task["title"]}
