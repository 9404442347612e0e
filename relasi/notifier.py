"""Live events for subscriptions: one LISTEN connection per process, fanned out in memory.

Writers announce a committed change with NOTIFY (`resolvers/events.py`), so every process that
serves subscriptions hears every write, whichever process made it, with no extra service. The
payload only names the row; for each notification this process reads the row once (only if it
has subscribers for that workspace and topic) and offers it to each matching subscriber's
bounded queue. Dispatch never awaits a subscriber: one that falls a whole queue behind is ended
instead of slowing the writer, the notifier or the other subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Hashable, Mapping
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth import still_valid
from relasi.db import Database, system_connection
from relasi.errors import AppError, ErrorCode, Unauthenticated
from relasi.resolvers.events import CHANNEL

log = logging.getLogger("relasi.notifier")

Row = Mapping[str, Any]
Match = Callable[[str, Row], bool]

CATCH_UP = (
    "Resubscribe, then catch up with `timeline(after: <cursor of the last event you saw>)` "
    "on the contact or account."
)

# One statement per topic reads every row of a batch of notifications. Timeline rows carry
# what the subscription filters need beyond their own columns: a deal event's pipeline, and
# the contacts on the deal (deal events without a contact are on each of their timelines).
READ_ROWS = {
    "interaction": """
        SELECT t.* FROM unnest($1::uuid[], $2::uuid[]) AS k(workspace_id, id)
        JOIN interactions t ON t.workspace_id = k.workspace_id AND t.id = k.id""",
    "timeline": """
        SELECT t.*, d.pipeline_id AS deal_pipeline_id,
               ARRAY(SELECT dc.contact_id FROM deal_contacts dc
                      WHERE dc.workspace_id = t.workspace_id AND dc.deal_id = t.deal_id)
                   AS deal_contact_ids
          FROM unnest($1::uuid[], $2::uuid[]) AS k(workspace_id, id)
          JOIN timeline_events t ON t.workspace_id = k.workspace_id AND t.id = k.id
          LEFT JOIN deals d ON d.workspace_id = t.workspace_id AND d.id = t.deal_id""",
    # deleted cases too: their deletion is news to a support screen (Case.deletedAt says so)
    "case": """
        SELECT t.* FROM unnest($1::uuid[], $2::uuid[]) AS k(workspace_id, id)
        JOIN cases t ON t.workspace_id = k.workspace_id AND t.id = k.id""",
    "segment": """
        SELECT t.* FROM unnest($1::uuid[], $2::uuid[]) AS k(workspace_id, id)
        JOIN segment_changes t ON t.workspace_id = k.workspace_id AND t.id = k.id""",
}

ACCESS = "access"  # topic of revocations (resolvers/events.announce_revoked)
APPLICATION = "relasi notifier"  # how the LISTEN connection shows in pg_stat_activity
BATCH = 500  # notifications read together when they pile up
HEALTH_INTERVAL = 10.0  # a silent LISTEN connection is probed this often (a dead peer is silent)
HEALTH_TIMEOUT = 5.0
BACKOFF_MIN, BACKOFF_MAX = 0.2, 30.0


class Subscriber:
    """One subscription's inbox: the events it matched, in commit order, or why it ended."""

    def __init__(
        self,
        workspace_id: UUID,
        topics: frozenset[str],
        match: Match,
        size: int,
        caller: UUID | None = None,
    ):
        self.workspace_id = workspace_id
        self.caller = caller  # the API key or member it runs for
        self.topics = topics
        self.match = match
        self.queue: asyncio.Queue[tuple[str, Row] | None] = asyncio.Queue(size)
        self.error: AppError | None = None

    def offer(self, topic: str, row: Row) -> bool:
        """Queue an event without waiting; False when the queue is full."""
        try:
            self.queue.put_nowait((topic, row))
        except asyncio.QueueFull:
            return False
        return True

    def end(self, error: AppError) -> None:
        """End the subscription with `error` at its next read, dropping what is queued."""
        if self.error is None:
            self.error = error
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)  # wakes a reader waiting on an empty queue

    async def next(self) -> tuple[str, Row]:
        while True:
            if self.error is not None:
                raise self.error
            item = await self.queue.get()
            if item is not None and self.error is None:
                return item


