"""Change events for live subscriptions, sent with PostgreSQL NOTIFY.

`publish` runs inside the writing transaction: PostgreSQL delivers a notification only when
that transaction commits (and drops it with a rolled-back savepoint), so subscribers never see
a write that did not happen. The payload names the row, not its contents: a notification must
stay under NOTIFY's 8,000-byte limit whatever the row holds, and listeners read the row.
"""

from __future__ import annotations

import json
from typing import Literal
from uuid import UUID

import asyncpg

from relasi.resolvers.session import Session

CHANNEL = "relasi_events"

# what changed: "interaction" (an `interactions` row was recorded), "timeline" (a
# `timeline_events` row), "case" (a `cases` row was created or changed), "segment" (a
# `segment_changes` row: a contact entered or left a segment; published in bulk by
# resolvers/segments/membership.py with this same payload), "access" (an API key was revoked
# or a member removed: `id` is the key's or the member's; open sockets of that caller end)
Topic = Literal["interaction", "timeline", "case", "segment", "access"]


def payload(workspace_id: UUID, topic: Topic, row_id: UUID) -> str:
    return json.dumps({"w": str(workspace_id), "t": topic, "id": str(row_id)})


async def publish(session: Session, topic: Topic, row_id: UUID) -> None:
    await session.execute(
        "SELECT pg_notify($1, $2)", CHANNEL, payload(session.workspace_id, topic, row_id)
    )


async def announce_revoked(
    db: Session | asyncpg.Connection, workspace_id: UUID, caller: UUID
) -> None:
    """In the revoking transaction: every process ends that caller's subscriptions once it
    commits (`notifier.py`), instead of at its next cached validity check."""
    await db.execute("SELECT pg_notify($1, $2)", CHANNEL, payload(workspace_id, "access", caller))
