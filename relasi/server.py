"""The Starlette app: GraphQL over HTTP at /graphql (GraphiQL in a browser), subscriptions over
a WebSocket at the same path, /healthz, /readyz.

Each HTTP request reads its body, then gets a Session (one pooled connection, fresh
DataLoaders) whose first round trip authenticates its bearer token (an API key or a staff JWT)
and points the connection at the caller (an API key looked up moments ago is remembered,
`auth/key_cache.py`: no look-up, and no round trip at all on a connection already set up for
that caller); a mutation commits before the response is sent. A client that disconnects
first has its request cancelled (asyncpg then cancels the running statement in PostgreSQL). A WebSocket authenticates once, in its connection_init; its
subscriptions take a Session per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from cross_web import HTTPException  # what strawberry's views raise
from graphql import GraphQLError, OperationType
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.types.execution import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from relasi import dbschema
from relasi.auth.api_keys import bearer_token
from relasi.auth.authenticate import authenticate
from relasi.auth.jwt import JwtVerifier
from relasi.auth.key_cache import KeyCache
from relasi.compiler import READ_PATHS, encode_response
from relasi.db import Database
from relasi.disconnects import unless_disconnected
from relasi.errors import AppError, ErrorCode, ServiceUnavailable
from relasi.guards import (
    AUTH_FAILURES,
    RETRY_AFTER_SECONDS,
    UNAUTHENTICATED_ERROR,
    Busy,
    InFlightLimiter,
    RateLimiter,
    RequestGuard,
    caller_key,
    error_response,
    is_unavailable,
    rate_limited,
    rate_limited_message,
    unauthenticated,
    unavailable_response,
)
from relasi.health import healthz, readyz
from relasi.jobs.worker import Worker
from relasi.notifier import Notifier
from relasi.read_paths import (
    GRAPHQL_RESPONSE_JSON,
    READ_PATH_HEADER,
    Shortcut,
    asked_read_path,
    bad_read_path,
)
from relasi.resolvers.session import LookUp, Session
from relasi.schema import build_schema
from relasi.schema.context import Context
from relasi.schema.limits import Limits
from relasi.settings import Settings
from relasi.subscription_caps import SubscriptionCaps
from relasi.ws_protocols import (
    AuthThrottled,
    LegacyWSHandler,
    TransportWSHandler,
    operation_type,
)

log = logging.getLogger("relasi")


class RelasiGraphQL(GraphQL):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        limits = Limits(
            depth=settings.max_query_depth,
            aliases=settings.max_query_aliases,
            cost=settings.max_query_cost,
            tokens=settings.max_query_tokens,
            page_size=settings.max_page_size,
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
            max_subscriptions_per_connection=None,  # SubscriptionCaps, with an error code
            **kwargs,
        )
        self.settings = settings
        self.limits = limits
        self.shortcut = Shortcut(self.schema, limits)  # documents answered compiled, again
        self.jwt = JwtVerifier(settings)  # per app, not per request: it caches the JWKS
        self.keys = KeyCache(settings.key_cache_seconds)  # trusted while the notifier listens
        self.rate_limiter = RateLimiter(settings.rate_limit, settings.rate_limit_burst)
        self.subscription_caps = SubscriptionCaps(
            settings.subscriptions_per_socket, settings.subscriptions_per_key
        )
        self.auth_failures = RateLimiter(settings.auth_failure_limit, settings.auth_failure_burst)
        self.in_flight = InFlightLimiter(settings.max_requests_in_flight, settings.in_flight_wait)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.run(WebSocket(scope, receive=receive, send=send))
            return
        request = Request(scope, receive=receive)
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            await super().__call__(scope, receive, send)  # the IDE page itself needs no key
            return
        try:
            response = await self._respond(request)
        except ClientDisconnect:  # gone while sending its body: ordinary traffic
            log.debug("client disconnected before its request was read")
            return
        if response is not None:
            await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response | None:
        """The response to an HTTP request; None when the client went away first."""
        address = _address(request)
        blocked = self.auth_failures.wait(address)
        if blocked:
            return rate_limited(blocked, AUTH_FAILURES)
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return self._refused(request, address)
        session = self._new_session(request.app.state.db)
        try:
            # the whole body before a connection is taken: a slow upload holds none (and then
            # `receive` only says disconnect)
            await request.body()
            return await self._respond_as_caller(request, session, token, address)
        except asyncio.CancelledError:
            # not a disconnect (`unless_disconnected` answers those): the server stopping
            return self._stopped(session)
        finally:  # unless the request's answer committed or rolled it back
            if not session.closed:  # (a shield is a task: not one per request for nothing)
                await asyncio.shield(session.close(commit=False))

    async def _respond_as_caller(
        self, request: Request, session: Session, token: str, address: str | None
    ) -> Response | None:
        # a key looked up moments ago: its connection is pointed at it on first use, with no
        # round trip when that connection already carries its settings (`Session._connection`)
        principal = session.principal = self.keys.principal(token)
        if principal is None:
            try:
                principal = await session.authenticate(self._look_up(token))
            except ServiceUnavailable as e:
                return unavailable_response(e)
        if principal is None:
            return self._refused(request, address)
        read_path = asked_read_path(request, self.settings.read_path)
        if read_path not in READ_PATHS:
            return error_response(400, ErrorCode.BAD_USER_INPUT, bad_read_path().message)
        caller = caller_key(principal)
        wait = self.rate_limiter.take(caller)
        if wait:
            return rate_limited(wait)
        if self.in_flight.busy(caller):
            await session.park()  # waiting requests hold no connection
        context = self._context(request, session)
        context.read_path = read_path
        try:
            async with self.in_flight.slot(caller):
                return await unless_disconnected(request, self._execute(request, context))
        except Busy:
            return rate_limited(
                1, f"More than {self.in_flight.limit} requests of this caller in flight"
            )

    def _stopped(self, session: Session) -> Response:
        """A request still running when the shutdown's grace period is over (`relasi serve`'s
        `shutdown_timeout`): uvicorn cancels it, and would answer a bare 500. It gets a 503
        the client can act on instead, once its transaction is rolled back (`_respond`)."""
        task = asyncio.current_task()
        assert task is not None
        task.uncancel()  # answered: the cancellation ends here
        log.warning("request %s: stopped unfinished by the server's shutdown", session.request_id)
        return unavailable_response(
            ServiceUnavailable(
                "The server is shutting down and stopped this request before it finished; "
                f"retry it (request id {session.request_id}).",
                request_id=session.request_id,
            )
        )

    def _refused(self, request: Request, address: str | None) -> Response:
        self._failed(bool(request.headers.get("authorization")), address)
        return unauthenticated()

    def _failed(self, token_sent: bool, address: str | None) -> None:
        """A refused token spends one of its address's failures; a forgotten one none."""
        if token_sent:
            self.auth_failures.take(address)

    async def _execute(self, request: Request, context: Context) -> Response:
        """Run the operation, then commit (or roll back) before answering: a commit that
        fails turns the answer into an error, so no client believes it was written."""
        session = context.request_session
        try:
            response = await self.shortcut.answer(request, context)
            if response is None:
                response = await self.run(request, context=context)
                self.shortcut.learn(context)
            # which path answered: for clients and tests comparing the two
            response.headers[READ_PATH_HEADER] = context.answered_path
        except HTTPException as e:  # malformed requests: no JSON, GET mutations, batches
            response = error_response(e.status_code, ErrorCode.BAD_USER_INPUT, e.reason)
        except BaseException:  # cancelled (the client went away) or unexpected
            await asyncio.shield(session.close(commit=False))
            raise
        try:
            await session.close()
        except ServiceUnavailable as e:
            return unavailable_response(e)
        except AppError as e:  # TIMEOUT: a mutation document ran out of time, nothing written
            log.info("request %s: %s", session.request_id, e.message)
            return error_response(504, e.code, f"{e.message} Nothing of it was written.")
        return response

    async def execute_single(self, *, request_data: GraphQLRequestData, **kwargs: Any) -> Any:
        """Strawberry accepts subscriptions over plain HTTP POST and runs them as queries;
        point the client to the WebSocket instead."""
        query = request_data.query
        if (  # the substring test spares parsing every other request twice
            "subscription" in (query or "")
            and operation_type(query, request_data.operation_name) is OperationType.SUBSCRIPTION
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

    def _look_up(self, token: str) -> LookUp:
        return lambda conn, settings: authenticate(conn, token, self.jwt, settings, self.keys)

    def _new_session(self, db: Database) -> Session:
        timeout, bulk_timeout = self._statement_timeouts
        return Session(
            db,
            max_page_size=self.settings.max_page_size,
            statement_timeout=timeout,
            bulk_statement_timeout=bulk_timeout,
        )

    def _context(self, request: Request, session: Session) -> Context:
        return Context(
            request=request,
            response=None,
            db=session.db,
            max_page_size=self.settings.max_page_size,
            principal=session.principal,
            statement_timeouts=self._statement_timeouts,
            request_session=session,
        )

    @property
    def _statement_timeouts(self) -> tuple[float, float]:
        return self.settings.statement_timeout, self.settings.bulk_statement_timeout

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        """A WebSocket's context (HTTP requests bring theirs): no principal until its
        connection_init is accepted, and no Session of its own."""
        return Context(
            request=request,
            response=response,
            db=request.app.state.db,
            max_page_size=self.settings.max_page_size,
            statement_timeouts=self._statement_timeouts,
            read_path=asked_read_path(request, self.settings.read_path),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """The key comes in the connection_init payload ({"Authorization": "Bearer <key>"}),
        or else in the upgrade request's Authorization header."""
        if context.read_path not in READ_PATHS:
            raise ConnectionRejectionError(_error(bad_read_path()))
        # the HTTP requests' budget of failed authentications per address, spent here too
        address = _address(context.request)
        blocked = self.auth_failures.wait(address)
        if blocked:
            raise AuthThrottled(rate_limited_message(blocked, AUTH_FAILURES)[0])
        params = context.connection_params or {}
        header = next((v for k, v in params.items() if k.lower() == "authorization"), None)
        if header is None:
            header = context.request.headers.get("authorization")
        token = bearer_token(header if isinstance(header, str) else None)
        principal = None
        if token is not None:
            session = self._new_session(context.db)
            try:
                principal = await session.authenticate(self._look_up(token))
            except ServiceUnavailable as e:
                raise ConnectionRejectionError(_error(e)) from e
            finally:  # the socket's events take Sessions of their own
                await session.close(commit=False)
        if principal is None:
            self._failed(bool(header), address)
            raise ConnectionRejectionError(UNAUTHENTICATED_ERROR)
        context.principal = principal
        return UNSET  # a plain connection_ack

    async def get_sub_response(self, request: Request) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.accept = request.headers.get("accept", "")  # read by create_response
        return sub_response

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        """GraphQL over HTTP: a request error (nothing executed) has no `data` entry at all,
        whichever media type is asked for."""
        body = await super().process_result(request, result)
        if isinstance(body, dict) and _is_request_error(body):
            body.pop("data", None)
        return body

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
        if isinstance(response_data, dict) and is_unavailable(response_data):
            response.status_code = 503  # the database, not the request: retry later
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def _address(request: Request | WebSocket) -> str | None:
    """The client's address, as uvicorn sees it (behind a proxy: the one it forwards)."""
    return request.client.host if request.client else None


def _error(error: AppError) -> dict[str, Any]:
    return {"message": error.message, "extensions": error.extensions}


def _is_request_error(body: dict[str, Any]) -> bool:
    """Parse, validation or variable errors: nothing executed, so no error has a path."""
    errors = body.get("errors") or []
    return body.get("data") is None and bool(errors) and all("path" not in e for e in errors)


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
) -> Starlette:
    """The ASGI app. Without `database`, the lifespan opens one from settings (starting or
    joining the embedded PostgreSQL when no DATABASE_URL is set, and leaving it at shutdown)
    and applies pending migrations. `relasi serve` uses it as each worker's app factory."""
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
            notifier = Notifier(db, db.dsn, queue_size=settings.subscription_queue_size)
            notifier.keys = graphql.keys  # revocations it hears end cached keys
            await notifier.start()
            app.state.notifier = notifier
            # background jobs: segment refresh, change log retention, ... (relasi/jobs/)
            worker = Worker(db, settings) if settings.jobs_in_server else None
            if worker is not None:
                await worker.start()
            try:
                yield
            finally:
                if worker is not None:
                    await worker.stop()
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
    app.state.settings = settings
    if database is not None:
        app.state.db = database  # usable without running the lifespan (tests)
    return app
