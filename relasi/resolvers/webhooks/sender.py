"""Posting a claimed delivery: its URL checked, signed, sent over a kept-alive connection.

One `Sender` serves one drain of one endpoint (delivery.py) and keeps its HTTP/1.1 connections
(connection.py) alive, so consecutive deliveries reuse them instead of paying a TCP (and TLS)
handshake each: a send takes an idle connection of its target or opens one, and gives it back
when answered. Safety (safety.py) holds as it did per request:

- the URL is checked (its host resolved, every address public) at most `CHECK_SECONDS` before
  each send, and the send connects to the very address that was checked (the host name goes
  in Host and in TLS's SNI, and the certificate is verified for it);
- connections are kept per target (scheme, host name, port and that address), so a kept one
  is only ever reused for the address it was opened to, which was checked, and the host name
  its TLS session was verified for; when the host's address changes (or is no longer allowed),
  sends take other connections (or are refused) and never the old one;
- no redirects are followed (a 3xx is an answer); only the first `EXCERPT_BYTES` of an answer
  are kept.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import asyncpg
import certifi
from cryptography.exceptions import InvalidTag

from relasi.resolvers.webhooks import safety
from relasi.resolvers.webhooks.connection import Connection, ProtocolError
from relasi.resolvers.webhooks.secrets import headers

if TYPE_CHECKING:
    from relasi.resolvers.webhooks.delivery import Config

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


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS settings of every send (made once: loading the CA bundle takes tens of ms)."""
    return ssl.create_default_context(cafile=certifi.where())


# what a send that failed without an answer says (its type and message, as the attempt's error)
_FAILURES = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ProtocolError)


class Sender:
    """Sends deliveries for one drain; `async with` closes its connections."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._checked: dict[str, tuple[float, safety.Target | safety.UnsafeUrl]] = {}
        self._idle: dict[tuple, list[Connection]] = {}  # per target
        self._open: set[Connection] = set()

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        opened, self._open, self._idle = self._open, set(), {}
        for connection in opened:
            connection.close()

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

    async def _connection(self, key: tuple, target: safety.Target, tls: bool) -> Connection:
        idle = self._idle.setdefault(key, [])
        while idle:
            connection = idle.pop()  # the last one back: the likeliest still open
            if connection.alive:
                return connection
            self._closed(connection)
        connection = await Connection.open(
            target.address or target.host, target.port, _tls() if tls else None, target.host
        )
        self._open.add(connection)
        return connection

    def _closed(self, connection: Connection) -> None:
        connection.close()
        self._open.discard(connection)

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
        url = urlsplit(target.url)
        body = delivery["body"].encode()
        head = _head(
            url.path or "/",
            url.query,
            url.netloc,
            len(body),
            headers("msg_" + delivery["id"].hex, datetime.now(UTC), delivery["body"], keys),
        )
        key = (url.scheme, target.host, target.port, target.address)
        timeout = self.config.timeout
        try:
            async with asyncio.timeout(timeout):
                status, excerpt = await self._exchange(
                    key, target, url.scheme == "https", head, body
                )
        except TimeoutError:
            return Outcome(None, elapsed(), None, f"No answer within {timeout:g} s.")
        except _FAILURES as e:
            return Outcome(None, elapsed(), None, f"{type(e).__name__}: {e}"[:500])
        text = excerpt.decode("utf-8", errors="replace")
        return Outcome(status, elapsed(), text, None)

    async def _exchange(
        self, key: tuple, target: safety.Target, tls: bool, head: bytes, body: bytes
    ) -> tuple[int, bytes]:
        """Post on a kept connection of `key`'s (or a new one); a kept one that the receiver
        closed while idle, unseen yet, is given up and the post made once more on a new one
        (at least once: the receiver had not answered it)."""
        while True:
            connection = await self._connection(key, target, tls)
            kept = connection.used
            try:
                answer = await connection.post(head, body)
            except (ConnectionError, asyncio.IncompleteReadError) as e:
                self._closed(connection)
                if kept and not getattr(e, "partial", b""):
                    continue
                raise
            except BaseException:
                self._closed(connection)  # mid-request (a timeout too): not reusable
                raise
            if connection.reusable:
                self._idle[key].append(connection)
            else:
                self._closed(connection)
            return answer


def _head(path: str, query: str, netloc: str, length: int, fields: dict[str, str]) -> bytes:
    """The request line and headers of a delivery's POST (the URL was checked: no spaces or
    control characters; the signature headers are base64 and digits)."""
    target = f"{path}?{query}" if query else path
    if not netloc.isascii():  # an internationalized host name goes as IDNA (punycode)
        netloc = netloc.encode("idna").decode()
    lines = [f"POST {target} HTTP/1.1", f"Host: {netloc}", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in fields.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
