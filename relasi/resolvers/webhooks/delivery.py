"""Sending deliveries: claimed when due, signed, posted, and retried with backoff.

- At least once: a delivery is claimed (SENDING, with a lease) before it is sent and settled
  after; a process killed mid-send leaves the lease to run out, and another claims it again.
- Per record, in order: a delivery is not claimed while an earlier one of the same record to
  the same endpoint is still open (pending, retrying or being sent).
- Fair: at most `RELASI_WEBHOOK_ENDPOINT_CONCURRENCY` deliveries of one endpoint are in
  flight, so a slow receiver holds only its own slots.
- 2xx within the time limit is success. `410 Gone` disables the endpoint. Anything else is
  retried after 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h (each ±20 % jitter), about 3
  days in all; when that runs out the delivery fails and the endpoint is disabled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import httpx
from cryptography.exceptions import InvalidTag

from relasi.db import Database, system_connection
from relasi.resolvers.webhooks import safety
from relasi.resolvers.webhooks.secrets import SecretBox, headers

log = logging.getLogger("relasi.webhooks")

# seconds before each retry: 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h (about 3 days in all)
SCHEDULE = (5, 300, 1_800, 7_200, 18_000, *(36_000,) * 7)
JITTER = 0.2
EXCERPT_BYTES = 4_096

# The endpoint's open deliveries in log order (an index walk that stops at the first few that
# may go): due, no earlier one of the same record still open, and no more than the endpoint's
# concurrency in flight. Rows another process is claiming are skipped.
_CLAIM = """
WITH picked AS (
    SELECT d.workspace_id, d.id FROM webhook_deliveries d
     WHERE d.workspace_id = $4 AND d.endpoint_id = $5 AND d.status IN ('PENDING', 'SENDING')
       AND ((d.status = 'PENDING' AND d.next_attempt_at <= now())
            OR (d.status = 'SENDING' AND d.lease_until < now()))
       AND NOT EXISTS (
           SELECT FROM webhook_deliveries p
            WHERE p.workspace_id = d.workspace_id AND p.endpoint_id = d.endpoint_id
              AND p.record_id = d.record_id AND p.status IN ('PENDING', 'SENDING')
              AND (p.sequence, p.seq) < (d.sequence, d.seq))
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
RETURNING d.workspace_id, d.id, d.endpoint_id, d.body, d.attempts,
          e.url, e.secret, e.previous_secret, e.previous_secret_until
"""


@dataclass(frozen=True)
class Config:
    box: SecretBox
    allowed_hosts: frozenset[str]
    timeout: float
    retry_scale: float
    endpoint_concurrency: int
    secret_overlap: float = 86_400  # seconds a rotated-out secret still signs

    @property
    def lease(self) -> float:
        """How long a claim holds: past the send's time limit, with room to settle it."""
        return self.timeout * 2 + 5


@contextlib.asynccontextmanager
async def _bookkeeping(db: Database) -> AsyncIterator[asyncpg.Connection]:
    """A system transaction that does not wait for its commit to reach the disk: a claim or
    an outcome lost to a crash only means the delivery is sent again (at least once), and
    sparing the flush makes a delivery several times cheaper."""
    async with system_connection(db) as conn, conn.transaction():
        await conn.execute("SET LOCAL synchronous_commit TO off")
        yield conn


async def claim(
    db: Database, config: Config, workspace_id: UUID, endpoint_id: UUID, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` of the endpoint's deliveries that may be sent now, marked SENDING."""
    if limit <= 0:
        return []
    async with _bookkeeping(db) as conn:
        return await conn.fetch(
            _CLAIM, config.endpoint_concurrency, limit, config.lease, workspace_id, endpoint_id
        )


async def drain(db: Database, config: Config, workspace_id: UUID, endpoint_id: UUID) -> int:
    """Send the endpoint's deliveries that may be sent, up to its concurrency at a time, until
    none is left that may be sent now (retries due later are swept up when due); how many."""
    sent = 0
    in_flight: set[asyncio.Task] = set()
    # no redirects: a 3xx is an answer (a failed delivery), never a second request
    async with httpx.AsyncClient(follow_redirects=False, timeout=config.timeout) as client:
        try:
            while True:
                free = config.endpoint_concurrency - len(in_flight)
                for claimed in await claim(db, config, workspace_id, endpoint_id, free):
                    in_flight.add(asyncio.create_task(send(db, client, config, claimed)))
                if not in_flight:
                    return sent
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                sent += len(done)
                for task in done:
                    if task.exception() is not None:  # its lease runs out: it is sent again
                        log.error("webhooks: a delivery failed", exc_info=task.exception())
        finally:
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


@dataclass
class Outcome:
    status_code: int | None
    duration_ms: int
    excerpt: str | None
    error: str | None


async def send(
    db: Database, client: httpx.AsyncClient, config: Config, delivery: asyncpg.Record
) -> None:
    """Send one claimed delivery (its claim carries its endpoint's URL and secrets) and
    settle it (attempt, status, endpoint health)."""
    outcome = await _post(client, config, delivery)
    await _settle(db, config, delivery, outcome)


def _keys(config: Config, claimed: asyncpg.Record) -> list[str]:
    keys = [config.box.open(claimed["endpoint_id"], claimed["secret"])]
    until = claimed["previous_secret_until"]
    if claimed["previous_secret"] is not None and until is not None and until > datetime.now(UTC):
        keys.append(config.box.open(claimed["endpoint_id"], claimed["previous_secret"]))
    return keys


async def _post(client: httpx.AsyncClient, config: Config, delivery: asyncpg.Record) -> Outcome:
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        target = await safety.resolve(delivery["url"], config.allowed_hosts)
    except safety.UnsafeUrl as e:
        return Outcome(None, elapsed(), None, f"Refused: {e}")
    try:
        keys = _keys(config, delivery)
    except InvalidTag:
        return Outcome(
            None,
            elapsed(),
            None,
            "The signing secret cannot be opened with this "
            "server's RELASI_WEBHOOK_SECRET_KEY (was the key changed?).",
        )
    url = httpx.URL(target.url)
    extensions = {}
    request_headers = headers(
        "msg_" + delivery["id"].hex, datetime.now(UTC), delivery["body"], keys
    )
    if target.address is not None:  # connect to the checked address, not a fresh lookup
        request_headers["host"] = url.netloc.decode()
        extensions["sni_hostname"] = target.host
        url = url.copy_with(host=target.address)
    try:
        async with asyncio.timeout(config.timeout):
            request = client.build_request(
                "POST",
                url,
                content=delivery["body"].encode(),
                headers=request_headers,
                extensions=extensions,
            )
            response = await client.send(request, stream=True)
            try:
                excerpt = bytearray()
                async for chunk in response.aiter_raw():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES:
                        break
            finally:
                await response.aclose()
    except TimeoutError:
        return Outcome(None, elapsed(), None, f"No answer within {config.timeout:g} s.")
    except httpx.HTTPError as e:
        return Outcome(None, elapsed(), None, f"{type(e).__name__}: {e}"[:500])
    text = bytes(excerpt[:EXCERPT_BYTES]).decode("utf-8", errors="replace")
    return Outcome(response.status_code, elapsed(), text, None)


async def _settle(db: Database, config: Config, delivery: asyncpg.Record, out: Outcome) -> None:
    ok = out.status_code is not None and 200 <= out.status_code < 300
    attempts = delivery["attempts"] + 1
    disable: str | None = None
    if ok:
        status, next_at = "DELIVERED", None
    elif out.status_code == 410:
        status, next_at = "FAILED", None
        disable = "The receiver answered 410 Gone."
    else:
        delay = retry_delay(attempts, config.retry_scale)
        if delay is None:
            status, next_at = "FAILED", None
            disable = (
                f"A delivery failed {attempts} times over the whole retry schedule (last: "
                f"{out.error or f'HTTP {out.status_code}'})."
            )
        else:
            status, next_at = "PENDING", datetime.now(UTC) + timedelta(seconds=delay)
    ws, pk = delivery["workspace_id"], delivery["id"]
    try:
        async with _bookkeeping(db) as conn:
            await conn.execute(
                """INSERT INTO webhook_attempts (workspace_id, delivery_id, status_code,
                       duration_ms, response_excerpt, error) VALUES ($1, $2, $3, $4, $5, $6)""",
                ws,
                pk,
                out.status_code,
                out.duration_ms,
                _storable(out.excerpt),
                _storable(out.error),
            )
            await conn.execute(
                """UPDATE webhook_deliveries
                      SET status = $3, attempts = attempts + 1, lease_until = NULL,
                          next_attempt_at = coalesce($4, next_attempt_at),
                          delivered_at = CASE WHEN $3 = 'DELIVERED' THEN now() END
                    WHERE workspace_id = $1 AND id = $2""",
                ws,
                pk,
                status,
                next_at,
            )
            await conn.execute(
                """UPDATE webhook_endpoints
                      SET last_success_at = CASE WHEN $3 THEN now() ELSE last_success_at END,
                          last_failure_at = CASE WHEN $3 THEN last_failure_at ELSE now() END,
                          failure_streak = CASE WHEN $3 THEN 0 ELSE failure_streak + 1 END,
                          enabled = enabled AND $4::text IS NULL,
                          disabled_reason = coalesce($4, disabled_reason)
                    WHERE workspace_id = $1 AND id = $2
                      -- a success changes nothing worth a write within the same second
                      AND NOT ($3 AND failure_streak = 0 AND coalesce(
                               last_success_at > now() - interval '1 second', false))""",
                ws,
                delivery["endpoint_id"],
                ok,
                disable,
            )
    except asyncpg.ForeignKeyViolationError:
        pass  # the endpoint was deleted while its delivery was in flight
    if disable:
        log.warning("webhook endpoint %s disabled: %s", delivery["endpoint_id"], disable)


def _storable(text: str | None) -> str | None:
    """Text PostgreSQL can hold (no NUL), as received otherwise."""
    return None if text is None else text.replace("\x00", "\ufffd")
