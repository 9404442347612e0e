"""Fresh planner statistics after bulk writes.

The planner knows a table from its last ANALYZE, which autovacuum runs once about a tenth of
the table changed, and up to a minute later. Until then a workspace that was just filled is
planned with the statistics of before (a table the planner believes empty, a workspace id it
has never seen): the first minutes of a new workspace would be its slowest. So bulk writes
analyze what they touched themselves: the demo seed when it is done, a large
`trackInteractions` batch once it committed.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import Counter
from collections.abc import Iterable, Mapping

import asyncpg

log = logging.getLogger(__name__)

# A write counts as bulk from this many rows into one table; it is analyzed when it is also at
# least a tenth of the table (autovacuum's own default threshold, applied at once).
BULK_ROWS = 500
STALE_FRACTION = 0.1


async def analyze(conn: asyncpg.Connection, tables: Iterable[str]) -> None:
    """ANALYZE `tables` (names from our own code, never a client's) as the login, which owns
    them: relasi_app and relasi_system may not analyze. The connection's role is kept."""
    role = await conn.fetchval("SELECT current_setting('role')")
    await conn.execute("RESET ROLE")
    try:
        await conn.execute("ANALYZE " + ", ".join(tables))
    finally:
        await conn.execute("SELECT set_config('role', $1, false)", role)


class Analyzer:
    """Analyzes tables after bulk writes, in the background of this process: the write's
    request does not wait, one ANALYZE runs at a time, and writes that arrive meanwhile are
    looked at again when it is done."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._written: Counter[str] = Counter()  # rows per table since its last ANALYZE here
        self._task: asyncio.Task | None = None
        self._again = False

    def wrote(self, rows: Mapping[str, int]) -> None:
        """`rows` were written (and committed) into these tables."""
        self._written.update(rows)
        if not any(n >= BULK_ROWS for n in self._written.values()):
            return
        if self._task is None or self._task.done():
            # a context of its own: not counted among the statements of the request that wrote
            self._task = asyncio.get_running_loop().create_task(
                self._run(), context=contextvars.Context()
            )
        else:
            self._again = True

    async def idle(self) -> None:
        """Wait for the ANALYZE under way, if any (at shutdown, and for tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self._analyze_stale()
            except Exception:  # statistics are an optimisation: never fail anything for them
                log.exception("could not analyze after a bulk write")
            if not self._again:
                return

    async def _analyze_stale(self) -> None:
        bulk = sorted(t for t, n in self._written.items() if n >= BULK_ROWS)
        async with self.pool.acquire() as conn:
            sizes = dict(
                await conn.fetch(
                    "SELECT relname::text, reltuples FROM pg_class"
                    " WHERE oid = ANY($1::text[]::regclass[])",
                    bulk,
                )
            )
            # reltuples is -1 for a table never analyzed (nor vacuumed)
            stale = [t for t in bulk if self._written[t] >= STALE_FRACTION * sizes.get(t, 0)]
            if not stale:
                return
            counted = {t: self._written[t] for t in stale}
            await analyze(conn, stale)
        self._written.subtract(counted)
        self._written = +self._written  # drop the zeroes
