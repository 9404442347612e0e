"""A WebSocket's connection_init spends the same failed-authentication budget per client
address as HTTP requests do: keys cannot be guessed over sockets without limit."""

import contextlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from httpx_ws import WebSocketDisconnect
from httpx_ws.transport import ASGIWebSocketTransport

from relasi.server import create_app
from relasi.settings import Settings
from tests.subscriptions.wsclient import LEGACY_WS, PROTOCOLS, TRANSPORT_WS, connect

URL = "http://relasi.test/graphql"
ME = "{ me { workspaceId } }"
RETRY = re.compile(r"retry in ([1-9]|10) s\.$")


@contextlib.asynccontextmanager
async def client_at(app, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP and WebSocket to `app` from `address`."""
    async with (
        ASGIWebSocketTransport(app=app, client=(address, 4711)) as transport,
        httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as client,
    ):
        yield client


async def refusal(
    client: httpx.AsyncClient, protocol: str, key: str | None
) -> tuple[int, dict, str]:
    """How a connection_init with `key` (None: no Authorization) is refused: the close code,
    the connection_error's payload (graphql-ws; {} on graphql-transport-ws), the close reason."""
    async with connect(URL, client, protocol) as sock:
        payload = {} if key is None else {"Authorization": f"Bearer {key}"}
        await sock.send({"type": "connection_init", "payload": payload})
        error: dict = {}
        if protocol == LEGACY_WS:
            message = await sock.receive()
            assert message["type"] == "connection_error", message
            error = message["payload"]
        with pytest.raises(WebSocketDisconnect) as closed:
            await sock.receive()
    return closed.value.code, error, closed.value.reason


async def acknowledged(client: httpx.AsyncClient, protocol: str, key: str) -> bool:
    async with connect(URL, client, protocol) as sock:
        return (await sock.init(key))["type"] == "connection_ack"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_websocket_authentication_failures_share_the_addresses_budget(
    api, database, protocol
):
    # one failure refills every 10 s: the test cannot outlast the refusal
    app = create_app(
        Settings(rate_limit=0, auth_failure_limit=0.1, auth_failure_burst=3), database=database
    )
    refused = 4403 if protocol == TRANSPORT_WS else 1011
    # one client at a time: the in-process transport cannot be nested
    async with client_at(app, "203.0.113.7") as guesser:
        # forgetting the key is no guess
        for _ in range(4):
            code, error, _ = await refusal(guesser, protocol, None)
            assert code == refused
        if protocol == LEGACY_WS:
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
        # two wrong keys over sockets and one over HTTP spend the burst of three
        for key in ("rls_x_1", "not-even-a-jwt"):
            assert (await refusal(guesser, protocol, key))[0] == refused
        wrong = await guesser.post(
            "/graphql", json={"query": ME}, headers={"Authorization": "Bearer rls_x_2"}
        )
        assert wrong.status_code == 401
        # the next connection_init is refused before its key is looked at, even a valid one
        for key in ("rls_x_3", api.key):
            code, error, reason = await refusal(guesser, protocol, key)
            assert code == 4429
            assert reason.startswith("RATE_LIMITED: Too many failed authentications")
            assert RETRY.search(reason), reason
            if protocol == LEGACY_WS:
                assert error["extensions"]["code"] == "RATE_LIMITED"
                assert RETRY.search(error["message"]), error
        # and HTTP from that address is refused as well
        limited = await guesser.post(
            "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {api.key}"}
        )
        assert limited.status_code == 429
        assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # another address is not affected
    async with client_at(app, "198.51.100.2") as other:
        assert await acknowledged(other, protocol, api.key)
        assert (await refusal(other, protocol, "rls_x_4"))[0] == refused
