"""Finding the person behind a touchpoint by email, phone or an external identity.

A known identity attaches the touch to its contact, and the contact learns the other
identities the touch carried. Unknown identities create a contact (SUBSCRIBER, AWARENESS), so
the next touch from that channel lands on the same person: one profile per email, phone or
external id. Concurrent first touches of the same new person create one contact: the identity's
primary key decides, and the loser attaches to the winner's contact.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from relasi.auth.pii import PII_READ
from relasi.errors import ErrorCode, UserInputError
from relasi.resolvers import global_ids
from relasi.resolvers.journey import record_transition
from relasi.resolvers.session import Session
from relasi.resolvers.validation import NAME, SHORT_TEXT, Checker

Identity = tuple[str, str, str]  # kind, source, value


def _identities(check: Checker, ref: dict[str, Any], country: str | None) -> list[Identity]:
    found: list[Identity] = []
    if ref.get("email") is not None:
        email = check.email("email", ref["email"])
        if email:
            found.append(("EMAIL", "", email))
    if ref.get("phone") is not None:
        phone = check.phone("phone", ref["phone"], country)
        if phone:
            found.append(("PHONE", "", phone))
    external = ref.get("external_identity")
    if external is not None:
        source = check.text(
            "externalIdentity.source", external["source"], SHORT_TEXT, required=True
        )
        value = check.text("externalIdentity.id", external["id"], NAME, required=True)
        if source and value:
            found.append(("EXTERNAL", source, value))
    if not found and not check.errors:
        check.error("email", "Give an email, a phone or an external identity of the contact.")
    return found


async def resolve_contact(
    session: Session, ref: dict[str, Any], path: str
) -> tuple[asyncpg.Record, bool]:
    """The live contact `ref` names (creating it if unknown); returns (contact, created)."""
    check = Checker(*path.split("."))
    country = check.country("country", ref.get("country"))
    identities = _identities(check, ref, country)
    names = (
        check.text("firstName", ref.get("first_name")),
        check.text("lastName", ref.get("last_name")),
    )
    check.raise_if_any()
    for _ in range(2):  # a second pass only after losing a creation race
        contact = await _owner(session, identities, path)
        if contact is not None:
            await _insert_identities(session, contact["id"], identities)
            return contact, False
        contact = await _create(session, identities, names, country)
        if contact is not None:
            return contact, True
    raise UserInputError.single(
        path, "The contact could not be resolved; retry.", ErrorCode.CONFLICT
    )


def taken_message(session: Session, row: Any) -> str:
    """An identity (`row`: value, contact_id) another contact has. Only a caller who may read
    personal data learns which contact: to anyone else the id would answer "whose email is
    this?" one guess at a time."""
    if not session.principal.has(PII_READ):
        return f"{row['value']} is already taken by another contact."
    owner = global_ids.encode("Contact", row["contact_id"])
    return f"{row['value']} already belongs to contact {owner}: merge instead of duplicating."


async def _owner(session: Session, identities: list[Identity], path: str) -> asyncpg.Record | None:
    kinds, sources, values = (list(column) for column in zip(*identities, strict=True))
    owners = await session.fetch(
        """SELECT DISTINCT c.* FROM contact_identities i
             JOIN contacts c ON c.workspace_id = i.workspace_id AND c.id = i.contact_id
            WHERE i.workspace_id = $1
              AND (i.kind, i.source, i.value) IN (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))""",
        session.workspace_id,
        kinds,
        sources,
        values,
    )
    named = session.principal.has(PII_READ)  # else which contact owns an email stays unsaid
    if len(owners) > 1:
        ids = ", ".join(global_ids.encode("Contact", o["id"]) for o in owners)
        raise UserInputError.single(
            path,
            f"These identities belong to different contacts ({ids}); merge them first."
            if named
            else "These identities belong to different contacts; merge them first.",
            ErrorCode.CONFLICT,
        )
    if owners and owners[0]["deleted_at"] is not None:
        owner = global_ids.encode("Contact", owners[0]["id"])
        raise UserInputError.single(
            path,
            f"This identity belongs to deleted contact {owner}; restore it first."
            if named
            else "This identity belongs to a deleted contact; restore it first.",
            ErrorCode.CONFLICT,
        )
    return owners[0] if owners else None


async def _insert_identities(session: Session, contact_id: Any, identities: list[Identity]) -> int:
    """Insert the identities the contact lacks; returns how many were new. The first of a kind
    becomes primary. Identities owned by someone else are skipped (the caller checks)."""
    kinds, sources, values = (list(column) for column in zip(*identities, strict=True))
    status = await session.execute(
        """INSERT INTO contact_identities (workspace_id, kind, source, value, contact_id, is_primary, position)
           SELECT $1, n.kind, n.source, n.value, $2,
                  NOT EXISTS (SELECT 1 FROM contact_identities p WHERE p.workspace_id = $1
                                 AND p.contact_id = $2 AND p.kind = n.kind AND p.is_primary),
                  (SELECT count(*) FROM contact_identities p WHERE p.workspace_id = $1
                      AND p.contact_id = $2 AND p.kind = n.kind)
             FROM unnest($3::text[], $4::text[], $5::text[]) AS n(kind, source, value)
           ON CONFLICT DO NOTHING""",
        session.workspace_id,
        contact_id,
        kinds,
        sources,
        values,
    )
    return int(status.split()[-1])


class _LostRace(Exception):
    """Another request claimed one of the identities while this one created their contact."""


async def _create(
    session: Session,
    identities: list[Identity],
    names: tuple[str | None, str | None],
    country: str | None,
) -> asyncpg.Record | None:
    """A new contact owning `identities`; None if another request claimed one of them first.

    Inside a savepoint: the loser of a creation race rolls its contact back rather than
    deleting it, so the change log (written by triggers) keeps no `contact.created` of a
    contact that never existed for anyone else, and webhooks never announce one."""
    try:
        async with session.savepoint():
            contact = await session.fetchrow(
                """INSERT INTO contacts (workspace_id, first_name, last_name, country, lifecycle_stage, journey_stage)
                   VALUES ($1, $2, $3, $4, 'SUBSCRIBER', 'AWARENESS') RETURNING *""",
                session.workspace_id,
                *names,
                country,
            )
            if await _insert_identities(session, contact["id"], identities) < len(identities):
                raise _LostRace
    except _LostRace:
        return None
    await record_transition(session, contact, None, "AWARENESS", contact["created_at"])
    return contact
