"""Writing tasks: create (also inside another caller's transaction, idempotently), update,
and the status moves (complete, reopen, cancel).

`create` takes `db`, anything with asyncpg's fetch methods (a request's Session, or a
connection in a transaction of system work such as a workflow step), so the GraphQL mutation
and workflows share every rule. Who acts is read from the transaction's settings
(`Session.audit_as`, or the caller's own `set_config('relasi.actor_...')`), as the change log
reads it: a task completed by a request is completed by its member or API key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from relasi.errors import ErrorCode, FieldError, UserInputError
from relasi.resolvers import global_ids, rows
from relasi.resolvers.enums import TaskPriority, TaskStatus, TimelineEventKind
from relasi.resolvers.model import camel, entity
from relasi.resolvers.session import Session
from relasi.resolvers.tasks.mapping import TASK
from relasi.resolvers.validation import LONG_TEXT, NAME, NUL, SUBJECT, Checker

Db = Session | asyncpg.Connection

# link column -> the entity its id names
LINKS = {
    "assignee_id": "Member",
    "contact_id": "Contact",
    "account_id": "Account",
    "deal_id": "Deal",
    "case_id": "Case",
}
MAX_IDEMPOTENCY_KEY = NAME


def decode_links(data: dict[str, Any]) -> dict[str, Any]:
    """A mutation's input with the links' global ids as UUIDs (an id of another type is
    NOT_FOUND at its field)."""
    return {
        key: global_ids.decode(value, LINKS[key], field=f"input.{camel(key)}")
        if key in LINKS and value is not None
        else value
        for key, value in data.items()
    }


def check_values(check: Checker, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The stored values of the fields `data` sets (Python names; links as UUIDs, enums as
    their members or names). Problems go to `check`, each at its camelCase input field."""
    values: dict[str, Any] = {}
    if creating or "title" in data:
        values["title"] = _text(check, "title", data.get("title"), SUBJECT, required=True)
    if "description" in data:
        values["description"] = _text(check, "description", data["description"], LONG_TEXT)
    if "due_at" in data:
        due = data["due_at"]
        if due is not None and not (isinstance(due, datetime) and due.tzinfo is not None):
            check.error("dueAt", "Must be a date-time with a time zone.")
        values["due_at"] = due
    if "priority" in data:
        values["priority"] = _enum(check, "priority", data["priority"], TaskPriority)
    if "status" in data:
        values["status"] = _enum(check, "status", data["status"], TaskStatus)
    for column in LINKS:
        if column in data:
            if data[column] is not None and not isinstance(data[column], UUID):
                check.error(camel(column), "Must be a record's id.")
            values[column] = data[column]
    return values


def _text(
    check: Checker, field: str, value: Any, limit: int, *, required: bool = False
) -> str | None:
    if value is not None and not isinstance(value, str):
        check.error(field, "Must be a string.")
        return None
    return check.text(field, value, limit, required=required)


def _enum(check: Checker, field: str, value: Any, enum: type) -> str | None:
    if value is None:
        check.error(field, f"{field} cannot be null.")
        return None
    name = value.value if isinstance(value, enum) else value
    if name not in {m.value for m in enum}:
        check.error(field, f"Expected one of {', '.join(m.value for m in enum)}.")
        return None
    return name


async def check_links(db: Db, workspace_id: UUID, values: dict[str, Any], prefix: str) -> None:
    """Every linked id must name a live record of its type in the workspace (an assignee: a
    member not removed); NOT_FOUND at each field that names none. One statement."""
    given = [(c, v) for c, v in values.items() if c in LINKS and v is not None]
    if not given:
        return
    tests = []
    for i, (column, _) in enumerate(given, start=2):
        ent = entity(LINKS[column])
        live = "x.status <> 'REMOVED'" if column == "assignee_id" else ent.live("x")
        tests.append(
            f"EXISTS (SELECT 1 FROM {ent.table} x WHERE x.workspace_id = $1"
            f" AND x.id = ${i} AND {live})"
        )
    found = await db.fetchrow(
        f"SELECT {', '.join(tests)}", workspace_id, *(value for _, value in given)
    )
    errors = [
        FieldError(
            [*prefix.split("."), camel(column)] if prefix else [camel(column)],
            f"No {LINKS[column]} with this id"
            + (" (or the member was removed)." if column == "assignee_id" else "."),
            ErrorCode.NOT_FOUND,
        )
        for (column, _), ok in zip(given, found, strict=True)
        if not ok
    ]
    if errors:
        raise UserInputError(errors)


