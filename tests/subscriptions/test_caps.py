"""Subscription caps: per socket and per key (all its sockets in this process), configurable,
refused with RATE_LIMITED in both protocols while what is open keeps running."""

import pytest

from relasi.auth.api_keys import create_api_key
from relasi.server import create_app
from relasi.settings import Settings
from tests.subscriptions.conftest import Live
from tests.subscriptions.wsclient import wait_until

CASES = "subscription { caseUpdated { id } }"


@pytest.fixture(scope="module")
async def capped_app(database):
    settings = Settings(subscriptions_per_socket=2, subscriptions_per_key=3, rate_limit=0)
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        yield app


async def _refused(sock, op: str) -> str:
    errors = await sock.errors(op)
    assert [e["extensions"]["code"] for e in errors] == ["RATE_LIMITED"], errors
    return errors[0]["message"]


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_caps_per_socket_and_per_key(capped_app, api, database, protocol):
    live = Live(capped_app, api)
    async with database.pool.acquire() as conn:
        _, other_key = await create_api_key(conn, api.workspace_id, "other", ["cases:read"])
    async with live.sockets(api.key, api.key, other_key, protocol=protocol) as (a, b, other):
        first, second = await a.subscribe(CASES), await a.subscribe(CASES)
        assert "socket" in await _refused(a, await a.subscribe(CASES))
        third = await b.subscribe(CASES)  # the key's third, on its second socket
        assert "key" in await _refused(b, await b.subscribe(CASES))
        # another key has its own count
        assert (await other.subscribe(CASES)) and (await other.subscribe(CASES))
        await live.listening(5)
        # the open ones still deliver
        created = await api.mutate(
            'mutation { createCase(input: {subject: "Help"}) { case { id } userErrors { code } } }'
        )
        case = {"caseUpdated": {"id": created["case"]["id"]}}
        on_a = [await a.receive(), await a.receive()]  # in either order
        assert sorted(m["id"] for m in on_a) == sorted([first, second])
        assert all(m["payload"] == {"data": case} for m in on_a), on_a
        assert await b.data(third) == case
        # completing one frees its place for the key
        await a.stop(first)
        if protocol == "graphql-ws":
            assert (await a.receive())["type"] == "complete"
        await wait_until(lambda: live.app.state.notifier.subscriber_count() == 4)
        fourth = await b.subscribe(CASES)
        await live.listening(5)
        await api.mutate(
            'mutation { createCase(input: {subject: "More"}) { case { id } userErrors { code } } }'
        )
        on_b = [await b.receive(), await b.receive()]
        assert sorted(m["id"] for m in on_b) == sorted([third, fourth]), on_b


async def test_a_socket_cap_above_strawberrys_own_default_of_100(api, database):
    app = create_app(Settings(subscriptions_per_socket=101, rate_limit=0), database=database)
    async with app.router.lifespan_context(app):
        live = Live(app, api)
        async with live.sockets(api.key) as (sock,):
            for _ in range(101):
                await sock.subscribe(CASES)
            await live.listening(101)
            assert "socket" in await _refused(sock, await sock.subscribe(CASES))
