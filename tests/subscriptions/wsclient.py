"""A small GraphQL-over-WebSocket client for the tests: both subprotocols, real frames."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
PROTOCOLS = (TRANSPORT_WS, LEGACY_WS)


class Socket:
    def __init__(self, ws: Any, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self.next_id = 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_json(message)

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next protocol message, skipping keep-alives (and answering pings)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            message = await self.ws.receive_json(timeout=remaining)
            if message["type"] == "ka":
                continue
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def init(self, key: str | None = None, **payload: Any) -> dict[str, Any]:
        if key is not None:
            payload["Authorization"] = f"Bearer {key}"
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(self, query: str, **variables: Any) -> str:
        self.next_id += 1
        op_id = str(self.next_id)
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables}
        await self.send({"id": op_id, "type": kind, "payload": payload})
        return op_id

    async def stop(self, op_id: str) -> None:
        await self.send(
            {"id": op_id, "type": "complete" if self.protocol == TRANSPORT_WS else "stop"}
        )

    async def next(self, op_id: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        """The payload ({data, errors?}) of the next result."""
        message = await self.receive(timeout)
        assert message["type"] in ("next", "data"), message
        if op_id is not None:
            assert message["id"] == op_id, message
        return message["payload"]

    async def data(self, op_id: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        """The data of the next result, asserting it has no errors."""
        payload = await self.next(op_id, timeout)
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    async def errors(self, op_id: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The errors that end an operation (an `error` message, or a last result with errors
        followed by `complete`)."""
        message = await self.receive(timeout)
        assert message["id"] == op_id, message
        if message["type"] == "error":
            payload = message["payload"]
            return payload if isinstance(payload, list) else [payload]
        assert message["type"] in ("next", "data") and message["payload"].get("errors"), message
        complete = await self.receive(timeout)
        assert complete == {"id": op_id, "type": "complete"}, complete
        return message["payload"]["errors"]

    async def nothing(self, seconds: float = 0.5) -> None:
        """Assert that no message arrives for `seconds`."""
        try:
            message = await self.receive(seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {message}")


@contextlib.asynccontextmanager
async def connect(
    url: str,
    client: httpx.AsyncClient,
    protocol: str = TRANSPORT_WS,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> AsyncIterator[Socket]:
    async with aconnect_ws(
        url,
        client,
        subprotocols=[protocol],
        headers=dict(headers or {}),
        keepalive_ping_interval_seconds=None,
        **options,
    ) as ws:
        yield Socket(ws, protocol)


@contextlib.asynccontextmanager
async def asgi_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client that speaks HTTP and WebSocket to the app in this process."""
    async with (
        ASGIWebSocketTransport(app=app) as transport,
        httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as c,
    ):
        yield c


async def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.01)
