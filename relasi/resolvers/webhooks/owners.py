"""An endpoint's owner: the API key or member whose scopes its payloads are rendered with.

The owner's scopes are read as they are *now* at every fan-out (a key's own, a member's
role's: `current`), so narrowing a key or lowering a member's role changes the very next
payloads. The scopes stored with the endpoint (`owner_scopes`) only serve endpoints that no
key or member saved (system work).

An owner is entitled to its endpoint while its key is not revoked, expired or deleted, its
member not removed (`relasi_webhook_owner_active`, 0015_webhook_owners.sql), and it still may
save endpoints (`webhooks:write`; admins may): `ACTIVE`. Otherwise the endpoint sends nothing
more: fan-out renders nothing for it and claims take none of its deliveries (both test
`ACTIVE`), and the sweep (every second) disables it with the code OWNER_REVOKED. So does
fan-out when its filter names what the owner may no longer filter on (`FILTER_REASON`).

An update re-owns the endpoint to whoever makes it (endpoints.py); one with `enabled: true`
enables it again. Deliveries still open that were rendered for a view the endpoint no longer
has (its owner lost the right to it, or the update hands it to someone who may read less)
are dropped then (`drop_open`): they fail, with an attempt that says why, and are never sent.
Rotating an API key hands its endpoints to the new key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.scopes import ADMIN, ROLE_SCOPES, Role
from relasi.resolvers.session import Session

CODE = "OWNER_REVOKED"
REASON = (
    "The API key or member that saved this endpoint was revoked, expired or removed; an "
    "update with enabled: true makes you its owner and enables it again."
)
NO_LONGER_ALLOWED_REASON = (
    "The API key or member that saved this endpoint may no longer save webhook endpoints (it "
    "lost webhooks:write: its role was lowered or its scopes narrowed, so its access was "
    "revoked for it); an update with enabled: true makes you its owner and enables it again."
)
FILTER_REASON = (
    "The API key or member that saved this endpoint may no longer use its filter ({problem}); "
    "its access was revoked for it. An update with enabled: true (and a filter you may use) "
    "makes you its owner and enables it again."
)
DROPPED = (
    "Not sent: rendered for an owner whose view this endpoint no longer has (revoked, or "
    "handed to someone who may read less); it was dropped when the endpoint was re-owned."
)

# what lets a key or member own an endpoint: what saving one needs
OWNING_SCOPES = (ADMIN, "webhooks:write")
_OWNING_ROLES = sorted(r.value for r, scopes in ROLE_SCOPES.items() if scopes & set(OWNING_SCOPES))

# the condition on an endpoint row aliased `e` (constants only: the scopes and roles above)
_ALIVE = "relasi_webhook_owner_active(e.workspace_id, e.owner_api_key_id, e.owner_member_id)"
_MAY_OWN = f"""(e.owner_api_key_id IS NULL OR EXISTS (
                   SELECT FROM api_keys ok
                    WHERE ok.workspace_id = e.workspace_id AND ok.id = e.owner_api_key_id
                      AND ok.scopes && '{{{",".join(OWNING_SCOPES)}}}'::text[]))
               AND (e.owner_member_id IS NULL OR EXISTS (
                   SELECT FROM members om
                    WHERE om.workspace_id = e.workspace_id AND om.id = e.owner_member_id
                      AND om.role = ANY ('{{{",".join(_OWNING_ROLES)}}}'::text[])))"""
ACTIVE = f"({_ALIVE} AND {_MAY_OWN})"

# the owner's scopes now, for `current`: joins and columns over an endpoint row aliased `e`
NOW_JOINS = """LEFT JOIN api_keys nk ON nk.workspace_id = e.workspace_id AND nk.id = e.owner_api_key_id
               LEFT JOIN members nm ON nm.workspace_id = e.workspace_id AND nm.id = e.owner_member_id"""
NOW_COLUMNS = "nk.scopes AS owner_key_scopes, nm.role AS owner_role"

_DISABLE = f"""UPDATE webhook_endpoints e
                  SET enabled = false, disabled_code = '{CODE}',
                      disabled_reason = CASE WHEN {_ALIVE} THEN $2 ELSE $1 END
                WHERE e.enabled AND NOT {ACTIVE}"""

_DISABLE_ONE = f"""UPDATE webhook_endpoints SET enabled = false, disabled_code = '{CODE}',
                          disabled_reason = $3
                    WHERE workspace_id = $1 AND id = $2"""

# the endpoint's open deliveries fail unsent, each with an attempt that says why; a send in
# flight settles as it ends (delivery.py settles only deliveries still SENDING)
_DROP = """WITH dropped AS (
               UPDATE webhook_deliveries SET status = 'FAILED', lease_until = NULL
                WHERE workspace_id = $1 AND endpoint_id = $2 AND status IN ('PENDING', 'SENDING')
               RETURNING workspace_id, id)
           INSERT INTO webhook_attempts (workspace_id, delivery_id, duration_ms, error)
           SELECT workspace_id, id, 0, $3 FROM dropped"""


def current(row: Mapping[str, Any]) -> dict[str, Any]:
    """The endpoint row (selected with NOW_COLUMNS) with `owner_scopes` as its owner's are now."""
    found = dict(row)
    if row["owner_api_key_id"] is not None:
        found["owner_scopes"] = sorted(row["owner_key_scopes"] or ())
    elif row["owner_member_id"] is not None:
        role = row["owner_role"]
        found["owner_scopes"] = sorted(ROLE_SCOPES[Role(role)]) if role else []
    return found


def covers(scopes: list[str] | frozenset[str], other: list[str] | frozenset[str]) -> bool:
    """May an owner with `scopes` read everything one with `other` may?"""
    return ADMIN in scopes or (ADMIN not in other and set(other) <= set(scopes))


async def disable_orphaned(conn: asyncpg.Connection) -> None:
    """Disable the enabled endpoints (of every workspace) whose owner is no longer entitled."""
    await conn.execute(_DISABLE, REASON, NO_LONGER_ALLOWED_REASON)


async def disable(conn: asyncpg.Connection, workspace_id: UUID, pk: UUID, reason: str) -> None:
    """Disable one endpoint whose owner's rights no longer cover it (OWNER_REVOKED)."""
    await conn.execute(_DISABLE_ONE, workspace_id, pk, reason)


async def drop_open(session: Session, workspace_id: UUID, pk: UUID) -> None:
    """Fail the endpoint's open deliveries unsent (rendered for a view it no longer has)."""
    await session.execute(_DROP, workspace_id, pk, DROPPED)


async def transfer(session: Session | asyncpg.Connection, workspace_id: UUID, old: UUID, new: UUID):
    """The endpoints saved by API key `old` are owned by `new` from now on (a key rotation)."""
    await session.execute(
        "UPDATE webhook_endpoints SET owner_api_key_id = $3"
        " WHERE workspace_id = $1 AND owner_api_key_id = $2",
        workspace_id,
        old,
        new,
    )
