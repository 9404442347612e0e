"""One live subscription's inbox: the bounded queue the notifier offers its events to."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Hashable
from typing import NamedTuple, Protocol
from uuid import UUID

from relasi.auth.principal import Principal
from relasi.change_reader import Row
from relasi.db import Database
from relasi.errors import AppError

Match = Callable[[str, Row], bool]


class Event(NamedTuple):
    topic: str
    row: Row
    payload: str | None  # the compiled selection's JSON text; None: resolve `row`


class Payloads(Protocol):
    """A compiled selection shared by subscribers: `key` is equal for those whose payloads
    are the same statement; `build` writes the payloads of many events in one."""

    key: Hashable

    async def build(self, db: Database, rows: list[Row]) -> dict[UUID, str]: ...


class Subscriber:
    """One subscription's inbox: the events it matched, in commit order, or why it ended.

    With `push` (a compiled subscription on a socket that takes direct writes,
    `ws_protocols._LiveSend.push`), the notifier writes an event's payload itself when nothing
    of the subscription's is on its way (`idle`): then no event can overtake another."""

    def __init__(
        self,
        workspace_id: UUID,
        topics: frozenset[str],
        match: Match,
        size: int,
        principal: Principal | None = None,
        payloads: Payloads | None = None,
        push: Callable[[str], bool] | None = None,
    ):
        self.workspace_id = workspace_id
        self.principal = principal
        self.push = push
        self._taken = False  # the stream is sending the last event it took
        # the API key or member it runs for, and whether with an HS256 token (both end it
        # when revoked or replaced: `notifier.py`)
        self.caller = None if principal is None else principal.api_key_id or principal.member_id
        self.hs256 = principal is not None and principal.jwt_secret_hash is not None
        self.topics = topics
        self.match = match
        self.payloads = payloads
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(size)
        self.error: AppError | None = None

    def offer(self, event: Event) -> bool:
        """Queue an event without waiting; False when the queue is full."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def end(self, error: AppError) -> None:
        """End the subscription with `error` at its next read, dropping what is queued."""
        if self.error is None:
            self.error = error
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)  # wakes a reader waiting on an empty queue

    def idle(self) -> bool:
        """Nothing queued, and the stream done with what it took: an event written now
        comes after all of the earlier ones."""
        return not self._taken and self.queue.empty()

    async def next(self) -> Event:
        """The next event; asking for it says the stream is done with the one before."""
        self._taken = False
        while True:
            if self.error is not None:
                raise self.error
            item = await self.queue.get()
            if item is not None and self.error is None:
                self._taken = True
                return item
