"""Live events for subscriptions, read from the change log: one LISTEN connection per process,
fanned out in memory.

Each numbered commit of the log announces itself with NOTIFY (`{workspace, sequence}`, sent by
`dbschema/0011_change_announcements.sql`), so every process that serves subscriptions hears
every write, whichever process made it, with no extra service and no write path calling us.
For the workspaces it has subscribers in, this process reads the events after the last
sequence it saw (one statement for a whole batch of notifications, on the LISTEN connection
itself: no pool wait between a commit and its subscribers), maps their types to topics and
reads the rows the subscriptions filter on (`relasi/change_reader.py`), and offers each event
to each matching subscriber's bounded queue (`relasi/subscriber.py`). Subscribers that share
a compiled selection (`Payloads`) get their payloads from one statement per batch, which the
notifier writes into each socket itself where the socket takes it at once (`_pushed`).

Dispatch never awaits a subscriber: one that falls a whole queue behind is ended instead of
slowing the writer, the notifier or the other subscribers. A lost LISTEN connection loses
nothing: once listening again, the notifier reads on from each workspace's last sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Hashable
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth import key_cache, still_valid
from relasi.auth.principal import Principal
from relasi.change_reader import Row, read_batch, read_head, read_rows
from relasi.db import Database, init_connection, system_connection, use_system
from relasi.errors import AppError, ErrorCode, Unauthenticated
from relasi.resolvers.events import ACCESS, CHANGES, CHANNEL, JWT_SECRET
from relasi.subscriber import Event, Match, Payloads, Subscriber

log = logging.getLogger("relasi.notifier")

CATCH_UP = (
    "Resubscribe, then catch up with `timeline(after: <cursor of the last event you saw>)` "
    "on the contact or account."
)

APPLICATION = "relasi notifier"  # how the LISTEN connection shows in pg_stat_activity
HEALTH_INTERVAL = 10.0  # a silent LISTEN connection is probed this often (a dead peer is silent)
HEALTH_TIMEOUT = 5.0
BACKOFF_MIN, BACKOFF_MAX = 0.2, 30.0
READ_ATTEMPTS = 5  # failed reads of the log in a row before the subscribers are told


# Writes into sockets before the fan-out lets the process's other tasks run (each is a system
# call of some 20 µs; 500 subscribers at once would hold a request's answer for 10 ms)
PUSHES_AT_A_TIME = 64


class Notifier:
    keys: key_cache.KeyCache | None = None  # the app's cached keys: trusted while listening

    def __init__(self, db: Database, dsn: str, *, queue_size: int = 1000) -> None:
        self.db = db
        self.dsn = dsn
        self.queue_size = queue_size
        self._subscribers: dict[tuple[UUID, str], set[Subscriber]] = {}
        self._watched: dict[UUID, int] = {}  # workspace -> its subscriber count
        self._last: dict[UUID, int] = {}  # workspace -> the last sequence read
        self._dirty: set[UUID] = set()  # workspaces with commits to read
        self._wake = asyncio.Event()
        self._listening = asyncio.Event()
        # the LISTEN connection reads the log too (as relasi_system): a burst costs no pool
        # wait and no reset, only its two reads; one statement at a time on it
        self._reader: asyncpg.Connection | None = None
        self._reading = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self.pushed = 0  # compiled events written into their sockets by the fan-out itself

    # -- subscribers ---------------------------------------------------------------------

    async def subscribe(
        self,
        workspace_id: UUID,
        topics: frozenset[str],
        match: Match,
        *,
        principal: Principal | None = None,
        payloads: Payloads | None = None,
        push: Callable[[str], bool] | None = None,
    ) -> Subscriber:
        """A subscriber for the events committed from now on, on behalf of `principal`;
        `push` writes a compiled payload to its socket at once, when it can (`Subscriber`)."""
        if not self.listening:  # events now would reach it late, after a catch-up
            raise AppError(
                "Live events are unavailable right now; subscribe again in a few seconds.",
                code=ErrorCode.INTERNAL_SERVER_ERROR,
            )
        subscriber = Subscriber(
            workspace_id, topics, match, self.queue_size, principal, payloads, push
        )
        for topic in topics:
            self._subscribers.setdefault((workspace_id, topic), set()).add(subscriber)
        self._watched[workspace_id] = self._watched.get(workspace_id, 0) + 1
        if workspace_id in self._last:
            return subscriber
        try:  # the first subscriber of its workspace: read on from the log's end
            async with system_connection(self.db) as conn:
                head = await read_head(conn, workspace_id)
        except BaseException:
            self.unsubscribe(subscriber)
            raise
        if workspace_id in self._watched:
            self._last.setdefault(workspace_id, head)
            self._mark(workspace_id)  # what committed while the head was read
        return subscriber

    def _revoked(self, workspace_id: UUID, caller: UUID) -> None:
        """A key was revoked or a member removed (in any process): end its subscriptions now,
        rather than at their next event's validity check."""
        still_valid.forget(caller)
        key_cache.forget(caller)
        self._end_callers(workspace_id, lambda s: s.caller == caller)

    def _jwt_secret_replaced(self, workspace_id: UUID) -> None:
        """The workspace's HS256 secret was replaced (in any process): end the subscriptions
        of its HS256 staff sockets, whose tokens no longer verify."""
        still_valid.forget(workspace_id)
        self._end_callers(workspace_id, lambda s: s.hs256)

    def _end_callers(self, workspace_id: UUID, whose: Callable[[Subscriber], bool]) -> None:
        for subscriber in {s for s in self._of_workspace(workspace_id) if whose(s)}:
            self.unsubscribe(subscriber)
            subscriber.end(Unauthenticated(still_valid.NO_LONGER_VALID))

    def unsubscribe(self, subscriber: Subscriber) -> None:
        found_any = False
        for topic in subscriber.topics:
            key = (subscriber.workspace_id, topic)
            found = self._subscribers.get(key)
            if found is not None and subscriber in found:
                found_any = True
                found.discard(subscriber)
                if not found:
                    del self._subscribers[key]
        if not found_any:
            return
        workspace_id = subscriber.workspace_id
        self._watched[workspace_id] -= 1
        if not self._watched[workspace_id]:  # nobody left: read nothing more for it
            del self._watched[workspace_id]
            self._last.pop(workspace_id, None)
            self._dirty.discard(workspace_id)

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
                log.warning("%s connection failed: %r", CHANGES, e)
            if self._listening.is_set():
                self._listening.clear()
                delay = BACKOFF_MIN
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _listen_once(self) -> None:
        """Listen on one new connection until it is lost."""
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": APPLICATION})
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await init_connection(conn)  # rows as the pool's connections decode them
            await use_system(conn)
            await conn.add_listener(CHANGES, self._on_change)
            await conn.add_listener(CHANNEL, self._on_access)
            self._reader = conn
            self._listening.set()
            if self.keys is not None:
                self.keys.listening(True)
            # what committed while nobody listened: read on from each last sequence
            for workspace_id in self._last:
                self._mark(workspace_id)
            log.info("listening on %s and %s", CHANGES, CHANNEL)
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), HEALTH_INTERVAL)
                if not lost.is_set():
                    await asyncio.wait_for(self._probe(conn), HEALTH_TIMEOUT)
            log.warning("lost the %s connection", CHANGES)
        finally:
            self._reader = None
            if self.keys is not None:
                self.keys.listening(False)
            try:
                await asyncio.wait_for(conn.close(), HEALTH_TIMEOUT)
            except Exception:
                conn.terminate()

    async def _probe(self, conn: asyncpg.Connection) -> None:
        async with self._reading:
            await conn.execute("SELECT 1")

    def _on_change(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            workspace_id, sequence = UUID(data["w"]), int(data["s"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed notification %r", payload)
            return
        if sequence > self._last.get(workspace_id, sequence):
            self._mark(workspace_id)

    def _on_access(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        # record changes come from the log (`_on_change`)
        try:
            data = json.loads(payload)
            workspace_id, kind = UUID(data["w"]), data["t"]
            caller = UUID(data["id"]) if kind == ACCESS else None
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed notification %r", payload)
            return
        if caller is not None:
            self._revoked(workspace_id, caller)
        elif kind == JWT_SECRET:
            self._jwt_secret_replaced(workspace_id)

    def _mark(self, workspace_id: UUID) -> None:
        self._dirty.add(workspace_id)
        self._wake.set()

    # -- reading and dispatch ------------------------------------------------------------

    async def _work(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            # without a LISTEN connection, wait for the next one: it reads on from here
            await self._listening.wait()
            self._wake.clear()
            after = {w: self._last[w] for w in self._dirty if w in self._last}
            self._dirty.clear()
            if not after:
                continue
            try:
                await self._read_and_dispatch(after)
                failures = 0
            except Exception:
                failures += 1
                log.exception("could not read the change log (attempt %d)", failures)
                if failures < READ_ATTEMPTS:
                    for workspace_id in after:
                        if workspace_id in self._last:
                            self._mark(workspace_id)  # read again, after a pause
                    await asyncio.sleep(min(BACKOFF_MIN * 2**failures, BACKOFF_MAX))
                    continue
                failures = 0
                for workspace_id in after:
                    for subscriber in self._of_workspace(workspace_id):
                        self._drop(subscriber, f"Live events could not be read. {CATCH_UP}")

    async def _read_and_dispatch(self, after: dict[UUID, int]) -> None:
        conn = self._reader
        if conn is None:  # lost meanwhile: read again once listening (`_listen_once`)
            raise ConnectionError(f"no {CHANGES} connection")
        async with self._reading:
            batch = await read_batch(conn, after, lambda w, t: (w, t) in self._subscribers)
            rows = await read_rows(conn, batch.notes)
        for workspace_id, sequence in batch.last.items():
            if workspace_id in self._last and sequence > self._last[workspace_id]:
                self._last[workspace_id] = sequence
        for workspace_id in batch.more:
            self._mark(workspace_id)
        await self._dispatch([(note[1], rows[note]) for note in batch.notes if note in rows])

    async def _dispatch(self, events: list[tuple[str, Row]]) -> None:
        """Offer each event to its matching subscribers, in order; those with a compiled
        selection get theirs once one statement per selection has built them."""
        compiled: dict[Subscriber, list[tuple[str, Row]]] = {}
        for topic, row in events:
            for subscriber in list(self._subscribers.get((row["workspace_id"], topic), ())):
                try:
                    wanted = subscriber.match(topic, row)
                except Exception:
                    log.exception("subscription filter failed")
                    self._drop(
                        subscriber, "Internal server error.", ErrorCode.INTERNAL_SERVER_ERROR
                    )
                    continue
                if not wanted:
                    continue
                if subscriber.payloads is not None:
                    compiled.setdefault(subscriber, []).append((topic, row))
                else:
                    self._offer(subscriber, Event(topic, row, None))
        if not compiled:
            return
        groups: dict[Hashable, tuple[Payloads, dict[UUID, Row]]] = {}
        for subscriber, matched in compiled.items():
            payloads = subscriber.payloads
            assert payloads is not None
            _, wanted_rows = groups.setdefault(
                (subscriber.workspace_id, payloads.key), (payloads, {})
            )
            for _, row in matched:
                wanted_rows[row["id"]] = row
        built: dict[Hashable, dict[UUID, str]] = {}
        for key, (payloads, wanted_rows) in groups.items():
            try:
                built[key] = await payloads.build(self.db, list(wanted_rows.values()))
            except Exception:  # the resolvers build them instead, and report any error
                log.exception("could not build %d compiled payloads", len(wanted_rows))
                built[key] = {}
        for subscriber, matched in compiled.items():
            assert subscriber.payloads is not None
            texts = built[(subscriber.workspace_id, subscriber.payloads.key)]
            for topic, row in matched:
                if subscriber.error is None:
                    text = texts.get(row["id"])
                    if text is not None and _pushed(subscriber, text):
                        self.pushed += 1
                        if not self.pushed % PUSHES_AT_A_TIME:
                            await asyncio.sleep(0)  # let requests in between
                    else:
                        self._offer(subscriber, Event(topic, row, text))

    def _offer(self, subscriber: Subscriber, event: Event) -> None:
        if not subscriber.offer(event):
            self._drop(
                subscriber,
                f"This subscription fell {self.queue_size} events behind and was ended. "
                + CATCH_UP,
                ErrorCode.RATE_LIMITED,
            )

    def _of_workspace(self, workspace_id: UUID) -> set[Subscriber]:
        return {
            s for (w, _), group in self._subscribers.items() if w == workspace_id for s in group
        }

    def _drop(
        self,
        subscriber: Subscriber,
        message: str,
        code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR,
    ) -> None:
        self.unsubscribe(subscriber)
        subscriber.end(AppError(message, code=code))


def _pushed(subscriber: Subscriber, text: str) -> bool:
    """Write a compiled event into its socket now, without waking the subscription's task
    (`relasi/ws_server.py`): only when nothing of the subscription's is on its way, and its
    caller is known to be still valid (else the task checks, and ends it if not)."""
    if not (
        subscriber.push is not None
        and subscriber.idle()
        and subscriber.principal is not None
        and still_valid.known_valid(subscriber.principal) is True
    ):
        return False
    try:
        return subscriber.push(text)
    except Exception:  # one socket's failure must not stop the fan-out to the others
        log.exception("could not write an event into its socket; sending it the usual way")
        return False
