"""Posting a claimed delivery: its URL checked, signed, sent over a kept-alive connection.

One `Sender` serves one drain of one endpoint (delivery.py) and keeps its HTTP/1.1 connections
alive, so consecutive deliveries reuse them instead of paying a TCP (and TLS) handshake each.
Each connection is an httpx client of its own (a lane): a send takes an idle lane of its target
or opens one, and gives it back when answered. (One client with many connections costs a scan
of all of them, with a system call or two each, per request: httpcore's pool is built for a
few connections per origin, and a paced endpoint keeps up to its window busy.) Safety
(safety.py) holds as it did per request:

- the URL is checked (its host resolved, every address public) at most `CHECK_SECONDS` before
  each send, and the send connects to the very address that was checked (the host name goes
  in Host and in TLS's SNI);
- lanes are kept per target (scheme, host name, port and that address), so a kept connection
  is only ever reused for the address it was opened to, which was checked, and the host name
  its TLS session was verified for; when the host's address changes (or is no longer allowed),
  sends take other lanes (or are refused) and never the old connection;
- no redirects are followed; only the first `EXCERPT_BYTES` of an answer are read.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import asyncpg
import httpx
from cryptography.exceptions import InvalidTag

from relasi.resolvers.webhooks import safety
from relasi.resolvers.webhooks.secrets import headers

if TYPE_CHECKING:
    from relasi.resolvers.webhooks.delivery import Config

# httpcore asks for `sniffio` (optional, no longer installed with anyio) on every request and
# every lock it makes, and Python does not remember a failed import: each look costs a search
# of sys.path, most of a request's CPU here (encode/httpcore#1103). Where it is not installed,
# the search is made once, as httpcore's fix does.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

EXCERPT_BYTES = 4_096
CHECK_SECONDS = 1.0  # how old a URL's check may be when a send uses it


@dataclass
class Outcome:
    status_code: int | None
    duration_ms: int
    excerpt: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender:
    """Sends deliveries for one drain; `async with` closes its connections."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._checked: dict[str, tuple[float, safety.Target | safety.UnsafeUrl]] = {}
        self._lanes: list[httpx.AsyncClient] = []
        self._idle: dict[tuple, list[httpx.AsyncClient]] = {}  # per target

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        lanes, self._lanes, self._idle = self._lanes, [], {}
        await asyncio.gather(*(lane.aclose() for lane in lanes), return_exceptions=True)

    async def _target(self, url: str) -> safety.Target:
        now = time.monotonic()
        checked = self._checked.get(url)
        if checked is None or now - checked[0] > CHECK_SECONDS:
            try:
                found: safety.Target | safety.UnsafeUrl = await safety.resolve(
                    url, self.config.allowed_hosts
                )
            except safety.UnsafeUrl as e:
                found = e
            if len(self._checked) > 16:
                self._checked.clear()
            checked = self._checked[url] = (now, found)
        if isinstance(checked[1], safety.UnsafeUrl):
            raise checked[1]
        return checked[1]

    def _lane(self, target: tuple) -> httpx.AsyncClient:
        idle = self._idle.setdefault(target, [])
        if idle:
            return idle.pop()  # the last one back: its connection is the likeliest alive
        lane = httpx.AsyncClient(
            follow_redirects=False,  # a 3xx is an answer (a failed delivery), never a 2nd request
            timeout=self.config.timeout,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self._lanes.append(lane)
        return lane

    def _keys(self, claimed: asyncpg.Record) -> list[str]:
        box = self.config.box
        keys = [box.open(claimed["endpoint_id"], claimed["secret"])]
        until = claimed["previous_secret_until"]
        if (
            claimed["previous_secret"] is not None
            and until is not None
            and until > datetime.now(UTC)
        ):
            keys.append(box.open(claimed["endpoint_id"], claimed["previous_secret"]))
        return keys

    async def post(self, delivery: asyncpg.Record) -> Outcome:
        """Send one claimed delivery (its claim carries its endpoint's URL and secrets)."""
        started = time.monotonic()

        def elapsed() -> int:
            return round((time.monotonic() - started) * 1000)

        try:
            target = await self._target(delivery["url"])
        except safety.UnsafeUrl as e:
            return Outcome(None, elapsed(), None, f"Refused: {e}")
        try:
            keys = self._keys(delivery)
        except InvalidTag:
            return Outcome(
                None,
                elapsed(),
                None,
                "The signing secret cannot be opened with this "
                "server's RELASI_WEBHOOK_SECRET_KEY (was the key changed?).",
            )
        url = httpx.URL(target.url)
        lane_key = (url.scheme, target.host, target.port, target.address)
        lane = self._lane(lane_key)
        extensions = {}
        request_headers = headers(
            "msg_" + delivery["id"].hex, datetime.now(UTC), delivery["body"], keys
        )
        if target.address is not None:  # connect to the checked address, not a fresh lookup
            request_headers["host"] = url.netloc.decode()
            extensions["sni_hostname"] = target.host
            url = url.copy_with(host=target.address)
        timeout = self.config.timeout
        try:
            async with asyncio.timeout(timeout):
                request = lane.build_request(
                    "POST",
                    url,
                    content=delivery["body"].encode(),
                    headers=request_headers,
                    extensions=extensions,
                )
                response = await lane.send(request, stream=True)
                try:
                    excerpt = bytearray()
                    async for chunk in response.aiter_raw():
                        excerpt += chunk
                        if len(excerpt) >= EXCERPT_BYTES:
                            break
                finally:
                    await response.aclose()
        except TimeoutError:
            return Outcome(None, elapsed(), None, f"No answer within {timeout:g} s.")
        except httpx.HTTPError as e:
            return Outcome(None, elapsed(), None, f"{type(e).__name__}: {e}"[:500])
        finally:
            self._idle[lane_key].append(lane)
        text = bytes(excerpt[:EXCERPT_BYTES]).decode("utf-8", errors="replace")
        return Outcome(response.status_code, elapsed(), text, None)
