"""A real webhook receiver for the tests: Starlette under uvicorn on loopback, in a thread.

Every request to /hooks/<name> is verified with the `standardwebhooks` library against the
secrets registered for <name>; what arrived (verified or not) is kept in order. A route can be
told to answer with a status, to fail the first try of every n-th delivery (its retry then
succeeds: no delivery is pushed down the retry schedule by chance), to stall before
answering, or the whole server stopped and started again on the same port (a receiver that
is down).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.cli.serving import free_port


@dataclass
class Arrival:
    name: str
    headers: dict[str, str]
    body: bytes
    verified_with: list[str]  # which registered secrets verified it
    at: float
    status: int = 0  # what the receiver answered

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Route_:
    secrets: list[str] = field(default_factory=list)
    status: int = 200
    stall: float = 0.0  # seconds to wait before answering
    fail_every: int = 0  # answer 500 to the first try of every n-th delivery (by webhook-id)
    seen: set[str] = field(default_factory=set)  # webhook-ids it was sent
    in_flight: int = 0  # requests being answered now
    max_in_flight: int = 0


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.routes: dict[str, Route_] = {}
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def route(self, name: str, secret: str | None = None, **options: Any) -> Route_:
        route = self.routes.setdefault(name, Route_())
        if secret is not None:
            route.secrets.append(secret)
        for key, value in options.items():
            setattr(route, key, value)
        return route

    def of(self, name: str, verified: bool = True) -> list[Arrival]:
        with self._lock:
            return [
                a for a in self.arrivals if a.name == name and (a.verified_with or not verified)
            ]

    def accepted(self, name: str) -> list[Arrival]:
        """Verified arrivals the receiver answered with 2xx (what it would act on)."""
        return [a for a in self.of(name) if 200 <= a.status < 300]

    async def wait_for(self, name: str, count: int, timeout: float = 60) -> list[Arrival]:
        """The verified arrivals of `name` once there are `count` (distinct webhook-ids)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.accepted(name)
            if len({a.headers["webhook-id"] for a in found}) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"{name}: {len(self.of(name))} of {count} arrived; {self.of(name, False)}"
        )

    async def _hook(self, request: Request) -> PlainTextResponse:
        name = request.path_params["name"]
        body = await request.body()
        headers = dict(request.headers)
        route = self.routes.get(name, Route_(status=404))
        verified = []
        for secret in route.secrets:
            try:
                Webhook(secret).verify(body, headers)
                verified.append(secret)
            except WebhookVerificationError:
                pass
        arrival = Arrival(name, headers, body, verified, time.monotonic())
        with self._lock:
            self.arrivals.append(arrival)
            first_try = headers.get("webhook-id") not in route.seen
            route.seen.add(headers.get("webhook-id", ""))
            count = len(route.seen)
        route.in_flight += 1
        route.max_in_flight = max(route.max_in_flight, route.in_flight)
        try:
            if route.stall:
                await asyncio.sleep(route.stall)
        finally:
            route.in_flight -= 1
        status = route.status
        if route.fail_every and first_try and count % route.fail_every == 0:
            status = 500
        arrival.status = status
        return PlainTextResponse("ok" if status < 300 else "nope " * 2000, status_code=status)

    def start(self) -> None:
        app = Starlette(routes=[Route("/hooks/{name}", self._hook, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "receiver did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)
