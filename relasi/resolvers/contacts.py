"""Contacts: the people in the graph, with their emails and phones (contact identities)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from relasi.errors import ErrorCode, UserInputError
from relasi.resolvers import global_ids, journey, rows, timeline
from relasi.resolvers.enums import JourneyStage, LeadRating, LifecycleStage
from relasi.resolvers.identities import taken_message
from relasi.resolvers.loaders import children
from relasi.resolvers.model import (
    Entity,
    Field,
    Kind,
    Link,
    Output,
    Relation,
    camel,
    register,
    std_fields,
)
from relasi.resolvers.session import Session
from relasi.resolvers.validation import SHORT_TEXT, Checker

# a contact's emails or phones, as rows {i} (for the query compiler's outputs)
_IDENTITY_ROWS = (
    "FROM contact_identities {i} WHERE {i}.workspace_id = {t}.workspace_id"
    " AND {i}.contact_id = {t}.id AND {i}.kind = "
)
_PRIMARY = (
    "(SELECT i.value FROM contact_identities i WHERE i.workspace_id = {t}.workspace_id"
    " AND i.contact_id = {t}.id AND i.is_primary AND i.kind = "
)

_IDENTITY = (
    "FROM contact_identities i WHERE i.workspace_id = {t}.workspace_id"
    " AND i.contact_id = {t}.id AND i.kind = "
)

CONTACT = register(
    Entity(
        name="Contact",
        table="contacts",
        fields=(
            *std_fields(),
            Field("first_name", Kind.STRING, sortable=True, sort_sql="lower({t}.first_name)"),
            Field("last_name", Kind.STRING, sortable=True, sort_sql="lower({t}.last_name)"),
            Field(
                "email",
                Kind.STRING,
                lowercase=True,
                pii=True,
                exists=_IDENTITY + "'EMAIL'",
                description="Conditions on any of the contact's email addresses.",
            ),
            Field(
                "phone",
                Kind.STRING,
                pii=True,
                exists=_IDENTITY + "'PHONE'",
                description="Conditions on any of the contact's phones (E.164, e.g. +6281234567890).",
            ),
            Field("title", Kind.STRING),
            Field("country", Kind.STRING, sortable=True),
            Field("city", Kind.STRING, sortable=True),
            Field("lifecycle_stage", Kind.ENUM, enum=LifecycleStage, nullable=False),
            Field("lead_rating", Kind.ENUM, enum=LeadRating),
            Field("journey_stage", Kind.ENUM, enum=JourneyStage, nullable=False),
            Field("account_id", Kind.ID, target="Account"),
            Field("owner_id", Kind.ID, target="Member"),
        ),
        relations=(
            Relation("account", "Account", "one", local="account_id"),
            Relation("owner", "Member", "one", local="owner_id"),
            Relation(
                "deals",
                "Deal",
                "many",
                through=Link("deal_contacts", near="contact_id", far="deal_id", columns=("role",)),
            ),
            Relation("cases", "Case", "many", remote="contact_id"),
            Relation("interactions", "Interaction", "many", remote="contact_id"),
            Relation("tasks", "Task", "many", remote="contact_id"),
        ),
        search=(
            "{t}.first_name ILIKE {p}",
            "{t}.last_name ILIKE {p}",
            "concat_ws(' ', {t}.first_name, {t}.last_name) ILIKE {p}",
        ),
        pii_search=("EXISTS (SELECT 1 " + _IDENTITY + "'EMAIL' AND i.value ILIKE {p})",),
        custom_attributes=True,
        outputs=(
            # " ".join of the non-empty name parts
            Output(
                "fullName",
                sql="concat_ws(' ', nullif({t}.first_name, ''), nullif({t}.last_name, ''))",
            ),
            Output(
                "emails",
                rows=_IDENTITY_ROWS + "'EMAIL'",
                order="{i}.position",
                fields=(("address", "{i}.value"), ("primary", "{i}.is_primary")),
                mask="email",
                mask_field="address",
            ),
            Output("email", sql=_PRIMARY + "'EMAIL' ORDER BY i.position LIMIT 1)", mask="email"),
            Output(
                "phones",
                rows=_IDENTITY_ROWS + "'PHONE'",
                order="{i}.position",
                fields=(("number", "{i}.value"), ("primary", "{i}.is_primary")),
                mask="phone",
                mask_field="number",
            ),
            Output("phone", sql=_PRIMARY + "'PHONE' ORDER BY i.position LIMIT 1)", mask="phone"),
        ),
    )
)

MAX_EMAILS = 10
MAX_PHONES = 10


async def identities(session: Session, contact_pk: UUID) -> list[asyncpg.Record]:
    """Emails, phones and external identities of a contact, primary first."""
    return await children(
        session, "contact_identities", "contact_id", contact_pk, "t.kind, t.position"
    )


def _values(check: Checker, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ("first_name", "last_name", "title"):
        if name in data:
            values[name] = check.text(camel(name), data[name])
    if "city" in data:
        values["city"] = check.text("city", data["city"], SHORT_TEXT)
    if "country" in data:
        values["country"] = check.country("country", data["country"])
    for name in ("lifecycle_stage", "lead_rating", "journey_stage"):
        if name in data:
            enum = data[name]
            if enum is None and name != "lead_rating":
                check.error(camel(name), f"{camel(name)} cannot be null.")
            values[name] = enum.value if enum is not None else None
    if "custom_attributes" in data:
        values["custom_attributes"] = (
            check.json_object("customAttributes", data["custom_attributes"]) or {}
        )
    return values


def _identity_list(
    check: Checker, data: dict[str, Any], kind: str, region: str | None
) -> list[str] | None:
    """Normalised values, primary first; None when the input does not set this list."""
    key, value_key, limit = (
        ("emails", "address", MAX_EMAILS) if kind == "EMAIL" else ("phones", "number", MAX_PHONES)
    )
    if key not in data:
        return None
    items = data[key] or []
    if len(items) > limit:
        check.error(key, f"At most {limit} {key} per contact.")
        return []
    values: list[str] = []
    primary: list[int] = []
    for i, item in enumerate(items):
        field = f"{key}.{i}.{value_key}"
        raw = item[value_key]
        value = check.email(field, raw) if kind == "EMAIL" else check.phone(field, raw, region)
        if value is None:
            continue
        if value in values:
            check.error(field, f"{raw!r} is listed twice.")
            continue
        if item.get("primary"):
            primary.append(len(values))
        values.append(value)
    if len(primary) > 1:
        check.error(key, f"Only one of the {key} can be primary.")
    elif primary:
        values.insert(0, values.pop(primary[0]))
    return values


async def _write_identities(
    session: Session, contact_pk: UUID, kind: str, values: list[str], field: str
) -> None:
    taken = await session.fetch(
        """SELECT value, contact_id FROM contact_identities
           WHERE workspace_id = $1 AND kind = $2 AND source = '' AND value = ANY($3::text[])
             AND contact_id <> $4""",
        session.workspace_id,
        kind,
        values,
        contact_pk,
    )
    if taken:
        check = Checker("input")
        for row in taken:
            index = values.index(row["value"])
            check.error(f"{field}.{index}", taken_message(session, row), ErrorCode.CONFLICT)
        check.raise_if_any()
    await session.execute(
        "DELETE FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2 AND kind = $3",
        session.workspace_id,
        contact_pk,
        kind,
    )
    await session.executemany(
        """INSERT INTO contact_identities (workspace_id, kind, value, contact_id, is_primary, position)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        [(session.workspace_id, kind, v, contact_pk, i == 0, i) for i, v in enumerate(values)],
    )


