"""Fixtures for live subscriptions, on the suite's `live_app` (whose notifier listens).

Writes go through the suite's usual `api` fixtures (another app instance on the same database):
events reach subscribers through PostgreSQL, whichever app instance wrote them.
"""

import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.conftest import Api
from tests.subscriptions.wsclient import Socket, asgi_client, connect, wait_until

URL = "http://relasi.test/graphql"


class Live:
    """One workspace's API over HTTP plus WebSockets, against the live app in this process."""

    def __init__(self, app, api: Api) -> None:
        self.app = app
        self.api = api

    @contextlib.asynccontextmanager
    async def socket(
        self, protocol: str = "graphql-transport-ws", **kwargs
    ) -> AsyncIterator[Socket]:
        # a client per socket: its in-process transport runs a task group, which must be
        # entered and left in the test's own task
        async with (
            asgi_client(self.app) as client,
            connect(URL, client, protocol, **kwargs) as sock,
        ):
            yield sock

    @contextlib.asynccontextmanager
    async def subscribed(self, protocol: str = "graphql-transport-ws") -> AsyncIterator[Socket]:
        """A socket past connection_init with this workspace's key."""
        async with self.socket(protocol) as sock:
            ack = await sock.init(self.api.key)
            assert ack["type"] == "connection_ack", ack
            yield sock

    @contextlib.asynccontextmanager
    async def sockets(
        self, *keys: str, protocol: str = "graphql-transport-ws"
    ) -> AsyncIterator[list[Socket]]:
        """One socket per key, all open at once and past connection_init; they share one
        client, as the in-process transport cannot be nested."""
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(asgi_client(self.app))
            found = []
            for key in keys:
                sock = await stack.enter_async_context(connect(URL, client, protocol))
                ack = await sock.init(key)
                assert ack["type"] == "connection_ack", ack
                found.append(sock)
            yield found

    async def listening(self, count: int = 1) -> None:
        """Wait until the server registered `count` subscriptions (its notifier routes events
        to them from then on); a synchronization point, not an assertion."""
        notifier = self.app.state.notifier
        await wait_until(lambda: notifier.subscriber_count() >= count)


@pytest.fixture
async def live(live_app, api) -> Live:
    """Sockets to the live app with the `api` workspace's key (writes go through `api`)."""
    return Live(live_app, api)


@pytest.fixture
async def other_live(live_app, other_api) -> Live:
    return Live(live_app, other_api)
