"""An endpoint's owner: the API key or member whose scopes its payloads are rendered with.

Once that key is revoked, expired or deleted, or that member removed, the endpoint sends
nothing more: fan-out renders nothing for it and claims take none of its deliveries (both
test `ACTIVE`, the SQL function of 0015_webhook_owners.sql), and the sweep (every second)
disables it with the code OWNER_REVOKED. An
update that passes `enabled: true` re-owns the endpoint to whoever makes it and enables it
again (endpoints.py). Rotating an API key hands its endpoints to the new key.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from relasi.resolvers.session import Session

CODE = "OWNER_REVOKED"
REASON = (
    "The API key or member that saved this endpoint was revoked, expired or removed; an "
    "update with enabled: true makes you its owner and enables it again."
)
# the condition on an endpoint row aliased `e`
ACTIVE = "relasi_webhook_owner_active(e.workspace_id, e.owner_api_key_id, e.owner_member_id)"

_DISABLE = f"""UPDATE webhook_endpoints e
                  SET enabled = false, disabled_code = '{CODE}', disabled_reason = $1
                WHERE e.enabled AND NOT {ACTIVE}"""


async def disable_orphaned(conn: asyncpg.Connection) -> None:
    """Disable the enabled endpoints (of every workspace) whose owner is gone."""
    await conn.execute(_DISABLE, REASON)


async def transfer(session: Session | asyncpg.Connection, workspace_id: UUID, old: UUID, new: UUID):
    """The endpoints saved by API key `old` are owned by `new` from now on (a key rotation)."""
    await session.execute(
        "UPDATE webhook_endpoints SET owner_api_key_id = $3"
        " WHERE workspace_id = $1 AND owner_api_key_id = $2",
        workspace_id,
        old,
        new,
    )
