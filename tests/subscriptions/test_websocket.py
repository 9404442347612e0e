"""The WebSocket at /graphql: both subprotocols, authentication, keep-alive, what it refuses."""

import pytest
from httpx_ws import WebSocketDisconnect

from tests.subscriptions import writes
from tests.subscriptions.wsclient import LEGACY_WS, PROTOCOLS, TRANSPORT_WS, wait_until

ADDED = "subscription($c: ID) { interactionAdded(contactId: $c) { id channel } }"


async def _delivers(live, sock) -> None:
    """A subscription on `sock` receives the touch written next."""
    contact = await writes.contact(live.api, "Sari")
    op = await sock.subscribe(ADDED, c=contact)
    await live.listening()
    touch = await writes.track(live.api, contactId=contact, channel="CHAT", kind="MESSAGE")
    assert await sock.data(op) == {"interactionAdded": {"id": touch, "channel": "CHAT"}}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_key_in_connection_init(live, protocol):
    async with live.socket(protocol) as sock:
        assert (await sock.init(live.api.key))["type"] == "connection_ack"
        await _delivers(live, sock)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_key_in_the_upgrade_request_header(live, protocol):
    headers = {"Authorization": f"Bearer {live.api.key}"}
    async with live.socket(protocol, headers=headers) as sock:
        assert (await sock.init())["type"] == "connection_ack"
        await _delivers(live, sock)


@pytest.mark.parametrize("payload", [{}, {"Authorization": "Bearer rls_nope_nope"}])
async def test_wrong_or_missing_key_closes_the_graphql_transport_ws_socket(live, payload):
    async with live.socket(TRANSPORT_WS) as sock:
        await sock.send({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            await sock.receive()
    assert closed.value.code == 4403


async def test_a_wrong_key_in_connection_init_wins_over_a_good_header(live):
    headers = {"Authorization": f"Bearer {live.api.key}"}
    async with live.socket(TRANSPORT_WS, headers=headers) as sock:
        await sock.send({"type": "connection_init", "payload": {"Authorization": "Bearer bad"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            await sock.receive()
    assert closed.value.code == 4403


@pytest.mark.parametrize("payload", [None, {"authorization": "Bearer rls_nope_nope"}])
async def test_wrong_or_missing_key_gets_a_connection_error_on_legacy_graphql_ws(live, payload):
    async with live.socket(LEGACY_WS) as sock:
        await sock.send({"type": "connection_init", "payload": payload})
        error = await sock.receive()
        assert error["type"] == "connection_error"
        assert error["payload"]["extensions"]["code"] == "UNAUTHENTICATED"
        with pytest.raises(WebSocketDisconnect):
            await sock.receive()


async def test_subscribing_before_connection_init_is_refused(live):
    async with live.socket(TRANSPORT_WS) as sock:
        await sock.subscribe(ADDED)
        with pytest.raises(WebSocketDisconnect) as closed:
            await sock.receive()
    assert closed.value.code == 4401


async def test_graphql_transport_ws_answers_pings(live):
    async with live.subscribed(TRANSPORT_WS) as sock:
        await sock.send({"type": "ping"})
        assert await sock.ws.receive_json(timeout=5) == {"type": "pong"}


async def test_legacy_graphql_ws_sends_keep_alives(live):
    # the live app sends one at once, then every RELASI_WS_KEEP_ALIVE_INTERVAL (0.5 s there)
    async with live.subscribed(LEGACY_WS) as sock:
        for _ in range(3):
            assert await sock.ws.receive_json(timeout=5) == {"type": "ka"}


async def test_queries_and_mutations_belong_on_http(live):
    async with live.subscribed(TRANSPORT_WS) as sock:
        op = await sock.subscribe("{ contacts { totalCount } }")
        (error,) = await sock.errors(op)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "HTTP" in error["message"]
        # the socket stays usable
        await _delivers(live, sock)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_invalid_documents_get_bad_user_input(live, protocol):
    async with live.subscribed(protocol) as sock:
        op = await sock.subscribe("subscription { interactionAdded { noSuchField } }")
        errors = await sock.errors(op)
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]


async def test_subscriptions_over_plain_http_point_to_the_websocket(api):
    body = await api.raw("subscription { interactionAdded { id } }")
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "WebSocket" in error["message"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_stopping_or_closing_releases_the_subscription(live, protocol):
    notifier = live.app.state.notifier
    async with live.subscribed(protocol) as sock:
        first = await sock.subscribe(ADDED)
        await sock.subscribe(ADDED)
        await live.listening(2)
        await sock.stop(first)
        await wait_until(lambda: notifier.subscriber_count() == 1)
    await wait_until(lambda: notifier.subscriber_count() == 0)