async def _save(
    session: Session, data: dict[str, Any], pk: UUID | None, current: asyncpg.Record | None
) -> asyncpg.Record:
    check = Checker("input")
    values = _values(check, data)
    region = values.get("country") or (current["country"] if current else None)
    emails = _identity_list(check, data, "EMAIL", region)
    phones = _identity_list(check, data, "PHONE", region)
    check.raise_if_any()
    await rows.resolve_links(session, data, values, account_id="Account", owner_id="Member")
    if pk is None:
        row = await rows.insert(session, CONTACT, values)
        await journey.record_transition(session, row, None, row["journey_stage"], row["created_at"])
    else:
        row = await rows.update(session, CONTACT, pk, data.get("version"), values)
        if row["journey_stage"] != current["journey_stage"]:  # set by hand
            await journey.record_transition(
                session, row, current["journey_stage"], row["journey_stage"], row["updated_at"]
            )
        if current["account_id"] is None and row["account_id"] is not None:
            await timeline.attach_to_account(session, pk, row["account_id"])
    if emails is not None:
        await _write_identities(session, row["id"], "EMAIL", emails, "emails")
    if phones is not None:
        await _write_identities(session, row["id"], "PHONE", phones, "phones")
    await _require_identifiable(session, row)
    return row


async def _require_identifiable(session: Session, row: asyncpg.Record) -> None:
    if row["first_name"] or row["last_name"]:
        return
    has_identity = await session.fetchval(
        "SELECT EXISTS (SELECT 1 FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2)",
        session.workspace_id,
        row["id"],
    )
    if not has_identity:
        raise_unidentifiable()


def raise_unidentifiable() -> None:
    raise UserInputError.single(
        "input", "A contact needs a first or last name, an email or a phone."
    )


async def create_contact(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    return await _save(session, data, None, None)


async def update_contact(session: Session, pk: UUID, data: dict[str, Any]) -> asyncpg.Record:
    current = await rows.require(session, "Contact", global_ids.encode("Contact", pk), "input.id")
    return await _save(session, data, pk, current)
