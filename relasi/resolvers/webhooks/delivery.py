"""Sending deliveries: claimed when due, posted (sender.py), settled, retried with backoff.

- At least once: a delivery is claimed (SENDING, with a lease) before it is sent and settled
  after; a process killed mid-send leaves the lease to run out, and another claims it again.
- Per record, in order: a delivery is not claimed while an earlier one of the same record to
  the same endpoint is still open (pending, retrying or being sent).
- Paced per endpoint: a drain keeps a window of sends in flight that starts at
  `START_IN_FLIGHT`, grows by about one per round of fast 2xx answers up to
  `RELASI_WEBHOOK_ENDPOINT_CONCURRENCY` (also the cap across processes), and halves on a
  failure or a slow answer, so a healthy receiver is sent to as fast as it answers and a slow
  or failing one holds few slots (only its own).
- Batched bookkeeping: the outcomes of the sends that finished meanwhile are settled (attempts,
  statuses, the endpoint's health) in one statement, and the free slots claimed in the next,
  in one transaction: under load, one round of bookkeeping serves many deliveries.
- 2xx within the time limit is success. `410 Gone` disables the endpoint. Anything else is
  retried after 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h (each ±20 % jitter), about 3
  days in all; when that runs out the delivery fails and the endpoint is disabled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from relasi.db import Database, system_connection
from relasi.resolvers.webhooks import owners
from relasi.resolvers.webhooks.secrets import SecretBox
from relasi.resolvers.webhooks.sender import Outcome, Sender

log = logging.getLogger("relasi.webhooks")

# seconds before each retry: 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h (about 3 days in all)
SCHEDULE = (5, 300, 1_800, 7_200, 18_000, *(36_000,) * 7)
JITTER = 0.2
START_IN_FLIGHT = 4
# An idle drain looks again after each of these pauses (0.63 s in all) before its job ends: a
# fan-out that lands meanwhile finds the job still running and queues none (its dedupe), so
# without a second look its deliveries would wait for the sweep.
LINGER = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32)
# while slots are free, claims are tried this often even if no send finishes
RECLAIM_SECONDS = 0.25

# The endpoint's open deliveries in log order (an index walk that stops at the first few that
# may go): due, no earlier one of the same record still open, and no more than the endpoint's
# concurrency in flight. Rows another process is claiming are skipped. The earlier-one test is
# kept a per-row subquery (OFFSET 0: never pulled up into an anti join), an index probe by
# record: as a join, a table whose statistics predate its backlog (a burst) was planned to scan
# all of the endpoint's open rows for each candidate, 0.5 s a claim at 2,000 open.
_CLAIM = f"""
WITH picked AS (
    SELECT d.workspace_id, d.id FROM webhook_deliveries d
     WHERE d.workspace_id = $4 AND d.endpoint_id = $5 AND d.status IN ('PENDING', 'SENDING')
       AND ((d.status = 'PENDING' AND d.next_attempt_at <= now())
            OR (d.status = 'SENDING' AND d.lease_until < now()))
       AND NOT EXISTS (
           SELECT FROM webhook_deliveries p
            WHERE p.workspace_id = d.workspace_id AND p.endpoint_id = d.endpoint_id
              AND p.record_id = d.record_id AND p.status IN ('PENDING', 'SENDING')
              AND (p.sequence, p.seq) < (d.sequence, d.seq)
           OFFSET 0)
     ORDER BY d.sequence, d.seq
     LIMIT greatest(0, least($2, $1 - (
         SELECT count(*) FROM webhook_deliveries f
          WHERE f.workspace_id = $4 AND f.endpoint_id = $5
            AND f.status = 'SENDING' AND f.lease_until >= now())))
     FOR UPDATE OF d SKIP LOCKED)
UPDATE webhook_deliveries d
   SET status = 'SENDING', lease_until = now() + make_interval(secs => $3)
  FROM picked, webhook_endpoints e
 WHERE d.workspace_id = picked.workspace_id AND d.id = picked.id
   AND e.workspace_id = d.workspace_id AND e.id = d.endpoint_id AND e.enabled
   AND {owners.ACTIVE}
RETURNING d.workspace_id, d.id, d.endpoint_id, d.body, d.attempts,
          e.url, e.secret, e.previous_secret, e.previous_secret_until
