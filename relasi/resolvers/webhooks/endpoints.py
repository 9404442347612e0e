"""Webhook endpoints: saved, changed, rotated and deleted (admins, or keys with
webhooks:write).

An endpoint's payloads show records as its owner sees them: whoever saved it last owns it,
and fan-out reads that owner's scopes as they are then (owners.py), so a key without pii:read
gets masked emails, and only event types of records the owner may read are accepted. A new endpoint receives the changes
committed after it was made; one enabled again resumes at the changes committed from then on
(what happened meanwhile is in the `changes` query).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg

from relasi.auth.permissions import TYPE_SCOPES
from relasi.auth.principal import Principal
from relasi.errors import Conflict, NotFound
from relasi.resolvers import global_ids
from relasi.resolvers.changes import EVENT_TYPES
from relasi.resolvers.predicates import Params
from relasi.resolvers.session import Session
from relasi.resolvers.validation import MEDIUM_TEXT, Checker
from relasi.resolvers.webhooks import filters, listing, owners, safety
from relasi.resolvers.webhooks.secrets import SecretBox, new_secret

TYPE_NAME = "WebhookEndpoint"
# an event type's record, by its prefix, and so the scope reading it needs
_EVENT_RECORDS = {
    "contact": "Contact",
    "account": "Account",
    "deal": "Deal",
    "case": "Case",
    "segment": "Segment",
    "interaction": "Interaction",
    "note": "NoteEvent",
    "task": "Task",
}
MAX_EVENT_TYPES = len(EVENT_TYPES)
_SELECT = "SELECT * FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2"
# as _SELECT, locked, with whether its owner is still entitled to it and that owner's scopes
_OWNED = f"""SELECT e.*, {owners.ACTIVE} AS owner_entitled, {owners.NOW_COLUMNS}
               FROM webhook_endpoints e {owners.NOW_JOINS}
              WHERE e.workspace_id = $1 AND e.id = $2 FOR UPDATE OF e"""


def readable(scopes: frozenset[str] | list[str], event_type: str) -> bool:
    """May an owner with `scopes` receive events of this type?"""
    principal = Principal(workspace_id=UUID(int=0), scopes=frozenset(scopes))
    return principal.has(TYPE_SCOPES[_EVENT_RECORDS[event_type.split(".")[0]]])


def _event_types(check: Checker, principal: Principal, types: list[str] | None) -> list[str]:
    if not types:
        return []  # every type the owner may read
    if len(types) > MAX_EVENT_TYPES:
        check.error("eventTypes", f"At most {MAX_EVENT_TYPES} event types (there are no more).")
        return []
    for i, name in enumerate(types):
        if name not in EVENT_TYPES:
            check.error(f"eventTypes.{i}", f"{name[:100]!r} is not an event type (see the README).")
        elif not readable(principal.scopes, name):
            record = _EVENT_RECORDS[name.split(".")[0]]
            check.error(
                f"eventTypes.{i}",
                f"Receiving {name} needs the {TYPE_SCOPES[record]} scope.",
                code=filters.FORBIDDEN,
            )
    return sorted(set(types) & set(EVENT_TYPES), key=EVENT_TYPES.index)


async def _url(check: Checker, url: str | None, allowed: frozenset[str]) -> str | None:
    url = check.text("url", url, safety.MAX_URL, required=True)
    if url is None or check.errors:
        return url
    try:
        await safety.resolve(url, allowed)
    except safety.UnsafeUrl as e:
        check.error("url", str(e))
    return url


async def _head(db: Session, workspace_id: UUID) -> int:
    """The workspace's last commit number: a new or re-enabled endpoint starts after it."""
    return await db.fetchval(
        "SELECT coalesce((SELECT last FROM change_heads WHERE workspace_id = $1), 0)",
        workspace_id,
    )


def _owner(principal: Principal) -> tuple[list[str], UUID | None, UUID | None]:
    return sorted(principal.scopes), principal.api_key_id, principal.member_id


async def create(
    session: Session, data: dict[str, Any], box: SecretBox, allowed: frozenset[str]
) -> tuple[asyncpg.Record, str]:
    """A new endpoint and its signing secret (shown this once)."""
    principal = session.principal
    check = Checker("input")
    url = await _url(check, data.get("url"), allowed)
    description = check.text("description", data.get("description"), MEDIUM_TEXT)
    types = _event_types(check, principal, data.get("event_types"))
    flt = filters.checked(check, principal, data.get("filter"))
    check.raise_if_any()
    pk, secret = uuid4(), new_secret()
    scopes, api_key_id, member_id = _owner(principal)
    row = await session.fetchrow(
        """INSERT INTO webhook_endpoints (workspace_id, id, url, description, event_types,
               filter, enabled, owner_scopes, owner_api_key_id, owner_member_id, secret,
               after_sequence)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *""",
        session.workspace_id,
        pk,
        url,
        description,
        types,
        flt,
        data.get("enabled") is not False,
        scopes,
        api_key_id,
        member_id,
        box.seal(pk, secret),
        await _head(session, session.workspace_id),
    )
    return row, secret


