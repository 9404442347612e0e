"""The context every resolver reads as `info.context`: per HTTP request, or per WebSocket."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket

from relasi.auth.principal import Principal
from relasi.db import Database
from relasi.resolvers.session import Session

# A socket's Context lives as long as the socket and is shared by all its subscriptions, which
# deliver events concurrently; each event needs its own Session (fresh loaders, a connection
# only while it is being resolved). A ContextVar keeps that Session per asyncio task: a
# subscription's async generator runs in the task that sends its events, so the Session it
# sets before yielding an event is the one that event's nested fields resolve with.
_current_session: ContextVar[Session | None] = ContextVar("relasi_session", default=None)


# How a compiled subscription event reaches its socket: set by the WebSocket protocol
# (`ws_protocols.py`) for the operation it starts, so the subscription's task finds it; it writes
# the operation's message around the event's `data` (PostgreSQL's JSON text), with no GraphQL
# execution per event and subscriber.
LiveSend = Callable[[str], Awaitable[None]]
live_send: ContextVar[LiveSend | None] = ContextVar("relasi_live_send", default=None)


async def release_session() -> None:
    """Close the current event's Session once the event is resolved, before it is written to
    the socket: a slow client then never holds a pool connection while its send waits."""
    session = _current_session.get()
    if session is not None:
        _current_session.set(None)
        await session.close()


@dataclass
class Context:
    request: Request | WebSocket
    response: Any
    db: Database
    max_page_size: int
    principal: Principal | None = None  # a socket's is set when its connection_init is accepted
    request_session: Session | None = None  # HTTP: the request's one Session
    connection_params: dict[str, Any] | None = None  # a socket's connection_init payload
    statement_timeouts: tuple[float, float] = (0, 0)  # seconds: queries, bulk mutations
    read_path: str = "resolvers"  # "compiled": queries the compiler covers run as one statement
    # which path answered: "compiled" (one statement), "mixed" (one statement and the
    # resolvers, per root field) or "resolvers"
    answered_path: str = "resolvers"
    # answered compiled in full: (document text, operation name, parsed document)
    compiled: tuple[str, str | None, Any] | None = None

    @property
    def session(self) -> Session | None:
        """The Session resolvers use: the event's on a socket, else the request's."""
        return _current_session.get() or self.request_session

    @property
    def request_id(self) -> str | None:
        session = self.session
        return session.request_id if session is not None else None

    def new_session(self) -> Session:
        assert self.principal is not None
        timeout, bulk_timeout = self.statement_timeouts
        return Session(
            self.db,
            self.principal,
            max_page_size=self.max_page_size,
            statement_timeout=timeout,
            bulk_statement_timeout=bulk_timeout,
        )

    @contextlib.asynccontextmanager
    async def scoped_session(self) -> AsyncIterator[Session]:
        """A Session for one event (or one check) of a subscription, closed when it ends."""
        session = self.new_session()
        _current_session.set(session)
        try:
            yield session
        finally:
            # set, not reset(token): a generator may be closed from another task's context
            _current_session.set(None)
            await session.close()
