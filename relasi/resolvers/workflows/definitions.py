"""Workflow definitions: saved, versioned, enabled and disabled, deleted (admins, or keys
with workflows:write).

The stored form (`workflows.definition`, and each version's in `workflow_versions`), JSON with
the GraphQL input's names, as the client wrote it once checked:

    {"triggers":  [{"fieldChanged": {"field": "stage", "to": "Negotiation"}}, ...],
     "condition": {"deal": {...DealFilter...}} or null,
     "actions":   [{"createTask": {"title": "Send the contract to {{deal.account.name}}"}},
                   {"branch": {"condition": {...}, "then": [...], "else": [...]}}, ...],
     "matchers":  [{"events": ["deal.updated"], "column": "stage_id", "from": null,
                    "to": ["<stage uuid>"]}, null, ...]}

`matchers` holds, per trigger, what matching.py compares events with (stored values: stage
names resolved to ids); time-based triggers have none (null). The record type is a column.
A workflow acts with the scopes of whoever saved it last (`owner_scopes`), like a webhook
endpoint's payloads.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg

from relasi.errors import Conflict, NotFound
from relasi.resolvers import global_ids
from relasi.resolvers.predicates import Params
from relasi.resolvers.session import Session
from relasi.resolvers.validation import MEDIUM_TEXT, NAME, Checker
from relasi.resolvers.webhooks import listing
from relasi.resolvers.workflows import actions, triggers

TYPE_NAME = "Workflow"
_SELECT = "SELECT * FROM workflows WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL"
_DEFINITION = ("record_type", "triggers", "condition", "actions")


async def _known(session: Session) -> dict[str, Any]:
    """What actions may name: the workspace's live segments, pipeline stages, active members
    and webhook endpoints."""
    ws = session.workspace_id
    segments = await session.fetch(
        "SELECT id, kind FROM segments WHERE workspace_id = $1 AND deleted_at IS NULL", ws
    )
    members = await session.fetch(
        "SELECT id FROM members WHERE workspace_id = $1 AND status = 'ACTIVE'", ws
    )
    endpoints = await session.fetch("SELECT id FROM webhook_endpoints WHERE workspace_id = $1", ws)
    return {
        "segments": {r["id"]: r["kind"] for r in segments},
        "stages": await session.fetch(
            "SELECT id, name FROM pipeline_stages WHERE workspace_id = $1", ws
        ),
        "members": {r["id"] for r in members},
        "endpoints": {r["id"] for r in endpoints},
    }


async def checked(session: Session, check: Checker, data: dict[str, Any]) -> tuple[str, dict]:
    """(record type, stored definition) of the input, every problem reported at its path."""
    kinds = triggers.record_types()
    record_type = kinds.get(data.get("record_type") or "")
    if record_type is None:
        check.error("recordType", f"One of {', '.join(kinds)}.")
        check.raise_if_any()
    known = await _known(session)
    matchers = triggers.TriggerChecker(check, record_type, known["stages"]).all(
        data.get("triggers")
    )
    condition = actions.condition(
        check, session.principal, record_type, data.get("condition"), "condition"
    )
    actions.ActionChecker(check, session.principal, record_type, known).all(data.get("actions"))
    check.raise_if_any()
    definition = {
        "triggers": data["triggers"],
        "condition": condition,
        "actions": data["actions"],
        "matchers": matchers,
    }
    return record_type, definition


async def _head(session: Session) -> int:
    """The workspace's last commit number: a new or re-enabled workflow starts after it."""
    return await session.fetchval(
        "SELECT coalesce((SELECT last FROM change_heads WHERE workspace_id = $1), 0)",
        session.workspace_id,
    )


def _owner(session: Session) -> tuple[list[str], UUID | None, UUID | None]:
    p = session.principal
    return sorted(p.scopes), p.api_key_id, p.member_id


async def _version(session: Session, row: asyncpg.Record) -> None:
    await session.execute(
        """INSERT INTO workflow_versions (workspace_id, workflow_id, version, name, record_type,
                                          definition) VALUES ($1, $2, $3, $4, $5, $6)""",
        row["workspace_id"],
        row["id"],
        row["version"],
        row["name"],
        row["record_type"],
        row["definition"],
    )