"""

# The outcomes of one endpoint's finished sends: an attempt each, each delivery's new status,
# and the endpoint's health once ($10..$14: a success, the failures after the last one, a
# failure, why it is disabled; folded in Python from the outcomes in the order they came).
_SETTLE = """
WITH outcome AS (
    SELECT * FROM unnest($3::uuid[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[],
                         $9::timestamptz[])
        AS o(id, status_code, duration_ms, excerpt, error, status, next_at)),
attempt AS (
    INSERT INTO webhook_attempts (workspace_id, delivery_id, status_code, duration_ms,
                                  response_excerpt, error)
    SELECT $1, o.id, o.status_code, o.duration_ms, o.excerpt, o.error FROM outcome o),
settled AS (
    UPDATE webhook_deliveries d
       SET status = o.status, attempts = d.attempts + 1, lease_until = NULL,
           next_attempt_at = coalesce(o.next_at, d.next_attempt_at),
           delivered_at = CASE WHEN o.status = 'DELIVERED' THEN now() END
      FROM outcome o
     -- still being sent: one dropped meanwhile (owners.drop_open) stays failed
     WHERE d.workspace_id = $1 AND d.id = o.id AND d.status = 'SENDING')
UPDATE webhook_endpoints
   SET last_success_at = CASE WHEN $10 THEN now() ELSE last_success_at END,
       last_failure_at = CASE WHEN $12 THEN now() ELSE last_failure_at END,
       failure_streak = CASE WHEN $10 THEN 0 ELSE failure_streak END + $11,
       enabled = enabled AND $13::text IS NULL,
       disabled_code = coalesce($13, disabled_code),
       disabled_reason = coalesce($14, disabled_reason)
 WHERE workspace_id = $1 AND id = $2
   -- successes alone change nothing worth a write within the same second
   AND NOT ($10 AND NOT $12 AND failure_streak = 0
            AND coalesce(last_success_at > now() - interval '1 second', false))
"""


@dataclass(frozen=True)
class Config:
    box: SecretBox
    allowed_hosts: frozenset[str]
    timeout: float
    retry_scale: float
    endpoint_concurrency: int  # the most sends in flight to one endpoint
    secret_overlap: float = 86_400  # seconds a rotated-out secret still signs

    @property
    def lease(self) -> float:
        """How long a claim holds: past the send's time limit, with room to settle it."""
        return self.timeout * 2 + 5

    @property
    def slow(self) -> float:
        """Seconds after which an answer counts as slow (the window shrinks)."""
        return self.timeout / 4


class Window:
    """How many sends to keep in flight to one endpoint: additive increase, multiplicative
    decrease (as TCP paces a connection)."""

    def __init__(self, config: Config) -> None:
        self.most = config.endpoint_concurrency
        self.slow_ms = config.slow * 1000
        self.size = float(min(START_IN_FLIGHT, self.most))

    @property
    def limit(self) -> int:
        return int(self.size)

    def record(self, outcome: Outcome) -> None:
        if outcome.ok and outcome.duration_ms < self.slow_ms:
            self.size = min(self.most, self.size + 1 / self.size)
        else:
            self.size = max(1.0, self.size / 2)


@contextlib.asynccontextmanager
async def _bookkeeping(db: Database) -> AsyncIterator[asyncpg.Connection]:
    """A system connection whose commits do not wait for the disk: a claim or an outcome lost
    to a crash only means the delivery is sent again (at least once), and sparing the flush
    makes a delivery several times cheaper. Its statements commit one by one (no BEGIN and
    COMMIT round trips); the setting lasts until the pool's reset (RESET ALL) on release."""
    async with system_connection(db, durable=False) as conn:
        yield conn


async def step(
    db: Database,
    config: Config,
    workspace_id: UUID,
    endpoint_id: UUID,
    finished: list[tuple[asyncpg.Record, Outcome]],
    limit: int,
) -> list[asyncpg.Record]:
    """Settle `finished` (in the order they finished), then claim up to `limit` of the
    endpoint's deliveries that may be sent now, marked SENDING."""
    if not finished and limit <= 0:
        return []
    async with _bookkeeping(db) as conn:
        disabling = False
        if finished:
            disabling = await _settle(conn, config, workspace_id, endpoint_id, finished)
        if limit <= 0 or disabling:
            return []
        return await conn.fetch(
            _CLAIM, config.endpoint_concurrency, limit, config.lease, workspace_id, endpoint_id
        )


async def drain(
    db: Database,
    config: Config,
    workspace_id: UUID,
    endpoint_id: UUID,
    stopping: asyncio.Event | None = None,
) -> int:
    """Send the endpoint's deliveries that may be sent, paced by its window, until none is
    left that may be sent now (retries due later are swept up when due); how many. Once
    `stopping` is set, nothing more is claimed: the sends in flight finish and are settled,
    and it returns (what is left waits in the table for the next worker's sweep)."""
    stopping = stopping or asyncio.Event()
    window = Window(config)
    finished: list[tuple[asyncpg.Record, Outcome]] = []
    in_flight: dict[asyncio.Task[Outcome], asyncpg.Record] = {}
    sent = idle = 0
    async with Sender(config) as sender:
        try:
            while True:
                try:
                    claimed = await step(
                        db,
                        config,
                        workspace_id,
                        endpoint_id,
                        finished,
                        0 if stopping.is_set() else window.limit - len(in_flight),
                    )
                except asyncpg.ForeignKeyViolationError:
                    return sent  # the endpoint was deleted meanwhile (with its deliveries)
                sent += len(finished)
                finished = []
                for row in claimed:
                    in_flight[asyncio.create_task(sender.post(row))] = row
                if not in_flight:
                    if idle == len(LINGER) or stopping.is_set():
                        return sent
                    await asyncio.sleep(LINGER[idle])
                    idle += 1
                    continue
                idle = 0
                free = window.limit > len(in_flight) and not stopping.is_set()
                done, _ = await asyncio.wait(
                    in_flight,
                    timeout=RECLAIM_SECONDS if free else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in done:
                    row = in_flight.pop(task)
                    if task.exception() is not None:  # its lease runs out: it is sent again
                        log.error("webhooks: a delivery failed", exc_info=task.exception())
                        continue
                    window.record(task.result())
                    finished.append((row, task.result()))
        finally:
            # stopped: sends still in flight are claimed again once their leases run out
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)


async def due_endpoints(db: Database) -> list[asyncpg.Record]:
    """(workspace_id, endpoint_id) of enabled endpoints with deliveries that may be tried now
    (due retries, replays, leases of killed workers run out)."""
    async with system_connection(db) as conn:
        return await conn.fetch(
            """SELECT DISTINCT d.workspace_id, d.endpoint_id FROM webhook_deliveries d
                 JOIN webhook_endpoints e
                   ON e.workspace_id = d.workspace_id AND e.id = d.endpoint_id AND e.enabled
                WHERE (d.status = 'PENDING' AND d.next_attempt_at <= now())
                   OR (d.status = 'SENDING' AND d.lease_until < now())"""
        )


def retry_delay(attempts: int, scale: float) -> float | None:
    """Seconds before the next try after `attempts` failed ones (None: no more tries)."""
    if attempts > len(SCHEDULE):
        return None
    return SCHEDULE[attempts - 1] * scale * random.uniform(1 - JITTER, 1 + JITTER)


async def _settle(
    conn: asyncpg.Connection,
    config: Config,
    workspace_id: UUID,
    endpoint_id: UUID,
    finished: list[tuple[asyncpg.Record, Outcome]],
) -> bool:
    """Record `finished`; whether one of them disabled the endpoint."""
    columns: list[list] = [[] for _ in range(7)]
    succeeded, failed, streak = False, False, 0
    code = reason = None
    for delivery, out in finished:
        attempts = delivery["attempts"] + 1
        next_at = None
        if out.ok:
            status, succeeded, streak = "DELIVERED", True, 0
        else:
            failed, streak = True, streak + 1
            delay = retry_delay(attempts, config.retry_scale)
            if out.status_code == 410:
                status = "FAILED"
                code, reason = code or "GONE", reason or "The receiver answered 410 Gone."
            elif delay is None:
                status = "FAILED"
                code = code or "RETRIES_EXHAUSTED"
                reason = reason or (
                    f"A delivery failed {attempts} times over the whole retry schedule (last: "
                    f"{out.error or f'HTTP {out.status_code}'})."
                )
            else:
                status, next_at = "PENDING", datetime.now(UTC) + timedelta(seconds=delay)
        for column, value in zip(
            columns,
            (
                delivery["id"],
                out.status_code,
                out.duration_ms,
                _storable(out.excerpt),
                _storable(out.error),
                status,
                next_at,
            ),
            strict=True,
        ):
            column.append(value)
    await conn.execute(
        _SETTLE, workspace_id, endpoint_id, *columns, succeeded, streak, failed, code, reason
    )
    if code is not None:
        log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
    return code is not None


def _storable(text: str | None) -> str | None:
    """Text PostgreSQL can hold (no NUL), as received otherwise."""
    return None if text is None else text.replace("\x00", "\ufffd")
