"""The NOTIFY channels live subscriptions listen on (`relasi/notifier.py`).

Record changes need no call here: the change log's triggers announce each numbered commit on
CHANGES (`dbschema/0011_change_announcements.sql`), and listeners read its events from the log.
What is not a record change is announced on CHANNEL by hand, inside the writing transaction
(PostgreSQL delivers a notification only when that transaction commits): a revoked key or a
removed member, and a replaced HS256 secret, whose open sockets end at once.
"""

from __future__ import annotations

import json
from uuid import UUID

import asyncpg

from relasi.auth import key_cache
from relasi.resolvers.session import Session

CHANGES = "relasi_changes"  # {"w": workspace id, "s": commit sequence}, sent by the log
CHANNEL = "relasi_events"  # {"w": workspace id, "t": one of these, "id": ...}
ACCESS = "access"  # "id": the revoked key's or removed member's id
JWT_SECRET = "jwt_secret"  # the workspace's HS256 secret was replaced (no "id")


async def announce_revoked(
    db: Session | asyncpg.Connection, workspace_id: UUID, caller: UUID
) -> None:
    """In the revoking transaction: every process ends that caller's subscriptions and forgets
    its cached key once it commits (`notifier.py`), instead of at its next cached validity
    check; this process forgets the key as soon as it commits, before the notification is
    heard, so the request after the revoking one is refused."""
    await _announce(db, {"w": str(workspace_id), "t": ACCESS, "id": str(caller)})
    if isinstance(db, Session):
        db.after_commit(lambda: key_cache.forget(caller))


async def announce_jwt_secret_replaced(
    db: Session | asyncpg.Connection, workspace_id: UUID
) -> None:
    """In the transaction that replaces the workspace's HS256 secret: every process ends the
    subscriptions of that workspace's HS256 staff sockets once it commits (their tokens were
    signed with the old secret, or moments ago with the new one: those reconnect)."""
    await _announce(db, {"w": str(workspace_id), "t": JWT_SECRET})


async def _announce(db: Session | asyncpg.Connection, note: dict[str, str]) -> None:
    await db.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps(note))