async def create(
    db: Db,
    workspace_id: UUID,
    fields: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    prefix: str = "input",
) -> asyncpg.Record:
    """Create an OPEN task in the caller's transaction and put it on the timelines it is
    linked to; the task's row.

    `fields` (Python names): `title` (required), `description`, `due_at` (an aware
    datetime), `priority` (TaskPriority or its name; default NORMAL), and the links
    `assignee_id`, `contact_id`, `account_id`, `deal_id`, `case_id` (UUIDs). Refused input
    raises UserInputError (paths under `prefix`; before any statement for bad values) and an
    unknown link NOT_FOUND. With `idempotency_key`, a second call with the same key in the
    workspace creates nothing and returns the first task (as it is now, deleted or not).
    """
    check = Checker(*([prefix] if prefix else []))
    values = check_values(check, fields, creating=True)
    values.pop("status", None)  # a task begins OPEN
    if idempotency_key is not None:
        if not isinstance(idempotency_key, str) or not idempotency_key:
            check.error("idempotencyKey", "Must be a non-empty string.")
        elif len(idempotency_key) > MAX_IDEMPOTENCY_KEY or NUL in idempotency_key:
            check.error("idempotencyKey", f"At most {MAX_IDEMPOTENCY_KEY} characters, no NUL.")
    check.raise_if_any()
    await check_links(db, workspace_id, values, prefix)
    values["idempotency_key"] = idempotency_key
    cols = list(values)
    placeholders = ", ".join(f"${i}" for i in range(2, len(cols) + 2))
    row = await db.fetchrow(
        f"INSERT INTO tasks (workspace_id, {', '.join(cols)}) VALUES ($1, {placeholders})"
        " ON CONFLICT (workspace_id, idempotency_key) DO NOTHING RETURNING *",
        workspace_id,
        *values.values(),
    )
    if row is None:  # the key was used: that task
        return await db.fetchrow(
            "SELECT * FROM tasks WHERE workspace_id = $1 AND idempotency_key = $2",
            workspace_id,
            idempotency_key,
        )
    await _on_timelines(db, row, TimelineEventKind.TASK_CREATED)
    return row


# A task's event goes on the timelines of what it is linked to: its contact's (or its case's
# contact's) and the account it belongs to; linked to a deal and no contact, on the deal's
# contacts' (through deal_id, as deal events are). Subscribers of timelineEventAdded hear of it.
_TIMELINE = """
WITH added AS (
    INSERT INTO timeline_events (workspace_id, kind, occurred_at, contact_id, account_id,
                                 deal_id, case_id, task_id, body, actor_api_key_id,
                                 actor_member_id)
    SELECT t.workspace_id, $3, clock_timestamp(), coalesce(t.contact_id, cs.contact_id),
           coalesce(t.account_id, c.account_id, cs.account_id, d.account_id),
           t.deal_id, t.case_id, t.id, t.title, relasi_actor('actor_api_key_id'),
           relasi_actor('actor_member_id')
      FROM tasks t
      LEFT JOIN contacts c ON c.workspace_id = t.workspace_id AND c.id = t.contact_id
      LEFT JOIN deals d ON d.workspace_id = t.workspace_id AND d.id = t.deal_id
      LEFT JOIN cases cs ON cs.workspace_id = t.workspace_id AND cs.id = t.case_id
     WHERE t.workspace_id = $1 AND t.id = $2
       AND num_nonnulls(t.contact_id, t.account_id, t.deal_id, t.case_id) > 0
    RETURNING workspace_id, id)
SELECT count(*) FROM added"""


async def _on_timelines(db: Db, task: asyncpg.Record, kind: TimelineEventKind) -> None:
    if task["contact_id"] or task["account_id"] or task["deal_id"] or task["case_id"]:
        await db.execute(_TIMELINE, task["workspace_id"], task["id"], kind.value)


async def update(session: Session, pk: UUID, data: dict[str, Any]) -> asyncpg.Record:
    """`updateTask`: the fields given; a status move completes, reopens or cancels it."""
    check = Checker("input")
    values = check_values(check, decode_links(data), creating=False)
    check.raise_if_any()
    await check_links(session, session.workspace_id, values, "input")
    return await _write(session, pk, data.get("version"), values)


async def set_status(
    session: Session, pk: UUID, status: TaskStatus, version: int | None
) -> asyncpg.Record:
    """`completeTask` / `reopenTask` / `cancelTask`: a task already in `status` is left as it
    is (a retried request changes nothing), unless `version` says it changed since."""
    current = await _locked(session, pk)
    if current["status"] == status.value and version in (None, current["version"]):
        return current
    return await _write(session, pk, version, {"status": status.value}, current)


async def _locked(session: Session, pk: UUID) -> asyncpg.Record:
    """The live task, locked until the transaction ends: two requests completing it at once
    complete it once (the second sees it DONE)."""
    current = await session.fetchrow(
        "SELECT * FROM tasks WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
        session.workspace_id,
        pk,
    )
    if current is None:
        raise rows.not_found(TASK, pk)
    return current


async def _write(
    session: Session,
    pk: UUID,
    version: int | None,
    values: dict[str, Any],
    current: asyncpg.Record | None = None,
) -> asyncpg.Record:
    status = values.get("status")
    if status is not None:
        current = current or await _locked(session, pk)
        if status == current["status"]:
            del values["status"]
        elif status == TaskStatus.DONE.value:
            values["completed_at"] = await session.fetchval("SELECT now()")
            values["completed_by_api_key_id"] = session.principal.api_key_id
            values["completed_by_member_id"] = session.principal.member_id
        elif current["status"] == TaskStatus.DONE.value:  # reopened or cancelled
            values.update(completed_at=None, completed_by_api_key_id=None)
            values["completed_by_member_id"] = None
    row = await rows.update(session, TASK, pk, version, values)
    if values.get("status") == TaskStatus.DONE.value:
        await _on_timelines(session, row, TimelineEventKind.TASK_COMPLETED)
    return row