async def create(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    check = Checker("input")
    name = check.text("name", data.get("name"), NAME, required=True)
    description = check.text("description", data.get("description"), MEDIUM_TEXT)
    record_type, definition = await checked(session, check, data)
    scopes, api_key_id, member_id = _owner(session)
    row = await session.fetchrow(
        """INSERT INTO workflows (workspace_id, id, name, description, record_type, definition,
               enabled, start_sequence, owner_scopes, owner_api_key_id, owner_member_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *""",
        session.workspace_id,
        uuid4(),
        name,
        description,
        record_type,
        definition,
        data.get("enabled") is not False,
        await _head(session),
        scopes,
        api_key_id,
        member_id,
    )
    await _version(session, row)
    return row


async def _locked(session: Session, pk: UUID) -> asyncpg.Record:
    row = await session.fetchrow(_SELECT + " FOR UPDATE", session.workspace_id, pk)
    if row is None:
        raise not_found(pk)
    return row


def not_found(pk: UUID, field: str = "input.id") -> NotFound:
    return NotFound(f"No {TYPE_NAME} with id {global_ids.encode(TYPE_NAME, pk)!r}.", field=field)


async def update(session: Session, pk: UUID, data: dict[str, Any]) -> asyncpg.Record:
    """Change what is given: a changed definition (or name) is a new version; `enabled` turns
    it on (for the changes committed from then on) or off."""
    old = await _locked(session, pk)
    version = data.get("version")
    if version is not None and version != old["version"]:
        raise Conflict(
            f"This workflow changed since you read it (you sent version {version}, it is now "
            f"{old['version']}); read it again and retry.",
            field="input.version",
        )
    check = Checker("input")
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = check.text("name", data["name"], NAME, required=True)
    if "description" in data:
        values["description"] = check.text("description", data["description"], MEDIUM_TEXT)
    if any(k in data for k in _DEFINITION):
        stored = old["definition"]
        merged = {
            "record_type": old["record_type"].upper(),
            "triggers": stored["triggers"],
            "condition": stored["condition"],
            "actions": stored["actions"],
            **{k: data[k] for k in _DEFINITION if k in data},
        }
        values["record_type"], values["definition"] = await checked(session, check, merged)
    check.raise_if_any()
    new_version = bool(values)
    values.update(await _enabling(session, old, data.get("enabled")))
    values["owner_scopes"], values["owner_api_key_id"], values["owner_member_id"] = _owner(session)
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=3))
    row = await session.fetchrow(
        f"UPDATE workflows SET {assignments}, updated_at = now(),"
        f" version = version + {int(new_version)}"
        " WHERE workspace_id = $1 AND id = $2 RETURNING *",
        session.workspace_id,
        pk,
        *values.values(),
    )
    if new_version:
        await _version(session, row)
    return row


async def _enabling(session: Session, old: asyncpg.Record, enabled: bool | None) -> dict:
    if enabled is True and not old["enabled"]:
        return {"enabled": True, "start_sequence": await _head(session)}
    if enabled is False and old["enabled"]:
        return {"enabled": False}
    return {}


async def set_enabled(session: Session, pk: UUID, enabled: bool) -> asyncpg.Record:
    old = await _locked(session, pk)
    values = await _enabling(session, old, enabled)
    if not values:
        return old
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=3))
    return await session.fetchrow(
        f"UPDATE workflows SET {assignments}, updated_at = now()"
        " WHERE workspace_id = $1 AND id = $2 RETURNING *",
        session.workspace_id,
        pk,
        *values.values(),
    )


async def delete(session: Session, pk: UUID) -> None:
    """Gone from lists and never triggered again; its runs stay readable (and on timelines),
    and runs under way stop before their next step."""
    deleted = await session.fetchval(
        "UPDATE workflows SET deleted_at = now(), enabled = false, updated_at = now()"
        " WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING id",
        session.workspace_id,
        pk,
    )
    if deleted is None:
        raise not_found(pk)
    await session.execute(
        """UPDATE workflow_runs SET status = 'FAILED', finished_at = now(),
                  error = 'The workflow was deleted.'
            WHERE workspace_id = $1 AND workflow_id = $2 AND status IN ('QUEUED', 'RUNNING', 'WAITING')""",
        session.workspace_id,
        pk,
    )


async def load(session: Session, pk: UUID) -> asyncpg.Record | None:
    """A workflow, deleted or not (batched per request): who made a change."""

    async def batch(ids: list[UUID]) -> list[asyncpg.Record | None]:
        found = await session.fetch(
            "SELECT * FROM workflows WHERE workspace_id = $1 AND id = ANY($2::uuid[])",
            session.workspace_id,
            ids,
        )
        by_id = {r["id"]: r for r in found}
        return [by_id.get(i) for i in ids]

    return await session.loader(("workflows",), batch).load(pk)


async def get(session: Session, pk: UUID) -> asyncpg.Record | None:
    return await session.fetchrow(_SELECT, session.workspace_id, pk)


async def page(session: Session, first: int | None, after: str | None):
    """Workflows oldest first."""
    return await listing.keyset_page(
        session,
        "SELECT * FROM workflows t WHERE t.workspace_id = $1 AND t.deleted_at IS NULL",
        Params(session.workspace_id),
        descending=False,
        first=first,
        after=after,
        name="workflows",
    )
