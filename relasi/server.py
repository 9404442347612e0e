"""The Starlette app: GraphQL over HTTP at /graphql (GraphiQL in a browser), /healthz, /readyz.

Each request authenticates its API key, gets a Session (one pooled connection, one
transaction, fresh DataLoaders), and commits before the response is sent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from cross_web import HTTPException  # what strawberry's views raise
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from relasi import dbschema
from relasi.auth.api_keys import authenticate, bearer_token
from relasi.db import Database
from relasi.errors import ErrorCode
from relasi.resolvers.session import Session
from relasi.schema import build_schema
from relasi.schema.context import Context
from relasi.settings import Settings

log = logging.getLogger("relasi")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


class RelasiGraphQL(GraphQL):
    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            build_schema(production=not settings.graphiql),
            graphql_ide="graphiql" if settings.graphiql else None,
            **kwargs,
        )
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # subscriptions arrive with the timelines issue; until then refuse the handshake
            await self.reject_websocket(WebSocket(scope, receive=receive, send=send))
            return
        request = Request(scope, receive=receive)
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            await super().__call__(scope, receive, send)  # the IDE page itself needs no key
            return
        context = await self.authenticated_context(request)
        if context is None:
            response: Response = _unauthenticated()
        else:
            try:
                response = await self.run(request, context=context)
            except HTTPException as e:
                response = PlainTextResponse(e.reason, status_code=e.status_code)
            finally:
                await context.session.close()
        await response(scope, receive, send)

    async def authenticated_context(self, request: Request) -> Context | None:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return None
        db: Database = request.app.state.db
        async with db.pool.acquire() as conn:
            principal = await authenticate(conn, token)
        if principal is None:
            return None
        session = Session(db, principal, max_page_size=self.settings.max_page_size)
        return Context(request=request, response=None, session=session)

    async def get_sub_response(self, request: Request) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.accept = request.headers.get("accept", "")  # read by create_response
        return sub_response

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        if GRAPHQL_RESPONSE_JSON in getattr(sub_response, "accept", ""):
            # GraphQL over HTTP: with this media type a request error (no data) is a 400
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if isinstance(response_data, dict) and _is_request_error(response_data):
                response.status_code = 400
        return response


def _is_request_error(body: dict[str, Any]) -> bool:
    """Parse, validation or variable errors: nothing executed, so no error has a path."""
    errors = body.get("errors") or []
    return body.get("data") is None and bool(errors) and all("path" not in e for e in errors)


def _unauthenticated() -> JSONResponse:
    return JSONResponse(
        {
            "errors": [
                {
                    "message": "Send a valid API key as 'Authorization: Bearer <key>'.",
                    "extensions": {"code": ErrorCode.UNAUTHENTICATED.value},
                }
            ]
        },
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
            yield
        finally:
            if owned:
                await db.close()

    graphql = RelasiGraphQL(settings)
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    if database is not None:
        app.state.db = database  # usable without running the lifespan (tests)
    return app
