"""Interactions: touchpoints on every channel, append-only, idempotent by (source, externalId)."""

from __future__ import annotations

from typing import Any

import asyncpg

from relasi.errors import (
    AppError,
    FieldError,
    Forbidden,
    Unauthenticated,
    UserInputError,
)
from relasi.resolvers import interaction_batches, rows
from relasi.resolvers.enums import Channel, InteractionKind, JourneyStage
from relasi.resolvers.identities import resolve_contact
from relasi.resolvers.journey import apply_touch
from relasi.resolvers.model import Entity, Field, Kind, Output, Relation, register
from relasi.resolvers.session import Session
from relasi.resolvers.validation import MEDIUM_TEXT, NAME, SHORT_TEXT, Checker

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
        outputs=(
            Output(
                "utm",
                fields=tuple(
                    (part, f"{{t}}.utm_{part}")
                    for part in ("source", "medium", "campaign", "term", "content")
                ),
            ),
        ),
    )
)

UTM_FIELDS = ("source", "medium", "campaign", "term", "content")


MAX_BATCH = 1_000
Result = tuple[asyncpg.Record | None, bool, list[FieldError]]


def _values(check: Checker, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "channel": data["channel"].value,
        "kind": data["kind"].value,
        "summary": check.text("summary", data.get("summary"), MEDIUM_TEXT),
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
    if data.get("regression") and stage is None:
        check.error("regression", "A regression needs the journeyStage the contact falls back to.")
    sentiment = data.get("sentiment")
    if sentiment is not None and not (-1 <= sentiment <= 1):
        check.error("sentiment", "Must be between -1 and 1.")
    values["sentiment"] = sentiment
    utm = data.get("utm") or {}
    for key in UTM_FIELDS:
        values[f"utm_{key}"] = check.text(f"utm.{key}", utm.get(key), NAME)
    if data.get("contact_id") is not None and data.get("contact") is not None:
        check.error("contact", "Give contactId or contact, not both.")
    return values


async def _existing(
    session: Session, source: str, external_id: str | None
) -> asyncpg.Record | None:
    if external_id is None:
        return None
    return await session.fetchrow(
        "SELECT * FROM interactions WHERE workspace_id = $1 AND source = $2 AND external_id = $3",
        session.workspace_id,
        source,
        external_id,
    )


async def track_interaction(
    session: Session, data: dict[str, Any], path: str = "input"
) -> tuple[asyncpg.Record, bool]:
    """Record a touchpoint; returns (row, created).

    Idempotent: a repeated (source, externalId) returns the interaction already recorded,
    before anything else happens (no contact is created, no stage moves), also under
    concurrent calls. The contact is given by id or by identity (see `identities`), and a
    touch carrying a later journey stage moves the contact along its journey.
    """
    check = Checker(*path.split("."))
    values = _values(check, data)
    check.raise_if_any()
    existing = await _existing(session, values["source"], values["external_id"])
    if existing is not None:
        return existing, False
    if data.get("contact") is not None:
        contact, _ = await resolve_contact(session, data["contact"], f"{path}.contact")
    else:
        contact = await rows.require(
            session, "Contact", data.get("contact_id"), f"{path}.contactId"
        )
    account = await rows.require(session, "Account", data.get("account_id"), f"{path}.accountId")
    if contact is None and account is None:
        raise UserInputError.single(
            f"{path}.contactId", "Give the contact (or account) it concerns."
        )
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
    if row is None:  # a concurrent call recorded it first
        return await _existing(session, values["source"], values["external_id"]), False
    if contact is not None:
        await apply_touch(session, contact, row, bool(data.get("regression")))
    return row, True


async def track_interactions(session: Session, items: list[dict[str, Any]]) -> list[Result]:
    """Record up to MAX_BATCH touchpoints in one transaction (see `interaction_batches`): a
    refused item reports its userErrors (paths start with inputs.<index>) and the good items
    are recorded all the same."""
    if len(items) > MAX_BATCH:
        raise UserInputError.single("inputs", f"At most {MAX_BATCH} interactions per call.")
    return await interaction_batches.track_interactions(session, items, _values, _one_by_one)


async def _one_by_one(session: Session, items: list[dict[str, Any]]) -> list[Result]:
    """The batch as single touches, each in its own savepoint."""
    results: list[Result] = []
    for i, data in enumerate(items):
        try:
            async with session.savepoint():
                row, created = await track_interaction(session, data, path=f"inputs.{i}")
        except UserInputError as e:
            results.append((None, False, e.errors))
        except (Unauthenticated, Forbidden):
            raise
        except AppError as e:  # e.g. NOT_FOUND for an unknown contactId
            field = (e.field or f"inputs.{i}").split(".")
            results.append((None, False, [FieldError(field, e.message, e.code)]))
        else:
            results.append((row, created, []))
    return results