async def _locked(session: Session, pk: UUID, sql: str = _SELECT + " FOR UPDATE") -> asyncpg.Record:
    row = await session.fetchrow(sql, session.workspace_id, pk)
    if row is None:
        raise not_found(pk)
    return row


def not_found(pk: UUID, field: str = "input.id") -> NotFound:
    return NotFound(f"No {TYPE_NAME} with id {global_ids.encode(TYPE_NAME, pk)!r}.", field=field)


async def update(
    session: Session, pk: UUID, data: dict[str, Any], allowed: frozenset[str]
) -> asyncpg.Record:
    """Change the fields given; `version`, when given, must be the one last read. The caller
    becomes the owner; deliveries still open that were rendered for more than the endpoint
    may now show (its owner was no longer entitled, or the caller may read less) are dropped
    (owners.py)."""
    old = await _locked(session, pk, _OWNED)
    version = data.get("version")
    if version is not None and version != old["version"]:
        raise Conflict(
            f"This webhook endpoint changed since you read it (you sent version {version}, "
            f"it is now {old['version']}); read it again and retry.",
            field="input.version",
        )
    principal = session.principal
    check = Checker("input")
    values: dict[str, Any] = {}
    if "url" in data:
        values["url"] = await _url(check, data["url"], allowed)
    if "description" in data:
        values["description"] = check.text("description", data["description"], MEDIUM_TEXT)
    if "event_types" in data:
        values["event_types"] = _event_types(check, principal, data["event_types"])
    if "filter" in data:
        values["filter"] = filters.checked(check, principal, data["filter"])
    enabled = data.get("enabled")
    if "enabled" in data and enabled is None:
        check.error("enabled", "Give true or false.")
    check.raise_if_any()
    before = owners.current(old)["owner_scopes"]
    if not old["owner_entitled"] or not owners.covers(principal.scopes, before):
        await owners.drop_open(session, session.workspace_id, pk)
    if enabled is True and not old["enabled"]:
        values.update(
            enabled=True,
            disabled_reason=None,
            disabled_code=None,
            failure_streak=0,
            after_sequence=await _head(session, session.workspace_id),
        )
    elif enabled is False and old["enabled"]:
        values.update(enabled=False, disabled_reason="Disabled by a user.", disabled_code="BY_USER")
    values["owner_scopes"], values["owner_api_key_id"], values["owner_member_id"] = _owner(
        principal
    )
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=3))
    return await session.fetchrow(
        f"UPDATE webhook_endpoints SET {assignments}, updated_at = now(), version = version + 1"
        " WHERE workspace_id = $1 AND id = $2 RETURNING *",
        session.workspace_id,
        pk,
        *values.values(),
    )


async def rotate_secret(
    session: Session, pk: UUID, box: SecretBox, overlap_seconds: float
) -> tuple[asyncpg.Record, str]:
    """A new secret; the current one keeps signing (beside it) for `overlap_seconds`."""
    await _locked(session, pk)
    secret = new_secret()
    row = await session.fetchrow(
        """UPDATE webhook_endpoints
              SET previous_secret = secret, secret = $3,
                  previous_secret_until = now() + make_interval(secs => $4),
                  updated_at = now(), version = version + 1
            WHERE workspace_id = $1 AND id = $2 RETURNING *""",
        session.workspace_id,
        pk,
        box.seal(pk, secret),
        overlap_seconds,
    )
    return row, secret


async def delete(session: Session, pk: UUID) -> None:
    """Gone, with its deliveries and their attempts; sends in flight finish unrecorded."""
    deleted = await session.fetchval(
        "DELETE FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2 RETURNING id",
        session.workspace_id,
        pk,
    )
    if deleted is None:
        raise not_found(pk)


async def get(session: Session, pk: UUID) -> asyncpg.Record | None:
    return await session.fetchrow(_SELECT, session.workspace_id, pk)


async def page(session: Session, first: int | None, after: str | None):
    """Endpoints oldest first."""
    return await listing.keyset_page(
        session,
        "SELECT * FROM webhook_endpoints t WHERE t.workspace_id = $1",
        Params(session.workspace_id),
        descending=False,
        first=first,
        after=after,
        name="webhookEndpoints",
    )
