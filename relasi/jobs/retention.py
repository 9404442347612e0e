"""Deleting rows older than a number of days in bounded batches: each statement deletes at most
`batch` rows in its own short transaction, so a large backlog never holds locks for long or
bloats one transaction, and several workers may prune at once (a row one deleted, the other
skips). Used by the change log's, the webhook deliveries' and the queue's own retention."""

from __future__ import annotations

import asyncpg

BATCH = 5_000
INTERVAL_SECONDS = 3_600  # how often retention jobs run


def older_than(table: str, column: str, condition: str = "") -> str:
    """The batch statement for `table`'s rows whose `column` is older than $1 days (and that
    meet `condition`); $2 is the batch size. Names come from code, never from input."""
    return f"""DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                   SELECT ctid FROM {table}
                    WHERE {column} < now() - make_interval(days => $1) {condition} LIMIT $2))"""


async def delete_in_batches(
    conn: asyncpg.Connection, statement: str, days: int, batch: int = BATCH
) -> int:
    """Run an `older_than` statement until it deletes less than a batch; how many rows."""
    deleted = 0
    while True:
        count = int((await conn.execute(statement, days, batch)).split()[-1])
        deleted += count
        if count < batch:
            return deleted
