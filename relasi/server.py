"""The Starlette app: GraphQL over HTTP at /graphql (GraphiQL in a browser), subscriptions over
a WebSocket at the same path, /healthz, /readyz.

Each HTTP request authenticates its bearer token (an API key or a staff JWT), gets a Session
(one pooled connection, one transaction, fresh DataLoaders), and commits before the response is
sent. A WebSocket authenticates once, in its connection_init; its subscriptions take a Session
per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from cross_web import HTTPException  # what strawberry's views raise
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from relasi import dbschema
from relasi.auth.api_keys import bearer_token
from relasi.auth.authenticate import authenticate
from relasi.auth.jwt import JwtVerifier
from relasi.auth.principal import Principal
from relasi.compiler import READ_PATHS, encode_response
from relasi.db import Database
from relasi.errors import ErrorCode
from relasi.guards import RateLimiter, RequestGuard, caller_key, error_response, rate_limited
from relasi.notifier import Notifier
from relasi.resolvers.segments import scheduler as segment_scheduler
from relasi.resolvers.session import Session
from relasi.schema import build_schema
from relasi.schema.context import Context, release_session
from relasi.schema.limits import Limits
from relasi.settings import Settings

log = logging.getLogger("relasi")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
READ_PATH_HEADER = "x-relasi-read-path"  # "compiled" or "resolvers": overrides the setting


class _ReleaseSessionBeforeSend:
    """An event's message is sent after its fields were resolved: give back its Session's
    connection first (`context.release_session`)."""

    async def send_message(self, message: Any) -> None:
        if message.get("type") in ("next", "data"):
            await release_session()
        await super().send_message(message)  # type: ignore[misc]


class TransportWSHandler(_ReleaseSessionBeforeSend, BaseGraphQLTransportWSHandler):
    """graphql-transport-ws, refusing queries and mutations (legacy graphql-ws runs only
    subscriptions anyway): those belong on HTTP, where a mutation commits before its answer is
    sent and a query reads one snapshot."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and not _is_subscription(message):
            error = {
                "message": "Only subscriptions run over the WebSocket; send queries and "
                "mutations with HTTP POST /graphql.",
                "extensions": {"code": ErrorCode.BAD_USER_INPUT.value},
            }
            await self.send_message({"id": message["id"], "type": "error", "payload": [error]})
            return
        await super().handle_subscribe(message)


class LegacyWSHandler(_ReleaseSessionBeforeSend, BaseGraphQLWSHandler):
    pass


def _is_subscription(message: SubscribeMessage) -> bool:
    payload = message["payload"]
    operation = _operation_type(payload["query"], payload.get("operationName"))
    return operation in (None, OperationType.SUBSCRIPTION)


def _operation_type(query: Any, operation_name: str | None) -> OperationType | None:
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


