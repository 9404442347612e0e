"""A WebSocket authenticates its connection_init with a staff JWT as it does with an API key."""

import jwt
import pytest
from httpx_ws import WebSocketDisconnect

from tests.auth.conftest import claims, invite, jwt_secret
from tests.subscriptions.wsclient import TRANSPORT_WS, asgi_client, connect

URL = "http://relasi.test/graphql"


async def test_a_members_jwt_opens_a_socket_and_a_bad_one_is_refused(app, api):
    await invite(api, "rina@relasi.co.id", "SUPPORT")
    secret = await jwt_secret(api)
    good = jwt.encode(claims(api.workspace_id, "rina@relasi.co.id"), secret, algorithm="HS256")
    async with asgi_client(app) as client, connect(URL, client, TRANSPORT_WS) as sock:
        assert (await sock.init(good))["type"] == "connection_ack"
    expired = jwt.encode(
        claims(api.workspace_id, "rina@relasi.co.id", exp=1), secret, algorithm="HS256"
    )
    async with asgi_client(app) as client, connect(URL, client, TRANSPORT_WS) as sock:
        await sock.send(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {expired}"}}
        )
        with pytest.raises(WebSocketDisconnect) as closed:
            await sock.receive()
    assert closed.value.code == 4403
