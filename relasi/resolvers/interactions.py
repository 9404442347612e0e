"""Interactions: touchpoints on every channel, append-only, idempotent by (source, externalId)."""

from __future__ import annotations

from typing import Any

import asyncpg

from relasi.errors import UserInputError
from relasi.resolvers import rows
from relasi.resolvers.enums import Channel, InteractionKind, JourneyStage
from relasi.resolvers.model import Entity, Field, Kind, Relation, register
from relasi.resolvers.session import Session
from relasi.resolvers.validation import NAME, SHORT_TEXT, Checker

INTERACTION = register(
    Entity(
        name="Interaction",
        table="interactions",
        fields=(
            Field("id", Kind.ID, nullable=False),
            Field("occurred_at", Kind.DATETIME, sortable=True, nullable=False),
            Field("created_at", Kind.DATETIME, sortable=True, nullable=False),
            Field("channel", Kind.ENUM, enum=Channel, nullable=False),
            Field("kind", Kind.ENUM, enum=InteractionKind, nullable=False),
            Field("journey_stage", Kind.ENUM, enum=JourneyStage),
            Field("sentiment", Kind.DECIMAL, sortable=True),
            Field("source", Kind.STRING),
            Field("external_id", Kind.STRING),
            Field("utm_source", Kind.STRING),
            Field("utm_medium", Kind.STRING),
            Field("utm_campaign", Kind.STRING),
            Field("contact_id", Kind.ID, target="Contact"),
            Field("account_id", Kind.ID, target="Account"),
        ),
        relations=(
            Relation("contact", "Contact", "one", local="contact_id"),
            Relation("account", "Account", "one", local="account_id"),
        ),
        soft_delete=False,
        default_order=(("occurred_at", True),),
        search=("{t}.summary ILIKE {p}",),
    )
)

UTM_FIELDS = ("source", "medium", "campaign", "term", "content")


def _values(check: Checker, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "channel": data["channel"].value,
        "kind": data["kind"].value,
        "summary": check.text("summary", data.get("summary"), 1_000),
        "source": check.text("source", data.get("source"), SHORT_TEXT) or "",
        "external_id": check.text("externalId", data.get("external_id"), NAME),
        "properties": check.json_object("properties", data.get("properties")) or {},
    }
    if data.get("occurred_at") is not None:
        occurred = data["occurred_at"]
        if occurred.tzinfo is None:
            check.error("occurredAt", "Give a time zone (e.g. 2026-03-01T09:30:00Z).")
        values["occurred_at"] = occurred
    stage = data.get("journey_stage")
    values["journey_stage"] = stage.value if stage is not None else None
    sentiment = data.get("sentiment")
    if sentiment is not None and not (-1 <= sentiment <= 1):
        check.error("sentiment", "Must be between -1 and 1.")
    values["sentiment"] = sentiment
    utm = data.get("utm") or {}
    for key in UTM_FIELDS:
        values[f"utm_{key}"] = check.text(f"utm.{key}", utm.get(key), NAME)
    return values


async def track_interaction(session: Session, data: dict[str, Any]) -> tuple[asyncpg.Record, bool]:
    """Record a touchpoint; returns (row, created). A repeated (source, externalId) returns the
    interaction already recorded instead of a duplicate, also under concurrent calls."""
    check = Checker("input")
    values = _values(check, data)
    check.raise_if_any()
    contact = await rows.require(session, "Contact", data.get("contact_id"), "input.contactId")
    account = await rows.require(session, "Account", data.get("account_id"), "input.accountId")
    if contact is None and account is None:
        raise UserInputError.single("input.contactId", "Give the contact (or account) it concerns.")
    values["contact_id"] = contact["id"] if contact else None
    values["account_id"] = (
        account["id"] if account else (contact["account_id"] if contact else None)
    )
    cols = list(values)
    row = await session.fetchrow(
        f"INSERT INTO interactions (workspace_id, {', '.join(cols)})"
        f" VALUES ($1, {', '.join(f'${i}' for i in range(2, len(cols) + 2))})"
        " ON CONFLICT (workspace_id, source, external_id) WHERE external_id IS NOT NULL"
        " DO NOTHING RETURNING *",
        session.workspace_id,
        *values.values(),
    )
    if row is not None:
        return row, True
    existing = await session.fetchrow(
        "SELECT * FROM interactions WHERE workspace_id = $1 AND source = $2 AND external_id = $3",
        session.workspace_id,
        values["source"],
        values["external_id"],
    )
    return existing, False