class Notifier:
    def __init__(self, db: Database, dsn: str, *, queue_size: int = 1000) -> None:
        self.db = db
        self.dsn = dsn
        self.queue_size = queue_size
        self._subscribers: dict[tuple[UUID, str], set[Subscriber]] = {}
        self._inbox: asyncio.Queue[tuple[UUID, str, UUID]] = asyncio.Queue()
        self._listening = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    # -- subscribers ---------------------------------------------------------------------

    def subscribe(
        self,
        workspace_id: UUID,
        topics: frozenset[str],
        match: Match,
        *,
        caller: UUID | None = None,
    ) -> Subscriber:
        if not self.listening:  # events now would be missed without anyone knowing
            raise AppError(
                "Live events are unavailable right now; subscribe again in a few seconds.",
                code=ErrorCode.INTERNAL_SERVER_ERROR,
            )
        subscriber = Subscriber(workspace_id, topics, match, self.queue_size, caller)
        for topic in topics:
            self._subscribers.setdefault((workspace_id, topic), set()).add(subscriber)
        return subscriber

    def _revoked(self, workspace_id: UUID, caller: UUID) -> None:
        """A key was revoked or a member removed (in any process): end its subscriptions now,
        rather than at their next event's validity check."""
        still_valid.forget(caller)
        ended = {
            s
            for (w, _), group in self._subscribers.items()
            if w == workspace_id
            for s in group
            if s.caller == caller
        }
        for subscriber in ended:
            self.unsubscribe(subscriber)
            subscriber.end(Unauthenticated(still_valid.NO_LONGER_VALID))

    def unsubscribe(self, subscriber: Subscriber) -> None:
        for topic in subscriber.topics:
            key = (subscriber.workspace_id, topic)
            found = self._subscribers.get(key)
            if found is not None:
                found.discard(subscriber)
                if not found:
                    del self._subscribers[key]

    def subscriber_count(self) -> int:
        return len({s for group in self._subscribers.values() for s in group})

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, timeout: float = 30.0) -> None:
        """Start listening; returns once LISTEN is in place, so no later write is missed."""
        self._tasks = [
            asyncio.create_task(self._listen(), name="relasi-notifier-listen"),
            asyncio.create_task(self._work(), name="relasi-notifier-dispatch"),
        ]
        await asyncio.wait_for(self._listening.wait(), timeout)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    # -- the LISTEN connection -----------------------------------------------------------

    async def _listen(self) -> None:
        """Keep a LISTEN connection, reconnecting with backoff whenever it fails."""
        delay = BACKOFF_MIN
        while True:
            try:
                await self._listen_once()
            except Exception as e:  # whatever broke, listen again on a new connection
                log.warning("%s connection failed: %r", CHANNEL, e)
            if self._listening.is_set():
                # what was written while nobody listened is lost: say so instead of a silent gap
                self._listening.clear()
                self._end_all(
                    AppError(
                        f"Live events were interrupted. {CATCH_UP}",
                        code=ErrorCode.INTERNAL_SERVER_ERROR,
                    )
                )
                delay = BACKOFF_MIN
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _listen_once(self) -> None:
        """Listen on one new connection until it is lost."""
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": APPLICATION})
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._on_notify)
            self._listening.set()
            log.info("listening on %s", CHANNEL)
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), HEALTH_INTERVAL)
                if not lost.is_set():
                    await asyncio.wait_for(conn.execute("SELECT 1"), HEALTH_TIMEOUT)
            log.warning("lost the %s connection", CHANNEL)
        finally:
            try:
                await asyncio.wait_for(conn.close(), HEALTH_TIMEOUT)
            except Exception:
                conn.terminate()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            note = (UUID(data["w"]), data["t"], UUID(data["id"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed notification %r", payload)
            return
        if note[1] == ACCESS:
            self._revoked(note[0], note[2])  # at once, ahead of any event committed after it
        elif (note[0], note[1]) in self._subscribers:
            self._inbox.put_nowait(note)

    # -- dispatch ------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            batch = [await self._inbox.get()]
            while len(batch) < BATCH and not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
            wanted = [n for n in batch if (n[0], n[1]) in self._subscribers]
            if not wanted:
                continue
            try:
                rows = await self._read(wanted)
            except Exception:
                log.exception("could not read %d notified rows", len(wanted))
                for key in {(w, t) for w, t, _ in wanted}:
                    for subscriber in list(self._subscribers.get(key, ())):
                        self._drop(subscriber, f"Live events could not be read. {CATCH_UP}")
                continue
            for workspace_id, topic, pk in wanted:
                row = rows.get((topic, workspace_id, pk))
                if row is not None:
                    self._dispatch(workspace_id, topic, row)

    async def _read(self, notes: list[tuple[UUID, str, UUID]]) -> dict[Hashable, Row]:
        by_topic: dict[str, list[tuple[UUID, UUID]]] = {}
        for workspace_id, topic, pk in notes:
            if topic in READ_ROWS:
                by_topic.setdefault(topic, []).append((workspace_id, pk))
        rows: dict[Hashable, Row] = {}
        # one read for the events of every workspace: past row-level security, by exact keys
        async with system_connection(self.db) as conn:
            for topic, keys in by_topic.items():
                found = await conn.fetch(
                    READ_ROWS[topic], [w for w, _ in keys], [pk for _, pk in keys]
                )
                for row in found:
                    rows[(topic, row["workspace_id"], row["id"])] = row
        return rows

    def _dispatch(self, workspace_id: UUID, topic: str, row: Row) -> None:
        for subscriber in list(self._subscribers.get((workspace_id, topic), ())):
            try:
                wanted = subscriber.match(topic, row)
            except Exception:
                log.exception("subscription filter failed")
                self._drop(subscriber, "Internal server error.", ErrorCode.INTERNAL_SERVER_ERROR)
                continue
            if wanted and not subscriber.offer(topic, row):
                self._drop(
                    subscriber,
                    f"This subscription fell {self.queue_size} events behind and was ended. "
                    + CATCH_UP,
                    ErrorCode.RATE_LIMITED,
                )

    def _drop(
        self,
        subscriber: Subscriber,
        message: str,
        code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR,
    ) -> None:
        self.unsubscribe(subscriber)
        subscriber.end(AppError(message, code=code))

    def _end_all(self, error: AppError) -> None:
        everyone = {s for group in self._subscribers.values() for s in group}
        self._subscribers.clear()
        for subscriber in everyone:
            subscriber.end(error)
