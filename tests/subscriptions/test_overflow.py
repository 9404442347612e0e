"""A subscriber that stops reading is ended with RATE_LIMITED; the others keep receiving.

This needs a real TCP socket (the in-process transport buffers without limit, so nobody is
ever slow there): the app runs under uvicorn on 127.0.0.1, with a queue of 4 events.
"""

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from relasi.server import create_app
from relasi.settings import Settings
from tests.subscriptions import writes
from tests.subscriptions.wsclient import connect, wait_until

QUEUE_SIZE = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(app) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free loopback port, in this event loop."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started or task.done(), timeout=30)
        assert server.started
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def tcp_app(database):
    return create_app(Settings(subscription_queue_size=QUEUE_SIZE), database=database)


async def test_a_slow_subscriber_is_ended_and_the_others_keep_receiving(tcp_app, api):
    contact = await writes.contact(api, "Sari")
    # 100 touches of 14 KB each: every event of the slow subscription carries them 4 times
    blob = {"blob": secrets.token_hex(7000)}
    touch = {"contactId": contact, "channel": "WEB", "kind": "PAGE_VIEW", "properties": blob}
    await api(
        "mutation($inputs: [TrackInteractionInput!]!) { trackInteractions(inputs: $inputs) "
        "{ results { created } } }",
        inputs=[touch] * 100,
    )
    history = "interactions(first: 100) { nodes { properties } }"
    heavy = f"""subscription($c: ID) {{ interactionAdded(contactId: $c) {{
        id contact {{ a: {history} b: {history} c: {history} d: {history} }} }} }}"""
    light = "subscription($c: ID) { interactionAdded(contactId: $c) { id } }"

    async with (
        serving(tcp_app) as url,
        httpx.AsyncClient(timeout=30) as client,
        # the slow client holds one message and then stops reading from its socket
        connect(url, client, queue_size=1, max_message_size_bytes=2**28) as slow,
        connect(url, client) as fast,
    ):
        for sock in (slow, fast):
            assert (await sock.init(api.key))["type"] == "connection_ack"
        slow_op = await slow.subscribe(heavy, c=contact)
        fast_op = await fast.subscribe(light, c=contact)
        notifier = tcp_app.state.notifier
        await wait_until(lambda: notifier.subscriber_count() == 2)

        written = []
        for _ in range(40):
            written.append(await writes.track(api, contactId=contact))
            received = await fast.data(fast_op)
            assert received == {"interactionAdded": {"id": written[-1]}}
        assert notifier.subscriber_count() == 1  # the slow one was dropped, the fast one stays

        # reading again, the slow client gets what was already on its way, then the error
        delivered = []
        while True:
            message = await slow.receive(timeout=60)
            assert message["id"] == slow_op
            if message["payload"].get("errors"):
                break
            delivered.append(message["payload"]["data"]["interactionAdded"]["id"])
        (error,) = message["payload"]["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert "timeline(after:" in error["message"]
        assert await slow.receive(timeout=10) == {"id": slow_op, "type": "complete"}
        assert 0 < len(delivered) < len(written)
        assert delivered == written[: len(delivered)]  # in order, no gaps before the end