class RelasiGraphQL(GraphQL):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        limits = Limits(
            depth=settings.max_query_depth,
            aliases=settings.max_query_aliases,
            cost=settings.max_query_cost,
            tokens=settings.max_query_tokens,
        )
        super().__init__(
            build_schema(
                production=settings.production,
                introspection=settings.introspection_enabled,
                limits=limits,
            ),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            # graphql-ws clients expect `ka` messages; graphql-transport-ws clients send
            # pings, which strawberry always answers
            keep_alive=True,
            keep_alive_interval=settings.ws_keep_alive_interval,
            **kwargs,
        )
        self.settings = settings
        self.jwt = JwtVerifier(settings)  # per app, not per request: it caches the JWKS
        self.rate_limiter = RateLimiter(settings.rate_limit, settings.rate_limit_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.run(WebSocket(scope, receive=receive, send=send))
            return
        request = Request(scope, receive=receive)
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            await super().__call__(scope, receive, send)  # the IDE page itself needs no key
            return
        read_path = request.headers.get(READ_PATH_HEADER, self.settings.read_path)
        context = await self.authenticated_context(request)
        wait = self.rate_limiter.take(caller_key(context.principal)) if context else 0
        if context is None:
            response: Response = _unauthenticated()
        elif read_path not in READ_PATHS:
            await context.request_session.close()
            response = error_response(
                400,
                ErrorCode.BAD_USER_INPUT,
                f"{READ_PATH_HEADER} is one of: {', '.join(READ_PATHS)}.",
            )
        elif wait:
            response = rate_limited(wait)
        else:
            context.read_path = read_path
            try:
                response = await self.run(request, context=context)
                # which path answered: for clients and tests comparing the two
                response.headers[READ_PATH_HEADER] = (
                    "compiled" if context.answered_compiled else "resolvers"
                )
            except HTTPException as e:  # malformed requests: no JSON, GET mutations, batches
                response = error_response(e.status_code, ErrorCode.BAD_USER_INPUT, e.reason)
            finally:
                await context.request_session.close()
        await response(scope, receive, send)

    async def execute_single(self, *, request_data: GraphQLRequestData, **kwargs: Any) -> Any:
        """Strawberry accepts subscriptions over plain HTTP POST and runs them as queries;
        point the client to the WebSocket instead."""
        query = request_data.query
        if (  # the substring test spares parsing every other request twice
            "subscription" in (query or "")
            and _operation_type(query, request_data.operation_name) is OperationType.SUBSCRIPTION
        ):
            return ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        "Subscriptions run over a WebSocket at /graphql (graphql-transport-ws "
                        "or graphql-ws).",
                        extensions={"code": ErrorCode.BAD_USER_INPUT.value},
                    )
                ],
            )
        return await super().execute_single(request_data=request_data, **kwargs)

    async def authenticated_context(self, request: Request) -> Context | None:
        db: Database = request.app.state.db
        principal = await _authenticate(db, self.jwt, request.headers.get("authorization"))
        if principal is None:
            return None
        session = Session(db, principal, max_page_size=self.settings.max_page_size)
        return Context(
            request=request,
            response=None,
            db=db,
            max_page_size=self.settings.max_page_size,
            principal=principal,
            request_session=session,
        )

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        """A WebSocket's context (HTTP requests bring theirs): no principal until its
        connection_init is accepted, and no Session of its own."""
        return Context(
            request=request,
            response=response,
            db=request.app.state.db,
            max_page_size=self.settings.max_page_size,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """The key comes in the connection_init payload ({"Authorization": "Bearer <key>"}),
        or else in the upgrade request's Authorization header."""
        params = context.connection_params or {}
        header = next((v for k, v in params.items() if k.lower() == "authorization"), None)
        if header is None:
            header = context.request.headers.get("authorization")
        principal = await _authenticate(
            context.db, self.jwt, header if isinstance(header, str) else None
        )
        if principal is None:
            raise ConnectionRejectionError(_UNAUTHENTICATED)
        context.principal = principal
        return UNSET  # a plain connection_ack

    async def get_sub_response(self, request: Request) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.accept = request.headers.get("accept", "")  # read by create_response
        return sub_response

    def encode_json(self, data: Any) -> str | bytes:
        # a compiled query's data is PostgreSQL's JSON text: sent as it is
        return encode_response(data) or super().encode_json(data)

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        if GRAPHQL_RESPONSE_JSON in getattr(sub_response, "accept", ""):
            # GraphQL over HTTP: with this media type a request error (no data) is a 400
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if isinstance(response_data, dict) and _is_request_error(response_data):
                response.status_code = 400
        return response


async def _authenticate(
    db: Database, verifier: JwtVerifier, authorization: str | None
) -> Principal | None:
    token = bearer_token(authorization)
    if token is None:
        return None
    async with db.pool.acquire() as conn:
        return await authenticate(conn, token, verifier)


def _is_request_error(body: dict[str, Any]) -> bool:
    """Parse, validation or variable errors: nothing executed, so no error has a path."""
    errors = body.get("errors") or []
    return body.get("data") is None and bool(errors) and all("path" not in e for e in errors)


_UNAUTHENTICATED = {
    "message": "Send a valid API key or token as 'Authorization: Bearer <key>'.",
    "extensions": {"code": ErrorCode.UNAUTHENTICATED.value},
}


def _unauthenticated() -> JSONResponse:
    return JSONResponse(
        {"errors": [_UNAUTHENTICATED]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="relasi"'},
    )


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    try:
        async with request.app.state.db.pool.acquire() as conn:
            pending = await dbschema.pending_migrations(conn)
    except Exception as e:  # any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable", "error": type(e).__name__}, status_code=503)
    if pending:
        return JSONResponse({"status": "migrating", "pending": pending}, status_code=503)
    return JSONResponse({"status": "ready"})


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    on_ready: Callable[[Database], Any] | None = None,
) -> Starlette:
    """The ASGI app. Without `database`, the lifespan opens one from settings (starting the
    embedded PostgreSQL when no DATABASE_URL is set) and applies pending migrations."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = database is None
        db = database or await Database.from_settings(settings)
        app.state.db = db
        try:
            async with db.pool.acquire() as conn:
                applied = await dbschema.migrate(conn)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
            if on_ready is not None:
                await on_ready(db)
            notifier = Notifier(db, db.dsn, queue_size=settings.subscription_queue_size)
            await notifier.start()
            app.state.notifier = notifier
            # segments: the scheduled refresh of time-based rules (resolvers/segments/scheduler.py)
            segment_refresh = asyncio.create_task(
                segment_scheduler.run(
                    db, settings.segment_refresh_interval, settings.segment_reconcile_interval
                ),
                name="relasi-segment-refresh",
            )
            try:
                yield
            finally:
                segment_refresh.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await segment_refresh
                await notifier.stop()
        finally:
            if owned:
                await db.close()

    graphql = RelasiGraphQL(settings)
    middleware = [Middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)]
    if settings.cors_origin_list:
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origin_list,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Accept"],
                max_age=600,
            ),
        )
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    if database is not None:
        app.state.db = database  # usable without running the lifespan (tests)
    return app
