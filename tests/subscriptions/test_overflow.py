"""A subscriber that stops reading is ended with RATE_LIMITED; the others keep receiving.

This needs a real TCP socket (the in-process transport buffers without limit, so nobody is
ever slow there): the app runs under uvicorn on 127.0.0.1, with a queue of 4 events, with
uvicorn's own WebSocket protocol and with the one `relasi serve` runs, whose direct writes
(`relasi/ws_server.py`) the notifier uses while a socket takes them at once and leaves to
the subscription's task (and its queue) once the socket is paused by its slow reader.
"""

import secrets

import httpx
import pytest

from relasi.cli.serve import WEBSOCKET_PROTOCOL
from relasi.server import create_app
from relasi.settings import Settings
from tests.cli.serving import in_loop
from tests.subscriptions import writes
from tests.subscriptions.wsclient import connect, wait_until

QUEUE_SIZE = 4


@pytest.fixture
async def tcp_app(database):
    return create_app(Settings(subscription_queue_size=QUEUE_SIZE), database=database)


@pytest.mark.parametrize("ws", ["auto", WEBSOCKET_PROTOCOL])
async def test_a_slow_subscriber_is_ended_and_the_others_keep_receiving(tcp_app, api, ws):
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
        in_loop(tcp_app, ws=ws, lifespan="on") as base,
        httpx.AsyncClient(timeout=30) as client,
        # the slow client holds one message and then stops reading from its socket
        connect(f"{base}/graphql", client, queue_size=1, max_message_size_bytes=2**28) as slow,
        connect(f"{base}/graphql", client) as fast,
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
        # with relasi serve's protocol the notifier wrote events into the sockets itself
        assert (notifier.pushed > 0) == (ws == WEBSOCKET_PROTOCOL), notifier.pushed

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
