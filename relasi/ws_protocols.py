"""The two WebSocket protocols Relasi speaks (graphql-transport-ws and legacy graphql-ws):
subscriptions only, within the caps per socket and per key, each event's Session released
before its message is written, compiled events sent as PostgreSQL wrote their `data`."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.websockets import WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected as StarletteWebSocketDisconnected
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as Init
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from relasi.errors import ErrorCode
from relasi.schema.context import live_send, release_session
from relasi.ws_server import WRITE_NOW

# a send to a socket the client has left: uvicorn's OSError (as WebSocketDisconnect, which
# strawberry's adapter re-raises as its own), then starlette's "close message has been sent"
GONE = (WebSocketDisconnect, WebSocketDisconnected, StarletteWebSocketDisconnected)


class _ReleaseSessionBeforeSend:
    """An event's message is sent after its fields were resolved: give back its Session's
    connection first (`context.release_session`). A message to a socket the client has left
    is dropped: the socket's reader sees the disconnect and ends its operations, while an
    operation's task failing on its send would log an error for a client that went away."""

    async def send_message(self, message: Any) -> None:
        if message.get("type") in ("next", "data"):
            await release_session()
        with contextlib.suppress(*GONE):
            await super().send_message(message)  # type: ignore[misc]


class _LiveSend:
    """A compiled event's message for one operation: its head and tail are written once, the
    event's `data` goes between them as PostgreSQL wrote it. Sent from the subscription's own
    task (the one strawberry runs the operation in), so it is ordered with the operation's
    other messages; or written by the notifier (`push`) while that task has nothing on its
    way (`Subscriber.idle`). Nothing is sent once the operation is over."""

    def __init__(self, handler: Any, op_id: str, kind: str, is_open: Callable[[], bool]):
        self.websocket = handler.websocket
        self.head = f'{{"id":{json.dumps(op_id)},"type":"{kind}","payload":{{"data":'
        self.is_open = is_open
        extensions = self.websocket.ws.scope.get("extensions") or {}
        self.write_now: Callable[[str], bool] | None = extensions.get(WRITE_NOW)

    async def __call__(self, data: str) -> None:
        if not self.is_open():
            return
        with contextlib.suppress(*GONE):  # as `_ReleaseSessionBeforeSend` drops them
            await self.websocket.ws.send_text(self._message(data))

    def push(self, data: str) -> bool:
        """Write the message now, if the server offers direct writes and the socket takes it
        at once (`relasi/ws_server.py`); False: send it from the task instead."""
        if not self.is_open():
            return True  # over: dropped, as `__call__` drops it
        return self.write_now is not None and self.write_now(self._message(data))

    def _message(self, data: str) -> str:
        return f"{self.head}{data}}}}}"


@contextlib.contextmanager
def _sending_live(send: _LiveSend) -> Iterator[None]:
    """Let the operation task started inside find its sender (`context.live_send`): the
    task copies the context it is created in."""
    token = live_send.set(send)
    try:
        yield
    finally:
        live_send.reset(token)


# graphql-transport-ws's close code for "too many" (its spec uses it for a second
# connection_init); a socket's address over its failed-authentication budget gets it too
TOO_MANY = 4429


class AuthThrottled(Exception):
    """A connection_init from an address over its failed-authentication budget (raised by
    `on_ws_connect` before the token is looked at). Not a `ConnectionRejectionError`: strawberry
    would close with 4403, as for a wrong key."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.error = {"message": message, "extensions": {"code": ErrorCode.RATE_LIMITED.value}}
        # a close frame's reason holds at most 123 bytes: the code and the message fit
        self.reason = f"{ErrorCode.RATE_LIMITED.value}: {message}"[:123]


_ONLY_SUBSCRIPTIONS = {
    "message": "Only subscriptions run over the WebSocket; send queries and mutations with "
    "HTTP POST /graphql.",
    "extensions": {"code": ErrorCode.BAD_USER_INPUT.value},
}


class TransportWSHandler(_ReleaseSessionBeforeSend, BaseGraphQLTransportWSHandler):
    """graphql-transport-ws, refusing queries and mutations (legacy graphql-ws runs only
    subscriptions anyway): those belong on HTTP, where a mutation commits before its answer is
    sent and a query reads one snapshot."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except AuthThrottled as e:  # the protocol's only message here is the close frame
            await self.websocket.close(code=TOO_MANY, reason=e.reason)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        new = self.connection_acknowledged and message["id"] not in self.operations
        if new:
            error = (
                self.view.subscription_caps.refusal(self.context.principal, len(self.operations))
                if _is_subscription(message)
                else _ONLY_SUBSCRIPTIONS
            )
            if error is not None:
                await self.send_message({"id": message["id"], "type": "error", "payload": [error]})
                return
        op_id = message["id"]

        def is_open() -> bool:
            operation = self.operations.get(op_id)
            return operation is not None and not operation.completed

        with _sending_live(_LiveSend(self, op_id, "next", is_open)):
            await super().handle_subscribe(message)
        operation = self.operations.get(message["id"])
        if new and operation is not None and operation.task:
            self.view.subscription_caps.hold(self.context.principal, operation.task)


class LegacyWSHandler(_ReleaseSessionBeforeSend, BaseGraphQLWSHandler):
    async def handle_connection_init(self, message: Init) -> None:
        try:
            await super().handle_connection_init(message)
        except AuthThrottled as e:  # a connection_error, as for any refusal, then the close
            await self.send_message({"type": "connection_error", "payload": e.error})
            await self.websocket.close(code=TOO_MANY, reason=e.reason)

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged:
            if message["id"] in self.tasks:  # a start with a running id replaces it
                await self.cleanup_operation(message["id"])
            error = self.view.subscription_caps.refusal(self.context.principal, len(self.tasks))
            if error is not None:
                await self.send_message({"type": "error", "id": message["id"], "payload": error})
                return
        op_id = message["id"]
        with _sending_live(_LiveSend(self, op_id, "data", lambda: op_id in self.tasks)):
            await super().handle_start(message)
        task = self.tasks.get(message["id"])
        if self.connection_acknowledged and task is not None:
            self.view.subscription_caps.hold(self.context.principal, task)


def _is_subscription(message: SubscribeMessage) -> bool:
    payload = message["payload"]
    operation = operation_type(payload["query"], payload.get("operationName"))
    return operation in (None, OperationType.SUBSCRIPTION)


def operation_type(query: Any, operation_name: str | None) -> OperationType | None:
    """The operation a document selects; None when that is unclear (a syntax error, no such
    operation...), which strawberry then reports in its usual way."""
    if not isinstance(query, str):
        return None
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    return None if operation is None else operation.operation
