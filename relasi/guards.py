"""HTTP-level protections in front of GraphQL: body size, CSRF-safe content types, rate limits,
requests in flight.

- Bodies over the limit are refused with 413 before they are read whole (a declared
  Content-Length is checked up front, a streamed body as it arrives).
- A browser can send a cross-site POST without a preflight only as text/plain, form or
  multipart; GraphQL POSTs must be `application/json`, so those are refused with 415 and a
  page of another origin can never make a logged-in browser run a mutation.
- Each caller (API key or member) has a token bucket: `rate` requests a second on average,
  `burst` at once. Past it: 429 with Retry-After. Buckets live in the process: with several
  server processes each allows the full rate.
- Each caller may have `limit` requests running at once, so one key cannot hold every pooled
  connection while other workspaces wait. One more waits up to `wait` seconds for a slot,
  then gets a 429 (the client retries; the pool stays free for others).
- Failed authentications (HTTP requests and WebSocket connection_inits) are counted per client
  address in a token bucket too: past the burst that address is answered 429 (a socket: closed
  with 4429) without looking at its token, so guessing keys costs no database work.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relasi.errors import ErrorCode, ServiceUnavailable

SIMPLE_CONTENT_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")


def error_response(
    status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code.value}}]},
        status_code=status,
        headers=headers,
    )


# what a 503 asks clients to wait before they retry
RETRY_AFTER_SECONDS = 5


def unavailable_response(error: ServiceUnavailable) -> JSONResponse:
    """503 with the error's code and request id, and when to retry."""
    return JSONResponse(
        {"errors": [{"message": error.message, "extensions": error.extensions}]},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def is_unavailable(body: dict[str, Any]) -> bool:
    """A GraphQL response whose errors include SERVICE_UNAVAILABLE (it is answered with 503)."""
    return any(
        (e.get("extensions") or {}).get("code") == ErrorCode.SERVICE_UNAVAILABLE.value
        for e in body.get("errors") or []
    )


class _TooLarge(Exception):
    pass


class RequestGuard:
    """ASGI middleware for /graphql POSTs: body size and content type."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, path: str = "/graphql") -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        # the two headers read here, not a dict of all of them: this runs on every request
        content_type, declared = "", None
        for name, value in scope["headers"]:
            name = name.lower()
            if name == b"content-type":
                content_type = value.decode("latin-1").split(";")[0].strip().lower()
            elif name == b"content-length":
                declared = value.decode("latin-1")
        if content_type != "application/json":
            refusal = (
                "Cross-site form posts cannot run GraphQL"
                if content_type in SIMPLE_CONTENT_TYPES
                else "Unsupported content type"
            )
            await error_response(
                415,
                ErrorCode.BAD_USER_INPUT,
                f"{refusal}: POST /graphql takes Content-Type: application/json.",
            )(scope, receive, send)
            return
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(
            413,
            ErrorCode.BAD_USER_INPUT,
            f"The request body is larger than {self.max_body_bytes} bytes.",
        )(scope, receive, send)


class RateLimiter:
    """Token buckets per caller, in this process; the least recently seen are forgotten
    past `max_callers` (a forgotten caller starts again with a full bucket)."""

    def __init__(self, rate: float, burst: int, max_callers: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_callers = max_callers
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def wait(self, caller: Hashable, now: float | None = None) -> float:
        """The seconds until `caller` has a token again (0: it has one), spending none."""
        if not self.enabled or caller not in self._buckets:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets[caller]
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, caller: Hashable, now: float | None = None) -> float:
        """Spend one token; returns 0 if allowed, else the seconds until one is available."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(caller, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[caller] = (tokens, now)
        if len(self._buckets) > self.max_callers:
            self._buckets.popitem(last=False)
        return wait


class Busy(Exception):
    """The caller already has its limit of requests in flight, and none ended in time."""


class InFlightLimiter:
    """At most `limit` requests per caller at once (0: no limit); one more waits up to `wait`
    seconds for a slot, else `Busy`. Callers with nothing in flight take no memory."""

    def __init__(self, limit: int, wait: float) -> None:
        self.limit = limit
        self.wait = wait
        self._slots: dict[Hashable, asyncio.Semaphore] = {}
        self._users: dict[Hashable, int] = {}  # requests holding or awaiting a slot

    def busy(self, caller: Hashable) -> bool:
        """Would `caller` wait for a slot now?"""
        semaphore = self._slots.get(caller)
        return self.limit > 0 and semaphore is not None and semaphore.locked()

    @contextlib.asynccontextmanager
    async def slot(self, caller: Hashable) -> AsyncIterator[None]:
        if self.limit <= 0:
            yield
            return
        semaphore = self._slots.setdefault(caller, asyncio.Semaphore(self.limit))
        self._users[caller] = self._users.get(caller, 0) + 1
        try:
            if not semaphore.locked():
                await semaphore.acquire()  # free: returns at once
            elif self.wait <= 0:
                raise Busy
            else:
                try:  # a deadline on this task, not a task of its own (`wait_for`'s)
                    async with asyncio.timeout(self.wait):
                        await semaphore.acquire()
                except TimeoutError:
                    raise Busy from None
            try:
                yield
            finally:
                semaphore.release()
        finally:
            self._users[caller] -= 1
            if not self._users[caller]:
                del self._users[caller], self._slots[caller]


AUTH_FAILURES = "Too many failed authentications from your address"


def rate_limited_message(wait: float, reason: str = "Too many requests") -> tuple[str, int]:
    """The message of a refusal for `wait` seconds, and those seconds (whole, at least 1)."""
    seconds = max(1, math.ceil(wait))
    return f"{reason}; retry in {seconds} s.", seconds


def rate_limited(wait: float, reason: str = "Too many requests") -> JSONResponse:
    message, seconds = rate_limited_message(wait, reason)
    return error_response(
        429, ErrorCode.RATE_LIMITED, message, headers={"Retry-After": str(seconds)}
    )


def caller_key(principal: Any) -> Hashable:
    return principal.api_key_id or ("member", principal.member_id)


# the error of a request or socket without a valid bearer token
UNAUTHENTICATED_ERROR = {
    "message": "Send a valid API key or token as 'Authorization: Bearer <key>'.",
    "extensions": {"code": ErrorCode.UNAUTHENTICATED.value},
}


def unauthenticated() -> JSONResponse:
    """401 for a request without a valid bearer token."""
    return JSONResponse(
        {"errors": [UNAUTHENTICATED_ERROR]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="relasi"'},
    )
