"""Cases: support tickets, with SLA due times derived from priority."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from relasi.errors import UserInputError
from relasi.resolvers import rows, timeline
from relasi.resolvers.enums import CasePriority, CaseStatus, Channel, TimelineEventKind
from relasi.resolvers.loaders import load_one
from relasi.resolvers.model import Entity, Field, Kind, Output, Relation, register, std_fields
from relasi.resolvers.session import Session
from relasi.resolvers.validation import LONG_TEXT, SUBJECT, Checker


def _seconds(end: str) -> str:
    """Whole seconds from creation to `end`, truncated like int(timedelta.total_seconds())."""
    return f"trunc(extract(epoch FROM {end} - {{t}}.created_at))::bigint"


CASE = register(
    Entity(
        name="Case",
        table="cases",
        fields=(
            *std_fields(),
            Field(
                "subject", Kind.STRING, sortable=True, sort_sql="lower({t}.subject)", nullable=False
            ),
            Field("status", Kind.ENUM, enum=CaseStatus, nullable=False),
            Field("priority", Kind.ENUM, enum=CasePriority, nullable=False),
            Field("channel", Kind.ENUM, enum=Channel),
            Field("sla_due_at", Kind.DATETIME, sortable=True, nullable=False),
            Field("first_response_at", Kind.DATETIME, sortable=True),
            Field("resolved_at", Kind.DATETIME, sortable=True),
            Field("satisfaction_score", Kind.INT, sortable=True),
            Field("contact_id", Kind.ID, target="Contact"),
            Field("account_id", Kind.ID, target="Account"),
            Field("owner_id", Kind.ID, target="Member"),
        ),
        relations=(
            Relation("contact", "Contact", "one", local="contact_id"),
            Relation("account", "Account", "one", local="account_id"),
            Relation("owner", "Member", "one", local="owner_id"),
            Relation("tasks", "Task", "many", remote="case_id"),
        ),
        search=("{t}.subject ILIKE {p}", "{t}.description ILIKE {p}"),
        outputs=(
            Output("firstResponseSeconds", sql=_seconds("{t}.first_response_at")),
            Output("resolutionSeconds", sql=_seconds("{t}.resolved_at")),
            # the resolver compares with the clock when it runs, not the transaction's start
            Output(
                "slaBreached", sql="coalesce({t}.resolved_at, clock_timestamp()) > {t}.sla_due_at"
            ),
        ),
    )
)

# Hours to the SLA due time, by priority (counted from the case's creation).
SLA_HOURS = {"URGENT": 4, "HIGH": 8, "NORMAL": 24, "LOW": 72}
OPEN_STATUSES = ("NEW", "OPEN", "PENDING")
DONE_STATUSES = ("RESOLVED", "CLOSED")


def _values(check: Checker, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "subject" in data:
        values["subject"] = check.text("subject", data["subject"], SUBJECT, required=True)
    if "description" in data:
        values["description"] = check.text("description", data["description"], LONG_TEXT)
    for name in ("status", "priority"):
        if name in data:
            if data[name] is None:
                check.error(name, f"{name} cannot be null.")
            else:
                values[name] = data[name].value
    if "channel" in data:
        values["channel"] = data["channel"].value if data["channel"] is not None else None
    if "satisfaction_score" in data:
        values["satisfaction_score"] = check.int_range(
            "satisfactionScore", data["satisfaction_score"], 1, 5
        )
    return values


async def _links(session: Session, data: dict[str, Any], values: dict[str, Any]) -> None:
    await rows.resolve_links(
        session, data, values, contact_id="Contact", account_id="Account", owner_id="Member"
    )
    if values.get("contact_id") and "account_id" not in data:
        # a contact's case is its account's case too
        contact = await load_one(session, "Contact", values["contact_id"])
        values["account_id"] = contact["account_id"]


def _lifecycle(values: dict[str, Any], current: asyncpg.Record | None, now: datetime) -> None:
    """Derive the SLA and the response/resolution times from status and priority changes."""
    created = current["created_at"] if current else now
    priority = values.get("priority") or (current["priority"] if current else "NORMAL")
    values.setdefault("priority", priority)
    if current is None or values["priority"] != current["priority"]:
        values["sla_due_at"] = created + timedelta(hours=SLA_HOURS[priority])
    status = values.get("status") or (current["status"] if current else "NEW")
    if status != "NEW" and (current is None or current["first_response_at"] is None):
        values["first_response_at"] = now
    if status in DONE_STATUSES:
        if current is None or current["resolved_at"] is None:
            values["resolved_at"] = now
    elif current is not None and current["resolved_at"] is not None:
        values["resolved_at"] = None  # reopened
    score = values.get("satisfaction_score")
    if score is not None and status not in DONE_STATUSES:
        raise UserInputError.single(
            "input.satisfactionScore", "A case can be rated once it is resolved or closed."
        )


async def create_case(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    check = Checker("input")
    values = _values(check, data)
    check.raise_if_any()
    await _links(session, data, values)
    _lifecycle(values, None, await session.fetchval("SELECT now()"))
    row = await rows.insert(session, CASE, values)
    await _record(session, row, TimelineEventKind.CASE_OPENED, None)
    return row


async def update_case(session: Session, pk: UUID, data: dict[str, Any]) -> asyncpg.Record:
    check = Checker("input")
    values = _values(check, data)
    check.raise_if_any()
    current = await load_one(session, "Case", pk)
    if current is None:
        raise rows.not_found(CASE, pk)
    await _links(session, data, values)
    _lifecycle(values, current, await session.fetchval("SELECT now()"))
    row = await rows.update(session, CASE, pk, data.get("version"), values)
    if row["status"] != current["status"]:
        await _record(session, row, TimelineEventKind.CASE_STATUS_CHANGED, current["status"])
    return row


async def _record(
    session: Session, case: asyncpg.Record, kind: TimelineEventKind, from_status: str | None
) -> None:
    """Put the case's opening or status change on its contact's and account's timelines."""
    await timeline.record(
        session,
        kind,
        occurred_at=case["updated_at"],
        contact_id=case["contact_id"],
        account_id=case["account_id"],
        case_id=case["id"],
        from_value=from_status,
        to_value=case["status"],
    )
