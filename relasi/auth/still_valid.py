"""Is a WebSocket's caller still allowed in? A socket authenticates once, but lives for hours.

Before a subscription delivers an event, its caller is checked again: an API key must not be
revoked or expired, a member must still be active, a JWT must not be past its `exp`, and an
HS256 token's workspace secret must not have been replaced since it was verified. A
database answer is kept for a few seconds per caller in this process, and the subscribers that
find it stale at once share one look-up, so a thousand subscribers of one key cost one query
per event burst, not a thousand (nor a thousand pool waits every few seconds). A revocation does not
wait for that: it is announced with NOTIFY (`resolvers/events.announce_revoked`, and
`announce_jwt_secret_replaced`), and the notifier ends the caller's subscriptions and calls
`forget` here at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from datetime import UTC, datetime
from uuid import UUID

from relasi.auth.principal import Principal
from relasi.db import Database, system_connection

RECHECK_SECONDS = 5.0
NO_LONGER_VALID = (
    "This socket's key or token is no longer valid (revoked, expired, or the member removed); "
    "connect again with a valid one."
)

_answers: dict[Hashable, tuple[bool, float]] = {}
# a key's or member's id, or a workspace's (its HS256 secret replaced) -> when that was heard
_revoked: dict[UUID, float] = {}
_asking: dict[Hashable, asyncio.Future[bool]] = {}  # look-ups under way, shared by their callers


def forget(caller: UUID) -> None:
    """`caller` was revoked (a key or member id; a workspace id: the HS256 tokens of its old
    secret): drop its cached answers, and keep any check already under way (which may have
    read the row before the revocation committed) from storing a stale one."""
    if len(_revoked) > 10_000:
        _revoked.clear()
    _revoked[caller] = time.monotonic()
    for key in [k for k in _answers if caller in k]:
        del _answers[key]


def known_valid(principal: Principal) -> bool | None:
    """The answer this process knows without asking the database (an expired token, or a
    database answer younger than RECHECK_SECONDS); None: it must ask (`still_valid`)."""
    if principal.expires_at is not None and principal.expires_at <= datetime.now(UTC):
        return False
    answer = _answers.get(_key(principal))
    if answer is not None and time.monotonic() - answer[1] < RECHECK_SECONDS:
        return answer[0]
    return None


def _key(principal: Principal) -> Hashable:
    return (
        principal.api_key_id,
        principal.member_id,
        principal.workspace_id,
        principal.jwt_secret_hash,
    )


async def still_valid(db: Database, principal: Principal) -> bool:
    known = known_valid(principal)
    if known is not None:
        return known
    key = _key(principal)
    asking = _asking.get(key)
    if asking is None:
        asking = asyncio.ensure_future(_ask(db, principal, key))
        _asking[key] = asking
        asking.add_done_callback(lambda _: _asking.pop(key, None))
    # shielded: one waiter cancelled (its socket closed) does not cancel the others' answer
    return await asyncio.shield(asking)


async def _ask(db: Database, principal: Principal, key: Hashable) -> bool:
    caller = principal.api_key_id or principal.member_id
    now = time.monotonic()
    async with system_connection(db) as conn:
        if principal.api_key_id is not None:
            valid = await conn.fetchval(
                """SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1 AND revoked_at IS NULL
                       AND (expires_at IS NULL OR expires_at > now()))""",
                principal.api_key_id,
            )
        else:  # and an HS256 token's secret still the workspace's
            valid = await conn.fetchval(
                """SELECT EXISTS (SELECT 1 FROM members WHERE workspace_id = $1 AND id = $2
                       AND status = 'ACTIVE')
                   AND ($3::bytea IS NULL OR EXISTS (SELECT 1 FROM workspaces WHERE id = $1
                       AND sha256(convert_to(jwt_secret, 'UTF8')) = $3))""",
                principal.workspace_id,
                principal.member_id,
                principal.jwt_secret_hash,
            )
    revoked = (caller, principal.workspace_id if principal.jwt_secret_hash else None)
    if any(_revoked.get(who, -1.0) >= now for who in revoked if who is not None):
        return False  # revoked while the database was asked
    if len(_answers) > 10_000:
        _answers.clear()
    _answers[key] = (valid, now)
    return valid
