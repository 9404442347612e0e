"""Reading segments: sizes and daily size history, batched over all segments of a request
(members, overrides and the change log are relation connections of the mapping)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from uuid import UUID

from relasi.errors import AppError
from relasi.resolvers.session import Session

MAX_HISTORY_DAYS = 366


async def size(session: Session, segment_pk: UUID) -> int:
    """Members now (an index-only count: a member is always a live contact)."""

    async def batch(ids: list[UUID]) -> list[int]:
        found = await session.fetch(
            "SELECT segment_id, count(*) AS n FROM segment_members"
            " WHERE workspace_id = $1 AND segment_id = ANY($2::uuid[]) GROUP BY segment_id",
            session.workspace_id,
            ids,
        )
        counts = {r["segment_id"]: r["n"] for r in found}
        return [counts.get(i, 0) for i in ids]

    return await session.loader(("segment_size",), batch).load(segment_pk)


async def size_history(
    session: Session, segment_pk: UUID, days: int
) -> list[tuple[datetime.date, int]]:
    """The size at the end of each of the last `days` days (UTC), today last (its size now):
    the size now minus the entries and exits logged after each day, so the history needs no
    snapshot job and reads only the window's part of the change log."""
    if not 1 <= days <= MAX_HISTORY_DAYS:
        raise AppError(f"days must be between 1 and {MAX_HISTORY_DAYS}.", field="days")

    async def batch(ids: list[UUID]) -> list[list[tuple[datetime.date, int]]]:
        found = await session.fetch(
            """WITH today AS (SELECT (now() AT TIME ZONE 'UTC')::date AS d),
                    days AS (SELECT (today.d - g)::date AS day FROM today,
                                    generate_series(0, $3::int - 1) AS g),
                    now_size AS (SELECT segment_id, count(*) AS n FROM segment_members
                                  WHERE workspace_id = $1 AND segment_id = ANY($2::uuid[])
                                  GROUP BY segment_id),
                    deltas AS (SELECT segment_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
                                      sum(CASE change WHEN 'ENTERED' THEN 1 ELSE -1 END) AS delta
                                 FROM segment_changes, today
                                WHERE workspace_id = $1 AND segment_id = ANY($2::uuid[])
                                  AND occurred_at >= (today.d - ($3::int - 1))::timestamp AT TIME ZONE 'UTC'
                                GROUP BY 1, 2)
               SELECT s.id AS segment_id, days.day,
                      coalesce(now_size.n, 0) - coalesce((SELECT sum(x.delta) FROM deltas x
                          WHERE x.segment_id = s.id AND x.day > days.day), 0) AS size
                 FROM unnest($2::uuid[]) AS s(id) CROSS JOIN days
                 LEFT JOIN now_size ON now_size.segment_id = s.id
                ORDER BY s.id, days.day""",
            session.workspace_id,
            ids,
            days,
        )
        grouped: dict[UUID, list] = defaultdict(list)
        for r in found:
            grouped[r["segment_id"]].append((r["day"], int(r["size"])))
        return [grouped[i] for i in ids]

    return await session.loader(("segment_size_history", days), batch).load(segment_pk)
