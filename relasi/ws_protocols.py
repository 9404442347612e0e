"""The two WebSocket protocols Relasi speaks (graphql-transport-ws and legacy graphql-ws):
subscriptions only, within the caps per socket and per key, each event's Session released
before its message is written, compiled events sent as PostgreSQL wrote their `data`."""

from __future__ import annotations

import json
from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from relasi.compiler.run import CompiledData
from relasi.errors import ErrorCode
from relasi.schema.context import release_session


class _ReleaseSessionBeforeSend:
    """An event's message is sent after its fields were resolved: give back its Session's
    connection first (`context.release_session`). A compiled event's `data` is JSON text
    already: it goes into the message as it is, not decoded and encoded again."""

    async def send_message(self, message: Any) -> None:
        if message.get("type") in ("next", "data"):
            await release_session()
            data = message["payload"].get("data")
            if isinstance(data, CompiledData):
                try:  # as strawberry's ASGI adapter sends JSON
                    await self.websocket.ws.send_text(_with_data(message, data))  # type: ignore[attr-defined]
                except WebSocketDisconnect as e:
                    raise WebSocketDisconnected from e
                return
        await super().send_message(message)  # type: ignore[misc]


def _with_data(message: dict[str, Any], data: str) -> str:
    head = json.dumps({k: v for k, v in message.items() if k != "payload"})
    rest = {k: v for k, v in message["payload"].items() if k != "data"}
    tail = "," + json.dumps(rest)[1:] if rest else "}"
    return f'{head[:-1]},"payload":{{"data":{data}{tail}}}'


_ONLY_SUBSCRIPTIONS = {
    "message": "Only subscriptions run over the WebSocket; send queries and mutations with "
    "HTTP POST /graphql.",
    "extensions": {"code": ErrorCode.BAD_USER_INPUT.value},
}


class TransportWSHandler(_ReleaseSessionBeforeSend, BaseGraphQLTransportWSHandler):
    """graphql-transport-ws, refusing queries and mutations (legacy graphql-ws runs only
    subscriptions anyway): those belong on HTTP, where a mutation commits before its answer is
    sent and a query reads one snapshot."""

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
        await super().handle_subscribe(message)
        operation = self.operations.get(message["id"])
        if new and operation is not None and operation.task:
            self.view.subscription_caps.hold(self.context.principal, operation.task)


class LegacyWSHandler(_ReleaseSessionBeforeSend, BaseGraphQLWSHandler):
    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged:
            if message["id"] in self.tasks:  # a start with a running id replaces it
                await self.cleanup_operation(message["id"])
            error = self.view.subscription_caps.refusal(self.context.principal, len(self.tasks))
            if error is not None:
                await self.send_message({"type": "error", "id": message["id"], "payload": error})
                return
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
